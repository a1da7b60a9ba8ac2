//! Structured logs with `tracing`: pretty for people, JSON for log shippers.
use axum::http::Request;
use tracing::Span;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// One span per request with its id, method and path (never the query: it may hold
/// tokens; nor a guest link's token, which is in its path).
pub fn span_for<B>(req: &Request<B>) -> Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = loggable_path(req.uri().path());
    tracing::info_span!("request", id = %id, method = %req.method(), path = %path)
}

/// `/manage/<token>/booking.ics` → `/manage/…/booking.ics`.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/manage/") {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            format!("/manage/…{tail}").into()
        }
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn guest_link_tokens_stay_out_of_the_log() {
        assert_eq!(loggable_path("/manage/abcDEF123"), "/manage/…");
        assert_eq!(
            loggable_path("/manage/abcDEF123/booking.ics"),
            "/manage/…/booking.ics"
        );
        assert_eq!(loggable_path("/bookings/bk_1"), "/bookings/bk_1");
    }
}
