//! Server functions answer every error with HTTP 500. This layer reads our error's
//! `code` and sets the status it stands for (422, 409, 404, ...), so clients and logs
//! see the truth and a user mistake never looks like a server failure.
use app::error::AppError;
use axum::{body::Body, extract::Request, http::StatusCode, middleware::Next, response::Response};

const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

pub async fn fix_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut err = serde_json::from_slice::<AppError>(&bytes).ok();
    // A body cut off by the size limit surfaces as an argument error: say what it is.
    if let Some(AppError::BadRequest { detail }) = &err
        && detail.contains("length limit exceeded")
    {
        err = Some(AppError::PayloadTooLarge { limit_bytes: 0 });
    }
    match err {
        Some(err) => {
            parts.status =
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if matches!(err, AppError::Internal { .. }) {
                tracing::error!(error = %err, "server function failed");
            }
            let body = serde_json::to_vec(&err).unwrap_or_else(|_| bytes.to_vec());
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(body))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}
