//! The `webhook.deliver` job: sends one delivery, logs the attempt, and decides what
//! comes next (done, retry at the scheduled time, give up, disable the endpoint).
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Func},
};
use serde_json::{Map, Value};
use url::Url;

use super::policy::{self, Verdict};
use super::{MAX_LOGGED_BODY, fanout, signing, status};
use crate::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::jobs::{Handler, JobContext, JobError, Reason};
use crate::platform::outbound::{OutboundPolicy, Refusal};
use crate::platform::{Change, Hub, ids, now_ms, shared_limits};
use crate::vault::Vault;
use crate::vault::mask::mask;

pub struct Deliver {
    vault: Vault,
    policy: OutboundPolicy,
    client: reqwest::Client,
    limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

/// What one attempt produced, as logged.
#[derive(Debug, Default)]
pub struct Attempt {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub error_class: Option<&'static str>,
    pub error: Option<String>,
    pub duration: Duration,
}

impl Deliver {
    pub fn new(vault: Vault, policy: OutboundPolicy, timeout: Duration) -> Deliver {
        Deliver {
            client: policy.client(timeout),
            vault,
            policy,
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// How long to hold off for the endpoint's own rate limit: shared by every process
    /// on PostgreSQL, this process's own on SQLite.
    async fn rate_wait(
        &self,
        db: &DatabaseConnection,
        ep: &webhook_endpoint::Model,
    ) -> Option<Duration> {
        let rate = NonZeroU32::new(u32::try_from(ep.rate_per_second?).ok()?)?;
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let key = format!("webhook:{}", ep.id);
            return shared_limits::take_slot(db, &key, rate.get())
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "shared send slots unavailable");
                    None
                });
        }
        let limiter = {
            let mut m = self.limiters.lock().ok()?;
            let entry = m.entry(ep.id.clone()).or_insert_with(|| {
                (
                    rate.get(),
                    Arc::new(RateLimiter::direct(Quota::per_second(rate))),
                )
            });
            if entry.0 != rate.get() {
                *entry = (
                    rate.get(),
                    Arc::new(RateLimiter::direct(Quota::per_second(rate))),
                );
            }
            entry.1.clone()
        };
        limiter.check().err().map(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }

    /// The keys that sign now: the current secret, and the previous one during a rotation.
    async fn keys(
        &self,
        db: &DatabaseConnection,
        ep: &webhook_endpoint::Model,
        now: i64,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut versions = vec![ep.secret_version];
        if ep.previous_secret_until.is_some_and(|until| until > now) {
            versions.push(ep.secret_version - 1);
        }
        let mut keys = Vec::new();
        for v in versions {
            let secret = self
                .vault
                .get(db, &ep.organization_id, &super::secret_name(&ep.id, v))
                .await
                .map_err(|e| format!("signing secret unreadable: {e}"))?
                .ok_or_else(|| format!("signing secret v{v} is missing"))?;
            keys.push(signing::key_bytes(secret.expose())?);
        }
        Ok(keys)
    }

    async fn custom_headers(
        &self,
        db: &DatabaseConnection,
        ep: &webhook_endpoint::Model,
    ) -> Result<Vec<(String, String)>, String> {
        let Some(s) = self
            .vault
            .get(db, &ep.organization_id, &super::headers_name(&ep.id))
            .await
            .map_err(|e| format!("custom headers unreadable: {e}"))?
        else {
            return Ok(vec![]);
        };
        let map: Map<String, Value> = serde_json::from_str(s.expose()).unwrap_or_default();
        Ok(map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect())
    }

    async fn send(&self, url: Url, headers: &[(String, String)], body: String) -> Attempt {
        let t0 = Instant::now();
        let mut req = self.client.post(url).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let mut out = Attempt::default();
        match req.send().await {
            Ok(mut resp) => {
                out.status = Some(resp.status().as_u16());
                out.retry_after = resp
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let hdrs: Map<String, Value> = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            Value::String(String::from_utf8_lossy(v.as_bytes()).into()),
                        )
                    })
                    .collect();
                out.response_headers = Some(Value::Object(hdrs).to_string());
                let mut buf = Vec::new();
                // Read at most the logged size; a huge answer is not our problem to store.
                loop {
                    match resp.chunk().await {
                        Ok(Some(c)) => {
                            buf.extend_from_slice(&c);
                            if buf.len() >= MAX_LOGGED_BODY {
                                buf.truncate(MAX_LOGGED_BODY);
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            out.error = Some(format!("reading the response: {e}"));
                            break;
                        }
                    }
                }
                out.response_body = Some(String::from_utf8_lossy(&buf).into_owned());
                if !(200..300).contains(&out.status.unwrap_or(0)) {
                    out.error_class = Some("http_status");
                }
            }
            Err(e) => {
                let (class, msg) = classify(&e);
                out.error_class = Some(class);
                out.error = Some(msg);
            }
        }
        out.duration = t0.elapsed();
        out
    }
}

