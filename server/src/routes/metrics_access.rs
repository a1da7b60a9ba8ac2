//! Who may read `/metrics`: with `HITCH_METRICS_TOKEN` set, whoever sends it as a
//! bearer token; without one, only a scraper on this machine connecting directly (a
//! request that came through a reverse proxy carries `X-Forwarded-For` and is refused,
//! so a public proxy in front of Hitch does not publish the figures).
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

pub async fn guard(State(token): State<Option<Arc<String>>>, req: Request, next: Next) -> Response {
    let allowed = match &token {
        Some(expected) => req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes()))),
        None => {
            let local = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            local && !req.headers().contains_key("x-forwarded-for")
        }
    };
    if allowed {
        return next.run(req).await;
    }
    let hint = if token.is_some() {
        "Send the metrics token as `Authorization: Bearer <HITCH_METRICS_TOKEN>`.\n"
    } else {
        "Metrics are served to this machine only; set HITCH_METRICS_TOKEN to scrape from elsewhere.\n"
    };
    let mut res = (StatusCode::UNAUTHORIZED, hint).into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"metrics\""),
    );
    res
}
