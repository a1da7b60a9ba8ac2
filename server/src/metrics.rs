//! Prometheus metrics: HTTP requests by route and status, job attempts by kind and
//! outcome, job run time, and queue depth (read from the database at scrape time).
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepthLabels {
    kind: String,
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_buckets() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: HistogramFamily<KindLabels>,
    job_attempts: Family<AttemptLabels, Counter>,
    job_seconds: HistogramFamily<KindLabels>,
    job_depth: Family<DepthLabels, Gauge>,
    job_oldest_due: Family<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Every kind this process runs: each gets its series at zero from the start.
    kinds: Vec<String>,
}

/// Cheap to clone; every server, worker and test app has its own.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::with_job_kinds(&[])
    }

    /// Metrics whose job series exist for every one of `kinds` from the start, at zero
    /// (an alert cannot fire on a series that is missing).
    pub fn with_job_kinds(kinds: &[&str]) -> Metrics {
        let mut registry = Registry::with_prefix("hitch");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds: HistogramFamily<KindLabels> =
            Family::new_with_constructor(seconds_buckets);
        let job_attempts = Family::<AttemptLabels, Counter>::default();
        let job_seconds: HistogramFamily<KindLabels> =
            Family::new_with_constructor(seconds_buckets);
        let job_depth = Family::<DepthLabels, Gauge>::default();
        let job_oldest_due =
            Family::<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route (the `kind` label)",
            http_seconds.clone(),
        );
        registry.register(
            "job_attempts",
            "Job attempts by kind and outcome",
            job_attempts.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "How long job attempts ran, by kind",
            job_seconds.clone(),
        );
        registry.register(
            "jobs",
            "Jobs by kind and state (queued, running, dead), read at scrape time",
            job_depth.clone(),
        );
        registry.register(
            "job_oldest_due_seconds",
            "How long the oldest due, unclaimed job of each kind has waited (0: none)",
            job_oldest_due.clone(),
        );
        for kind in kinds {
            for outcome in ["succeeded", "failed"] {
                job_attempts
                    .get_or_create(&AttemptLabels {
                        kind: kind.to_string(),
                        outcome: outcome.into(),
                    })
                    .inc_by(0);
            }
        }
        Metrics {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_seconds,
                job_attempts,
                job_seconds,
                job_depth,
                job_oldest_due,
                kinds: kinds.iter().map(|k| k.to_string()).collect(),
            }),
        }
    }

    pub fn job_attempt(&self, kind: &str, outcome: &str, took: Option<Duration>) {
        self.inner
            .job_attempts
            .get_or_create(&AttemptLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        if let Some(took) = took {
            self.inner
                .job_seconds
                .get_or_create(&KindLabels { kind: kind.into() })
                .observe(took.as_secs_f64());
        }
    }

    fn http(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.inner
            .http_requests
            .get_or_create(&HttpLabels {
                method: method.into(),
                route: route.into(),
                status,
            })
            .inc();
        self.inner
            .http_seconds
            .get_or_create(&KindLabels { kind: route.into() })
            .observe(took.as_secs_f64());
    }

    /// The text exposition, after refreshing the queue gauges from the database.
    pub async fn render(&self, db: &DatabaseConnection) -> String {
        if let Err(e) = self.read_queue(db).await {
            tracing::warn!(error = %e, "could not read the job queue for /metrics");
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::warn!(error = %e, "could not encode metrics");
        }
        out
    }
}

impl Metrics {
    /// Queue depth per kind and state, and the age of each kind's oldest due job.
    async fn read_queue(&self, db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        const STATES: [&str; 3] = ["queued", "running", "dead"];
        let now = crate::platform::now_ms();
        let sql = format!(
            "SELECT kind, status, COUNT(*) AS n,
                MIN(CASE WHEN status = 'queued' AND run_at <= {now} THEN run_at END) AS oldest
             FROM jobs WHERE status IN ('queued', 'running', 'dead') GROUP BY kind, status"
        );
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        let inner = &self.inner;
        inner.job_depth.clear();
        inner.job_oldest_due.clear();
        for kind in &inner.kinds {
            for status in STATES {
                inner
                    .job_depth
                    .get_or_create(&DepthLabels {
                        kind: kind.clone(),
                        status: status.into(),
                    })
                    .set(0);
            }
            inner
                .job_oldest_due
                .get_or_create(&KindLabels { kind: kind.clone() })
                .set(0.0);
        }
        for r in rows {
            let (Ok(kind), Ok(status), Ok(n)) = (
                r.try_get::<String>("", "kind"),
                r.try_get::<String>("", "status"),
                r.try_get::<i64>("", "n"),
            ) else {
                continue;
            };
            if let Ok(Some(oldest)) = r.try_get::<Option<i64>>("", "oldest") {
                inner
                    .job_oldest_due
                    .get_or_create(&KindLabels { kind: kind.clone() })
                    .set((now - oldest).max(0) as f64 / 1000.0);
            }
            inner
                .job_depth
                .get_or_create(&DepthLabels { kind, status })
                .set(n);
        }
        Ok(())
    }
}

/// Counts every request by its route pattern (never the raw path, which holds ids).
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let method = req.method().as_str().to_string();
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    metrics.http(&method, &route, res.status().as_u16(), start.elapsed());
    res
}

pub async fn endpoint(
    State((metrics, db)): State<(Metrics, DatabaseConnection)>,
) -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(&db).await,
    )
}
