//! Security headers on every answer: no MIME sniffing, no framing by other sites
//! (clickjacking), and no `Referer` to other sites, since a guest portal address
//! carries its token in the path. A script policy (`script-src`) is not set yet: the
//! pages' hydration scripts are inline and would need nonces.
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
    ),
];

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in HEADERS {
        h.entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    res
}
