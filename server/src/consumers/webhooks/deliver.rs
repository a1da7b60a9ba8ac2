//! The `webhook.deliver` job: sends one delivery, logs the attempt, and decides what
//! comes next (done, retry at the scheduled time, give up, disable the endpoint).
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use url::Url;

use super::loader::Loader;
use super::outcome::{finish_without_attempt, record};
use super::pacing::{self, Answer, Pacer};
use super::policy::{self, Verdict};
use super::success_log::{Success, SuccessLog, attempt_row};
use super::{MAX_LOGGED_BODY, signing, status};
use crate::db::entities::{webhook_delivery, webhook_endpoint};
use crate::jobs::{Handler, JobContext, JobError, Reason, key_limits};
use crate::platform::outbound::{OutboundPolicy, Refusal};
use crate::platform::{Change, Hub, now_ms, shared_limits};
use crate::vault::Vault;
use crate::vault::mask::mask;

pub struct Deliver {
    vault: Vault,
    policy: OutboundPolicy,
    client: reqwest::Client,
    limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
    pacer: Pacer,
    secrets: Mutex<HashMap<String, Secrets>>,
    loader: Loader,
    successes: SuccessLog,
}

/// An endpoint's signing keys and custom headers, decrypted. Kept briefly so a busy
/// endpoint costs no vault read per delivery; the stamp names the endpoint's state they
/// were read for (any edit or rotation changes it), so a change is seen at once.
struct Secrets {
    stamp: (i64, i32, bool, String),
    read_at: Instant,
    keys: Arc<Vec<Vec<u8>>>,
    headers: Arc<Vec<(String, String)>>,
}

/// How long decrypted secrets stay in memory unused by a change.
const SECRETS_TTL: Duration = Duration::from_secs(60);
/// Endpoints whose secrets one process keeps at most.
const SECRETS_KEPT: usize = 1024;

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
            pacer: Pacer::default(),
            secrets: Mutex::new(HashMap::new()),
            loader: Loader::default(),
            successes: SuccessLog::default(),
        }
    }

    /// The keys that sign now and the custom headers, from memory when still current.
    async fn secrets(
        &self,
        db: &DatabaseConnection,
        ep: &webhook_endpoint::Model,
        now: i64,
    ) -> Result<(Arc<Vec<Vec<u8>>>, Arc<Vec<(String, String)>>), String> {
        let overlap = ep.previous_secret_until.is_some_and(|until| until > now);
        let stamp = (
            ep.updated_at,
            ep.secret_version,
            overlap,
            ep.headers.clone(),
        );
        if let Ok(kept) = self.secrets.lock()
            && let Some(s) = kept.get(&ep.id)
            && s.stamp == stamp
            && s.read_at.elapsed() < SECRETS_TTL
        {
            return Ok((s.keys.clone(), s.headers.clone()));
        }
        let keys = Arc::new(self.keys(db, ep, now).await?);
        let headers = Arc::new(self.custom_headers(db, ep).await?);
        if let Ok(mut kept) = self.secrets.lock() {
            if kept.len() >= SECRETS_KEPT {
                kept.retain(|_, s| s.read_at.elapsed() < SECRETS_TTL);
                if kept.len() >= SECRETS_KEPT {
                    kept.clear();
                }
            }
            kept.insert(
                ep.id.clone(),
                Secrets {
                    stamp,
                    read_at: Instant::now(),
                    keys: keys.clone(),
                    headers: headers.clone(),
                },
            );
        }
        Ok((keys, headers))
    }

    /// Feeds the attempt to the endpoint's pacing and stores a changed limit.
    async fn pace(&self, db: &DatabaseConnection, ep: &webhook_endpoint::Model, a: &Attempt) {
        let answer = match (a.status, a.error_class) {
            (Some(429), _) => Answer::TooMany {
                retry_after: a.retry_after.clone(),
            },
            (Some(s), _) if s >= 500 => Answer::ServerError { status: s },
            (Some(_), _) => Answer::Answered {
                ms: a.duration.as_secs_f64() * 1e3,
            },
            (None, Some("blocked")) => return,
            (None, Some("timeout")) => Answer::Timeout,
            (None, _) => Answer::Unreachable,
        };
        // An endpoint limited to n per second never needs more than n at once.
        let ceiling = ep.rate_per_second.map_or(pacing::CEILING, f64::from);
        if let Some(change) = self.pacer.observe(&ep.id, ceiling, &answer) {
            let key = super::lane_key(&ep.id);
            if let Err(e) = key_limits::set(db, &key, change.limit, change.reason.as_deref()).await
            {
                tracing::warn!(error = %e, endpoint = %ep.id, "could not store the endpoint's pace");
            }
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
        let Some((d, ep)) = self.loader.load(db, id).await.map_err(retry)? else {
            return Ok(()); // deleted with its endpoint
        };
        if d.status != status::PENDING {
            return Ok(());
        }
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
        let (keys, custom) = self
            .secrets(db, &ep, now)
            .await
            .map_err(|e| JobError::Retry(Reason::Invalid, e))?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut headers = custom.as_ref().clone();
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
                signing::signature_header(
                    keys.as_slice(),
                    &d.event_id,
                    timestamp,
                    d.body.as_bytes(),
                ),
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
        self.pace(db, &ep, &attempt).await;
        let healthy =
            ep.consecutive_failures == 0 && ep.failing_since.is_none() && ep.paused_until.is_none();
        let next = match (&verdict, attempt.status) {
            (Verdict::Delivered, Some(code)) if healthy => {
                let row = attempt_row(&d, started, Value::Object(logged).to_string(), &attempt);
                let success = Success {
                    attempt: row,
                    delivery_id: d.id.clone(),
                    status_code: i32::from(code),
                };
                self.successes.record(db, success).await.map_err(retry)?;
                None
            }
            _ => record(
                db,
                &d,
                &ep,
                started,
                Value::Object(logged).to_string(),
                &attempt,
                &verdict,
            )
            .await
            .map_err(retry)?,
        };
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
