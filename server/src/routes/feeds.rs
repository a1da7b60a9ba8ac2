//! `GET /feeds/{token}.ics`: a calendar feed for calendar apps. No session, no cookie:
//! the token is the credential. Anything wrong answers a bare 404.
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};

use crate::platform::client_ip::ClientIp;
use crate::services::calendars::feed_serve::{Answer, FeedServer};

const CACHE: &str = "private, no-cache";

pub async fn feed(
    State(server): State<FeedServer>,
    Path(file): Path<String>,
    parts: Parts,
) -> Response {
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found();
    };
    let inm = parts
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    match server.fetch(token, inm, ClientIp::of(&parts)).await {
        Ok(Answer::NotFound) => not_found(),
        Ok(Answer::Limited(wait)) => {
            let mut h = HeaderMap::new();
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            (StatusCode::TOO_MANY_REQUESTS, h, "Too many requests.\n").into_response()
        }
        Ok(Answer::NotModified { etag }) => {
            let mut h = HeaderMap::new();
            put(&mut h, header::ETAG, &etag);
            put(&mut h, header::CACHE_CONTROL, CACHE);
            (StatusCode::NOT_MODIFIED, h).into_response()
        }
        Ok(Answer::Feed { etag, body }) => {
            let mut h = HeaderMap::new();
            put(&mut h, header::CONTENT_TYPE, "text/calendar; charset=utf-8");
            put(&mut h, header::ETAG, &etag);
            put(&mut h, header::CACHE_CONTROL, CACHE);
            put(
                &mut h,
                header::CONTENT_DISPOSITION,
                "inline; filename=\"hitch.ics\"",
            );
            (StatusCode::OK, h, Body::from(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "calendar feed failed");
            (StatusCode::SERVICE_UNAVAILABLE, "Try again shortly.\n").into_response()
        }
    }
}

fn put(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.\n").into_response()
}
