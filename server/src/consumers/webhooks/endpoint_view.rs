//! An endpoint as the dashboard and the API show it: masked secret and headers, health
//! in words, and how many deliveries it gets at once and why.
use app::model::webhook::{EasedOff, EndpointView};
use app::ports::AppResult;
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::secret_name;
use crate::db::entities::webhook_endpoint;
use crate::jobs;
use crate::platform::clock::{Style, local_ms};
use crate::platform::{OrInternal, now_ms};
use crate::vault::Vault;
use crate::vault::mask::mask;

pub(super) async fn view(
    db: &DatabaseConnection,
    vault: &Vault,
    ep: webhook_endpoint::Model,
    tz: Tz,
) -> AppResult<EndpointView> {
    let now = now_ms();
    let hint = vault
        .hint(
            db,
            &ep.organization_id,
            &secret_name(&ep.id, ep.secret_version),
        )
        .await
        .or_internal()?
        .unwrap_or_default();
    let header_values: serde_json::Map<String, Value> = match vault
        .get(db, &ep.organization_id, &super::headers_name(&ep.id))
        .await
        .or_internal()?
    {
        Some(s) => serde_json::from_str(s.expose()).unwrap_or_default(),
        None => serde_json::Map::new(),
    };
    let headers = header_values
        .iter()
        .map(|(k, v)| (k.clone(), mask(v.as_str().unwrap_or_default())))
        .collect();
    let pace = jobs::key_limits::get(db, &super::lane_key(&ep.id))
        .await
        .or_internal()?;
    let in_flight_limit = pace
        .as_ref()
        .map_or(super::pacing::START as i32, |p| p.max_running);
    let eased_off = pace
        .and_then(|p| p.reason)
        .filter(|(_, at)| now - at < 86_400_000)
        .map(|(reason, at)| EasedOff {
            at: local_ms(at, tz, Style::StampSeconds),
            reason,
        });
    let health = if !ep.enabled {
        "disabled"
    } else if ep.paused_until.is_some_and(|p| p > now) {
        "paused"
    } else if ep.consecutive_failures > 0 {
        "failing"
    } else {
        "healthy"
    };
    Ok(EndpointView {
        health: health.into(),
        event_types: ep
            .event_types
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
        headers,
        rate_per_second: ep.rate_per_second.map(|r| r.max(0) as u32),
        secret_hint: hint,
        previous_secret_until: ep
            .previous_secret_until
            .filter(|u| *u > now)
            .map(|u| local_ms(u, tz, Style::StampSeconds)),
        failing_since: ep
            .failing_since
            .map(|t| local_ms(t, tz, Style::StampSeconds)),
        paused_until: ep
            .paused_until
            .filter(|p| *p > now)
            .map(|t| local_ms(t, tz, Style::StampSeconds)),
        pause_reason: ep.paused_until.filter(|p| *p > now).map(|_| {
            if ep.consecutive_failures >= super::policy::BREAKER_THRESHOLD {
                format!(
                    "{} deliveries failed in a row, and a pause spares it",
                    ep.consecutive_failures
                )
            } else {
                "it asked Hitch to wait (Retry-After)".to_string()
            }
        }),
        created: local_ms(ep.created_at, tz, Style::StampSeconds),
        id: ep.id,
        url: ep.url,
        description: ep.description,
        format: ep.format,
        enabled: ep.enabled,
        source: ep.source,
        consecutive_failures: ep.consecutive_failures,
        disabled_reason: ep.disabled_reason,
        in_flight_limit,
        eased_off,
    })
}
