//! Downloads that are plain GETs, so a link is enough: the delivery log as CSV for the
//! signed-in dashboard, and a booking's `.ics` for the guest holding its manage link.
use app::model::webhook::DeliveryFilter;
use app::ports::{NotificationsPort, WebhooksPort};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};

use crate::Platform;
use crate::services::auth;

/// `/webhooks/deliveries.csv`: the delivery log with the page's filters (10,000 rows at most).
pub async fn deliveries_csv(
    State(p): State<Platform>,
    Query(filter): Query<DeliveryFilter>,
    parts: Parts,
) -> Response {
    let user = match auth::session_user(&p.db, &parts).await {
        Ok(Some(u)) if u.role.can_manage() => u,
        Ok(Some(_)) => {
            return (
                StatusCode::FORBIDDEN,
                "Only owners and admins can export deliveries.",
            )
                .into_response();
        }
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let svc = crate::webhooks_service(&p);
    match svc.export_csv(&user, &filter).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"deliveries.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        )
            .into_response(),
    }
}

/// `/manage/{token}/booking.ics`: the guest's booking as an iCalendar file.
pub async fn booking_ics(
    State(p): State<Platform>,
    axum::extract::Path(token): axum::extract::Path<String>,
    parts: Parts,
) -> Response {
    match crate::portal_service(&p).ics(&parts, &token).await {
        Ok(ics) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"booking.ics\"",
                ),
            ],
            ics,
        )
            .into_response(),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND),
            e.to_string(),
        )
            .into_response(),
    }
}

/// `/notifications/log.csv` and `/notifications/stats.csv`.
pub async fn notifications_csv(
    State(p): State<Platform>,
    axum::extract::Path(file): axum::extract::Path<String>,
    parts: Parts,
) -> Response {
    let user = match auth::session_user(&p.db, &parts).await {
        Ok(Some(u)) if u.role.can_manage() => u,
        Ok(Some(_)) => {
            return (
                StatusCode::FORBIDDEN,
                "Only owners and admins can export notifications.",
            )
                .into_response();
        }
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let svc = crate::notifications_service(&p);
    let (csv, name) = match file.as_str() {
        "log.csv" => (svc.export_log_csv(&user).await, "notifications.csv"),
        "stats.csv" => (svc.export_stats_csv(&user).await, "notification-stats.csv"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match csv {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        )
            .into_response(),
    }
}
