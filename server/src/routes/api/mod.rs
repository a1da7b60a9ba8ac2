//! The REST API at `/api/v1`: organization API keys, JSON in and out, problem+json
//! errors, cursor pagination, idempotent POSTs, a per-key rate limit, and an OpenAPI
//! 3.1 document generated from these handlers (`/api/v1/openapi.json`).
pub mod auth;
pub mod bookings;
pub mod calendar_feeds;
pub mod clients;
pub mod doc_errors;
pub mod events;
pub mod hooks;
pub mod idempotency;
pub mod invoices;
pub mod notification_templates;
pub mod page;
pub mod problem;
pub mod resources;
pub mod webhook_deliveries;
pub mod webhooks;

use axum::{
    Json, Router, middleware,
    routing::{any, get},
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Platform;

#[derive(Clone)]
pub struct ApiState {
    pub platform: Platform,
    pub limiter: auth::Limiter,
    pub max_body: usize,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hitch API",
        description = "Bookings, clients, invoices, resources, domain events, webhook endpoints, notification templates and calendar feeds of one organization. Authenticate with `Authorization: Bearer hk_live_...`. Errors are `application/problem+json` with a stable `code`. POSTs accept `Idempotency-Key`.",
        version = "1"
    ),
    modifiers(&KeyAuth),
    security(("api_key" = []))
)]
struct ApiDoc;

struct KeyAuth;

impl Modify for KeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "An organization API key, `hk_live_...`. Each key has a scope: `read_write` (everything), `read_only` (GET only), or `webhooks` (webhook endpoints and deliveries, REST hooks, events and event types: for Zapier and other automation tools). A call outside the key's scope answers 403 `forbidden` with `required_scope`.".into(),
        );
        components.add_security_scheme("api_key", SecurityScheme::Http(http));
    }
}

/// The documented routes, before auth and the document route are added.
fn documented(state: ApiState) -> (Router, utoipa::openapi::OpenApi) {
    let documented = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(bookings::list, bookings::create))
        .routes(routes!(bookings::get, bookings::update))
        .routes(routes!(bookings::cancel))
        .routes(routes!(
            bookings::guest_link,
            bookings::issue_guest_link,
            bookings::revoke_guest_link
        ))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::update))
        .routes(routes!(invoices::list, invoices::create))
        .routes(routes!(invoices::get))
        .routes(routes!(invoices::set_status))
        .routes(routes!(resources::list, resources::create))
        .routes(routes!(
            resources::get,
            resources::update,
            resources::delete
        ))
        .routes(routes!(events::list))
        .routes(routes!(events::get))
        .routes(routes!(events::types))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::send_test))
        .routes(routes!(webhooks::enable))
        .routes(routes!(webhooks::replay))
        .routes(routes!(webhooks::stats))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhook_deliveries::delivery))
        .routes(routes!(webhooks::retry))
        .routes(routes!(notification_templates::list))
        .routes(routes!(
            notification_templates::get,
            notification_templates::put,
            notification_templates::reset
        ))
        .routes(routes!(calendar_feeds::list, calendar_feeds::create))
        .routes(routes!(calendar_feeds::revoke))
        .routes(routes!(calendar_feeds::rotate))
        .routes(routes!(hooks::subscribe))
        .routes(routes!(hooks::unsubscribe))
        .routes(routes!(hooks::samples))
        .with_state(state)
        .split_for_parts();
    let (router, mut doc) = documented;
    doc_errors::document(&mut doc);
    (router, doc)
}

/// The OpenAPI document exactly as served.
pub fn openapi(platform: &Platform) -> utoipa::openapi::OpenApi {
    documented(ApiState {
        platform: platform.clone(),
        limiter: auth::limiter(1),
        max_body: 1024,
    })
    .1
}

pub fn router(platform: &Platform, rate_per_second: u32, max_body: usize) -> Router {
    let state = ApiState {
        platform: platform.clone(),
        limiter: auth::limiter(rate_per_second),
        max_body,
    };
    let (api, doc) = documented(state.clone());
    let api = api
        .route("/api/v1/{*rest}", any(not_found))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::replay_or_record,
        ))
        .layer(middleware::from_fn_with_state(state, auth::require_key));
    let doc = std::sync::Arc::new(doc);
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .merge(api)
}

async fn not_found() -> problem::Problem {
    problem::Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "No such API route; see /api/v1/openapi.json.",
    )
}