/// Names the failure the way the delivery log filters it.
fn classify(e: &reqwest::Error) -> (&'static str, String) {
    let mut chain = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut blocked = None;
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            blocked = Some(r.to_string());
        }
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    if let Some(msg) = blocked {
        return ("blocked", msg);
    }
    // The chain names the URL, which may itself be a credential.
    let chain = crate::platform::outbound::redact_urls(&chain);
    let lower = chain.to_lowercase();
    let class = if e.is_timeout() {
        "timeout"
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("has no address")
    {
        "dns"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        "tls"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    (class, chain.trim_start_matches(": ").to_string())
}

#[async_trait]
impl Handler for Deliver {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let id = job.payload["delivery_id"].as_str().ok_or_else(|| {
            JobError::Fatal(Reason::Invalid, "payload needs `delivery_id`".into())
        })?;
        let db = &job.db;
        let retry = JobError::from;
        let Some(d) = webhook_delivery::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(retry)?
        else {
            return Ok(()); // deleted with its endpoint
        };
        if d.status != status::PENDING {
            return Ok(());
        }
        let Some(ep) = webhook_endpoint::Entity::find_by_id(&d.endpoint_id)
            .one(db)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        let now = now_ms();
        if !ep.enabled {
            finish_without_attempt(db, &d, "the endpoint is disabled")
                .await
                .map_err(retry)?;
            announce(&job.hub, &d);
            return Ok(());
        }
        if let Some(until) = ep.paused_until.filter(|u| *u > now) {
            return Err(JobError::RetryAfter(
                Duration::from_millis((until - now) as u64),
                Reason::Throttled,
                "endpoint paused after consecutive failures (circuit open)".into(),
            ));
        }
        if let Some(wait) = self.rate_wait(db, &ep).await {
            return Err(JobError::RetryAfter(
                wait.max(Duration::from_millis(5)),
                Reason::Throttled,
                "endpoint rate limit".into(),
            ));
        }
        let url = Url::parse(&ep.url)
            .map_err(|e| JobError::Fatal(Reason::Invalid, format!("bad endpoint URL: {e}")))?;
        let keys = self
            .keys(db, &ep, now)
            .await
            .map_err(|e| JobError::Retry(Reason::Invalid, e))?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut headers = self
            .custom_headers(db, &ep)
            .await
            .map_err(|e| JobError::Retry(Reason::Invalid, e))?;
        headers.retain(|(k, _)| {
            !k.to_ascii_lowercase().starts_with("webhook-")
                && !k.eq_ignore_ascii_case("content-type")
        });
        let mut logged: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), mask(v).into()))
            .collect();
        let signed = [
            ("content-type".to_string(), "application/json".to_string()),
            ("webhook-id".to_string(), d.event_id.clone()),
            ("webhook-timestamp".to_string(), timestamp.to_string()),
            (
                "webhook-signature".to_string(),
                signing::signature_header(&keys, &d.event_id, timestamp, d.body.as_bytes()),
            ),
        ];
        for (k, v) in &signed {
            logged.insert(k.clone(), v.clone().into());
        }
        headers.extend(signed);

        let started = now_ms();
        let attempt = match self.policy.check_url(&url) {
            Err(refusal) => Attempt {
                error_class: Some("blocked"),
                error: Some(refusal.to_string()),
                ..Attempt::default()
            },
            Ok(()) => self.send(url, &headers, d.body.clone()).await,
        };
        let verdict = match (attempt.status, attempt.error_class) {
            (Some(code), _) => policy::judge(code, attempt.retry_after.as_deref()),
            (None, _) => Verdict::Failed { retry_after: None },
        };
        let next = record(
            db,
            &d,
            &ep,
            started,
            Value::Object(logged).to_string(),
            &attempt,
            &verdict,
        )
        .await
        .map_err(retry)?;
        announce(&job.hub, &d);
        match next {
            Some(delay) => Err(JobError::RetryAfter(
                delay,
                match (attempt.status, attempt.error_class) {
                    (Some(_), _) => Reason::Rejected,
                    (None, Some("blocked")) => Reason::Invalid,
                    (None, _) => Reason::Unreachable,
                },
                attempt
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", attempt.status.unwrap_or(0))),
            )),
            None => Ok(()),
        }
    }
}

fn announce(hub: &Hub, d: &webhook_delivery::Model) {
    hub.change(Change {
        org_id: d.organization_id.clone(),
        entity_kind: "webhook_delivery".into(),
        entity_id: d.id.clone(),
        event_type: "webhook.delivery_changed".into(),
    });
}

