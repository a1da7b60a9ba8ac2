//! Security headers on every answer: no MIME sniffing, no framing by other sites
//! (clickjacking), no `Referer` to other sites (a guest portal address carries its
//! token in the path), and a script policy: only scripts carrying this answer's nonce
//! run (the pages' hydration scripts), plus what they load (`strict-dynamic`) and the
//! WASM they compile. An injected `<script>` or `onclick=` does not run.
//!
//! Styles allow inline `style=` attributes: the calendar view positions its blocks
//! with them, and a style cannot run code.
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use rand::RngCore as _;

const HEADERS: [(&str, &str); 3] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// The nonce of one answer's inline scripts, handed to the page renderer through the
/// request's extensions.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    fn new() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(bytes)
                .into(),
        )
    }

    fn policy(&self) -> String {
        format!(
            "default-src 'self'; script-src 'nonce-{}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; \
             object-src 'none'",
            self.0
        )
    }
}

pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let nonce = CspNonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in HEADERS {
        h.entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&nonce.policy()) {
        h.entry(http::header::CONTENT_SECURITY_POLICY)
            .or_insert(value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_gets_its_own_nonce_in_a_script_policy() {
        let (a, b) = (CspNonce::new(), CspNonce::new());
        assert_ne!(a.0, b.0);
        assert_eq!(a.0.len(), 22, "128 bits, base64 without padding");
        let policy = a.policy();
        assert!(policy.contains(&format!("script-src 'nonce-{}'", a.0)));
        assert!(!policy.contains("'unsafe-inline' 'unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
    }
}
