//! API-key authentication and the per-key rate limit, as one middleware in front of
//! every `/api/v1` route but the OpenAPI document.
use std::num::NonZeroU32;
use std::sync::Arc;

use app::model::api_scope::ApiScope;
use app::model::auth::CurrentUser;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiState;
use super::problem::Problem;
use crate::db::entities::{api_key, organization};
use crate::platform::internal;
use crate::services::api_keys;

/// Who is calling: the key, its organization, and the identity services act as.
#[derive(Clone)]
pub struct Caller {
    pub key: api_key::Model,
    pub org: organization::Model,
    pub user: CurrentUser,
}

pub type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

/// `per_second` sustained, with bursts of twice that.
pub fn limiter(per_second: u32) -> Limiter {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(rate);
    Arc::new(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

fn unauthenticated(detail: &str) -> Response {
    let mut res = Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail).into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"hitch\""),
    );
    res
}

pub async fn require_key(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(String::from);
    let Some(presented) = presented else {
        return unauthenticated(
            "Send an organization API key as `Authorization: Bearer hk_live_...` (create one with `hitch create-api-key` or in Settings).",
        );
    };
    let db = &state.platform.db;
    let (key, org) = match api_keys::authenticate(db, &presented).await {
        Ok(Some(found)) => found,
        Ok(None) => return unauthenticated("This API key is not valid, or it was revoked."),
        Err(e) => return Problem::from(internal(e)).into_response(),
    };
    if let Err(not_until) = state.limiter.check_key(&key.id) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Too many requests for this API key; retry in {} ms.",
                wait.as_millis().max(1)
            ),
        );
        p.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u32);
        return p.into_response();
    }
    {
        let (db, key) = (db.clone(), key.clone());
        tokio::spawn(async move {
            if let Err(e) = api_keys::touch(&db, &key, chrono::Utc::now()).await {
                tracing::debug!(error = %e, "could not record API key use");
            }
        });
    }
    let scope = ApiScope::parse(&key.scope).unwrap_or(ApiScope::ReadOnly);
    let (method, path) = (req.method().as_str(), req.uri().path());
    if !scope.allows(method, path) {
        let needed = ApiScope::needed_for(method, path);
        let mut p = Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "This API key is {}: {method} {path} needs a key that is {}.",
                scope.label().to_lowercase(),
                needed.label().to_lowercase()
            ),
        );
        p.required_scope = Some(needed.as_str());
        return p.into_response();
    }
    let user = api_keys::as_user(&key, &org);
    req.extensions_mut().insert(Caller { key, org, user });
    next.run(req).await
}
