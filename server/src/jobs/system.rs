//! Built-in kinds that exercise the runner itself: `system.noop` (benchmarks, smoke
//! checks) and `system.sleep` (holds a worker for `ms` milliseconds; used to check
//! leases, crash recovery and graceful shutdown on a live server).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Backoff, Handler, JobContext, JobError, Kind, Reason, Registry};

pub const NOOP: &str = "system.noop";
pub const SLEEP: &str = "system.sleep";

struct Noop;

#[async_trait]
impl Handler for Noop {
    async fn run(&self, _job: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

struct Sleep;

#[async_trait]
impl Handler for Sleep {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let ms = job.payload["ms"].as_u64().ok_or_else(|| {
            JobError::Fatal(Reason::Invalid, "payload needs a numeric `ms`".into())
        })?;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if job.payload["fail"].as_bool() == Some(true) {
            return Err(JobError::Retry(Reason::Other, "asked to fail".into()));
        }
        Ok(())
    }
}

pub fn register(r: &mut Registry) {
    let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    r.add(Kind {
        name: NOOP,
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff,
        handler: Arc::new(Noop),
    });
    r.add(Kind {
        name: SLEEP,
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        backoff,
        handler: Arc::new(Sleep),
    });
}
