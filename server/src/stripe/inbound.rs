//! `POST /webhooks/stripe/{org_slug}`: Stripe's events arrive here. The handler only
//! verifies, stores and enqueues (Stripe wants a 2xx within seconds, and a slow answer
//! makes it retry): [`super::intake`] stores the event and [`super::process`] does the
//! work. An event Stripe sends twice is stored once and processed once.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::intake::{Intake, Received, Stored};
use super::signature::{self, DEFAULT_TOLERANCE_SECS};
use super::{Stripe, WEBHOOK_SECRET};
use crate::db::entities::organization;

/// What the endpoint needs per organization, cached briefly: at thousands of events a
/// second, reading and decrypting the secret each time would dominate.
#[derive(Clone)]
struct Receiver {
    org_id: String,
    secret: Arc<Zeroizing<String>>,
}

const CACHE_TTL: Duration = Duration::from_secs(30);
/// Slugs remembered at most. Anyone can post to any slug, so the map is keyed by what
/// strangers send: past this, expired entries go, then the unknown slugs.
const CACHE_MAX: usize = 4096;

/// When it was read, and the receiver (`None`: nobody by that slug receives events).
type Cached = (Instant, Option<Receiver>);

#[derive(Clone, Default)]
pub struct SecretCache(Arc<Mutex<HashMap<String, Cached>>>);

impl SecretCache {
    fn get(&self, slug: &str) -> Option<Option<Receiver>> {
        let map = self.0.lock().ok()?;
        let (at, r) = map.get(slug)?;
        (at.elapsed() < CACHE_TTL).then(|| r.clone())
    }

    fn put(&self, slug: &str, r: Option<Receiver>) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_MAX && !map.contains_key(slug) {
                map.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                if map.len() >= CACHE_MAX {
                    map.retain(|_, (_, r)| r.is_some());
                }
                if map.len() >= CACHE_MAX {
                    map.clear();
                }
            }
            map.insert(slug.into(), (Instant::now(), r));
        }
    }

    /// How many slugs are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Called when an organization's Stripe settings change.
    pub fn forget_all(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

#[derive(Clone)]
pub struct InboundState {
    pub stripe: Stripe,
    pub cache: SecretCache,
    pub intake: Intake,
}

/// The envelope fields we index; the whole body is stored as sent.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    #[serde(default)]
    livemode: bool,
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn receiver(st: &InboundState, slug: &str) -> Result<Option<Receiver>, sea_orm::DbErr> {
    if let Some(hit) = st.cache.get(slug) {
        return Ok(hit);
    }
    let db = &st.stripe.db;
    let Some(org) = organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug))
        .one(db)
        .await?
    else {
        st.cache.put(slug, None);
        return Ok(None);
    };
    let secret = st
        .stripe
        .vault
        .get(db, &org.id, WEBHOOK_SECRET)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    let r = secret.map(|s| Receiver {
        org_id: org.id.clone(),
        secret: Arc::new(Zeroizing::new(s.expose().to_string())),
    });
    st.cache.put(slug, r.clone());
    Ok(r)
}

pub async fn receive(
    State(st): State<InboundState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Not a slug Hitch makes: answered without a lookup and without a cache entry.
    let plausible =
        slug.len() <= 64 && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let found = if plausible {
        receiver(&st, &slug).await
    } else {
        Ok(None)
    };
    let r = match found {
        Ok(Some(r)) => r,
        // The same answer for an unknown organization and one without Stripe set up.
        Ok(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                "not_configured",
                "No organization here receives Stripe events.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot load the Stripe webhook secret");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later.",
            );
        }
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = signature::verify(header, &body, &r.secret, now, DEFAULT_TOLERANCE_SECS) {
        tracing::info!(org = %r.org_id, error = %e, "Stripe event refused");
        return refuse(StatusCode::BAD_REQUEST, "bad_signature", &e.to_string());
    }
    let Ok(env) = serde_json::from_slice::<Envelope>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_payload",
            "The body is not a Stripe event (id, type and created are required).",
        );
    };
    let event = Received {
        org_id: r.org_id,
        stripe_id: env.id,
        event_type: env.event_type,
        created: env.created,
        livemode: env.livemode,
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    match st.intake.store(event).await {
        Ok(stored) => (
            StatusCode::OK,
            Json(json!({ "received": true, "duplicate": stored == Stored::Duplicate })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Stripe event not stored; Stripe will send it again");
            // Stripe retries non-2xx answers: nothing is lost.
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_cannot_grow_the_slug_cache_without_bound() {
        let cache = SecretCache::default();
        let known = Receiver {
            org_id: "org_1".into(),
            secret: Arc::new(Zeroizing::new("whsec_x".into())),
        };
        cache.put("demo-bistro", Some(known));
        for i in 0..100_000 {
            cache.put(&format!("random-{i}"), None);
        }
        assert!(cache.len() <= CACHE_MAX, "{} slugs cached", cache.len());
        // Unknown slugs are still answered from memory while they are remembered.
        assert!(matches!(cache.get("random-99999"), Some(None)));
    }
}
