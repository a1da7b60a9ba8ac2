//! Refuses state-changing requests that a browser made on behalf of another site
//! (cross-site request forgery, including login CSRF: a foreign form that signs the
//! victim into the attacker's organization). `SameSite=Lax` cookies alone do not stop
//! the latter.
//!
//! The rule is the one Go's `http.CrossOriginProtection` applies: safe methods pass; a
//! browser's `Sec-Fetch-Site` must say `same-origin` (or `none`, typed by the user);
//! without it, an `Origin` must name this host; a request with neither is not from a
//! modern browser and passes (API clients, curl). Same-origin forms keep working with
//! and without JavaScript.
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Url;

/// The origins that count as this site besides the request's own host: the public URL
/// (behind a proxy that rewrites `Host`).
#[derive(Clone, Debug, Default)]
pub struct SiteOrigin(pub Option<String>);

impl SiteOrigin {
    /// `scheme://host[:port]` of the public URL.
    pub fn from_public_url(public_url: &str) -> SiteOrigin {
        SiteOrigin(
            Url::parse(public_url)
                .ok()
                .map(|u| u.origin().ascii_serialization()),
        )
    }
}

/// Whether the request may go on.
pub fn allowed(method: &Method, headers: &HeaderMap, site: &SiteOrigin) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let trusted = origin.is_some_and(|o| site.0.as_deref() == Some(o));
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin" | "none") => return true,
        Some(_) => return trusted,
        None => {}
    }
    let Some(origin) = origin else {
        return true;
    };
    if trusted {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (Url::parse(origin), host) {
        (Ok(o), Some(host)) => {
            let with_port = match o.port() {
                Some(p) => format!("{}:{p}", o.host_str().unwrap_or_default()),
                None => o.host_str().unwrap_or_default().to_string(),
            };
            with_port.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

pub async fn refuse_cross_site(
    State(site): State<SiteOrigin>,
    req: Request,
    next: Next,
) -> Response {
    if allowed(req.method(), req.headers(), &site) {
        return next.run(req).await;
    }
    tracing::info!(path = %req.uri().path(), "cross-site request refused");
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":"cross_site_request","message":"This request came from another website and was refused. Open Hitch directly and try again."}"#,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_rule() {
        let site = SiteOrigin::from_public_url("https://book.example.com/");
        let post = Method::POST;
        let ok = |h: &[(&'static str, &'static str)]| allowed(&post, &headers(h), &site);
        // Browsers that send Sec-Fetch-Site.
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example")
        ]));
        assert!(!ok(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://a.example.com")
        ]));
        assert!(ok(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://book.example.com")
        ]));
        // Older browsers: Origin against Host.
        assert!(ok(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000")
        ]));
        assert!(!ok(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000")
        ]));
        assert!(!ok(&[("origin", "null"), ("host", "127.0.0.1:3000")]));
        // Not a browser.
        assert!(ok(&[]));
        // Reading is never refused.
        assert!(allowed(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")]),
            &site
        ));
    }
}