async fn finish_without_attempt(
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    why: &str,
) -> Result<(), DbErr> {
    let now = now_ms();
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(status::FAILED),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(&d.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Logs the attempt and moves the delivery and the endpoint's health on, in one
/// transaction. Returns the delay before the next attempt, if there is one.
async fn record(
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    ep: &webhook_endpoint::Model,
    started: i64,
    request_headers: String,
    a: &Attempt,
    verdict: &Verdict,
) -> Result<Option<Duration>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let now = now_ms();
    let n = d.attempts + 1;
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: Set(ids::new("wha")),
        delivery_id: Set(d.id.clone()),
        endpoint_id: Set(ep.id.clone()),
        attempt: Set(n),
        started_at: Set(started),
        duration_ms: Set(a.duration.as_millis().min(i32::MAX as u128) as i32),
        request_headers: Set(request_headers),
        status_code: Set(a.status.map(i32::from)),
        response_headers: Set(a.response_headers.clone()),
        response_body: Set(a.response_body.clone()),
        error_class: Set(a.error_class.map(str::to_string)),
        error: Set(a.error.clone()),
    })
    .exec_without_returning(&txn)
    .await?;

    let (state, next) = match verdict {
        Verdict::Delivered => (status::SUCCEEDED, None),
        Verdict::Gone => (status::FAILED, None),
        Verdict::Failed { .. } if a.error_class == Some("blocked") => (status::FAILED, None),
        Verdict::Failed { retry_after } => match policy::next_delay(n, &mut rand::rng()) {
            Some(delay) => (
                status::PENDING,
                Some(delay.max(retry_after.unwrap_or_default())),
            ),
            None => (status::FAILED, None),
        },
    };
    let error = match (a.status, &a.error) {
        (_, Some(e)) => Some(e.clone()),
        (Some(code), None) if state != status::SUCCEEDED => Some(format!("HTTP {code}")),
        _ => None,
    };
    let next_at = next.map(|d| now + d.as_millis() as i64);
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(state))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(n))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(a.status.map(i32::from)),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(next_at),
        )
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::value(next.is_none().then_some(now)),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(&d.id))
        .exec(&txn)
        .await?;

    let ep_id = webhook_endpoint::Column::Id.eq(&ep.id);
    match verdict {
        Verdict::Delivered => {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::value(0),
                )
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    webhook_endpoint::Column::PausedUntil,
                    Expr::value(Option::<i64>::None),
                )
                .filter(ep_id)
                .exec(&txn)
                .await?;
        }
        Verdict::Gone if ep.source == super::endpoints::SOURCE_ZAPIER => {
            // A REST-hook target that is gone unsubscribes itself (Zapier's contract).
            webhook_endpoint::Entity::delete_many()
                .filter(ep_id)
                .exec(&txn)
                .await?;
        }
        Verdict::Gone => {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    first_failure(d.created_at),
                )
                .filter(ep_id)
                .exec(&txn)
                .await?;
            disable(
                &txn,
                &ep.id,
                now,
                "The receiver answered 410 Gone, which asks never to be called again.",
            )
            .await?;
        }
        Verdict::Failed { .. } => {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::col(webhook_endpoint::Column::ConsecutiveFailures).add(1),
                )
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    first_failure(d.created_at),
                )
                .filter(ep_id.clone())
                .exec(&txn)
                .await?;
            if let Some(fresh) = webhook_endpoint::Entity::find_by_id(&ep.id)
                .one(&txn)
                .await?
            {
                let broken_for = fresh.failing_since.map_or(0, |since| now - since);
                if broken_for >= policy::DISABLE_AFTER.as_millis() as i64 {
                    let days = policy::DISABLE_AFTER.as_secs() / 86400;
                    disable(
                        &txn,
                        &ep.id,
                        now,
                        &format!("Every delivery failed for {days} days."),
                    )
                    .await?;
                } else if let Some(pause) = policy::breaker_pause(fresh.consecutive_failures) {
                    webhook_endpoint::Entity::update_many()
                        .col_expr(
                            webhook_endpoint::Column::PausedUntil,
                            Expr::value(now + pause.as_millis() as i64),
                        )
                        .filter(ep_id)
                        .exec(&txn)
                        .await?;
                }
            }
        }
    }
    txn.commit().await?;
    if matches!(verdict, Verdict::Gone) || next.is_none() {
        fanout::forget(&ep.organization_id);
    }
    Ok(next)
}

/// Keeps the first failure's time: "since it broke" starts at the creation of the first
/// failed delivery, so a replay from there includes it.
fn first_failure(created_at: i64) -> Expr {
    Func::coalesce([
        Expr::col(webhook_endpoint::Column::FailingSince),
        Expr::value(created_at),
    ])
    .into()
}

async fn disable(
    txn: &impl ConnectionTrait,
    id: &str,
    now: i64,
    reason: &str,
) -> Result<(), DbErr> {
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(now))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value(reason),
        )
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(txn)
        .await?;
    tracing::warn!(endpoint = id, reason, "webhook endpoint disabled");
    Ok(())
}
