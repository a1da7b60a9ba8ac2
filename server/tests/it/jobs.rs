//! The job runner: retries, dead jobs, crash recovery with a real SIGKILL, and two
//! server processes sharing one queue.
use std::collections::HashMap;
use std::time::Duration;

use crate::support::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use server::db::entities::{job, job_attempt};
use server::jobs::{self, NewJob, system};

async fn job(app: &TestApp, id: &str) -> job::Model {
    job::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("job exists")
}

async fn attempts(app: &TestApp, id: &str) -> Vec<job_attempt::Model> {
    job_attempt::Entity::find()
        .filter(job_attempt::Column::JobId.eq(id))
        .order_by_asc(job_attempt::Column::Attempt)
        .all(&app.db)
        .await
        .expect("attempts")
}

async fn enqueue(app: &TestApp, jobs: &[NewJob]) -> Vec<String> {
    let p = &app.platform;
    jobs::enqueue_now(&p.db, &p.hub, &p.jobs, jobs)
        .await
        .expect("enqueue")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_promptly_and_every_attempt_is_recorded() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let ids = enqueue(
        &app,
        &(0..25)
            .map(|_| NewJob::new(system::NOOP, json!({})))
            .collect::<Vec<_>>(),
    )
    .await;
    app.eventually("25 jobs done", Duration::from_secs(10), || async {
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")
            .await
            == 25
    })
    .await;
    for id in &ids {
        let a = attempts(&app, id).await;
        assert_eq!(a.len(), 1, "job {id} attempts: {a:?}");
        assert_eq!(a[0].outcome, "succeeded");
        assert!(a[0].finished_at >= a[0].started_at);
    }
    let metrics = app.page("/metrics").await;
    assert!(
        metrics.contains(r#"hitch_job_attempts_total{kind="system.noop",outcome="succeeded"} 25"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("hitch_job_duration_seconds_bucket"),
        "{metrics}"
    );

    // Finished jobs are pruned with their attempts once past the retention.
    assert_eq!(jobs::queue::prune_done(&app.db, 1).await.expect("prune"), 0);
    assert_eq!(
        jobs::queue::prune_done(&app.db, 0).await.expect("prune"),
        25
    );
    assert_eq!(app.count("jobs").await, 0);
    assert_eq!(app.count("job_attempts").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_jobs_back_off_die_and_can_be_retried_by_hand() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let ids = enqueue(
        &app,
        &[NewJob::new(system::SLEEP, json!({ "ms": 1, "fail": true }))],
    )
    .await;
    let id = &ids[0];
    // system.sleep allows 3 attempts with a 1 s base backoff: ~1 s, then ~2 s.
    app.eventually("the job to die", Duration::from_secs(15), || async {
        job(&app, id).await.status == "dead"
    })
    .await;
    let a = attempts(&app, id).await;
    assert_eq!(
        a.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(),
        ["failed", "failed", "failed"]
    );
    assert!(
        a.iter()
            .all(|a| a.error.as_deref() == Some("asked to fail"))
    );
    // The reason is recorded as a type, beside the message.
    assert!(
        a.iter().all(|a| a.reason.as_deref() == Some("other")),
        "{a:?}"
    );
    // Backoff: the second attempt came at least 0.8 s (1 s - 20 % jitter) after the first.
    assert!(
        a[1].started_at - a[0].finished_at >= 800,
        "retried too soon: {a:?}"
    );
    let dead = job(&app, id).await;
    assert_eq!(dead.last_error.as_deref(), Some("asked to fail"));
    assert_eq!(dead.last_reason.as_deref(), Some("other"));

    // A dead job can be put back by hand and gets a fresh budget of attempts.
    assert!(
        jobs::queue::retry(&app.db, id, None, 1)
            .await
            .expect("retry")
    );
    app.platform.hub.jobs_enqueued();
    app.eventually("the retried attempt", Duration::from_secs(10), || async {
        attempts(&app, id).await.len() == 4
    })
    .await;
    app.eventually("the job to die again", Duration::from_secs(10), || async {
        job(&app, id).await.status == "dead"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_nothing() {
    // Workers run only in the child processes, never in the test's own server.
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    let ids = enqueue(&app, &[NewJob::new(system::SLEEP, json!({ "ms": 3000 }))]).await;
    let id = ids[0].clone();

    let mut first = app.spawn_process(&[]);
    let first_pid = first.pid().to_string();
    app.eventually(
        "the first process to start the job",
        Duration::from_secs(30),
        || async {
            job(&app, &id)
                .await
                .locked_by
                .is_some_and(|w| w.split(':').nth(1) == Some(first_pid.as_str()))
        },
    )
    .await;
    first.kill9();

    let held = job(&app, &id).await;
    assert_eq!(
        held.status, "running",
        "killed mid-job, the job is still leased"
    );
    assert!(attempts(&app, &id).await.is_empty());
    // Work enqueued while no worker is alive waits in the table.
    let more = enqueue(
        &app,
        &(0..10)
            .map(|_| NewJob::new(system::NOOP, json!({})))
            .collect::<Vec<_>>(),
    )
    .await;

    let _second = app.spawn_process(&[]);
    // The lease (timeout 10 s + 5 s grace) must run out before the job is taken again.
    app.eventually(
        "the job to finish after restart",
        Duration::from_secs(40),
        || async { job(&app, &id).await.status == "done" },
    )
    .await;
    let a = attempts(&app, &id).await;
    assert_eq!(
        a.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(),
        ["lost", "succeeded"],
        "{a:?}"
    );
    assert_eq!(a[0].worker.split(':').nth(1), Some(first_pid.as_str()));
    assert_ne!(a[1].worker, a[0].worker);
    assert!(
        a[1].started_at >= held.locked_until.expect("lease"),
        "the job ran again before its lease expired"
    );
    for id in more {
        app.eventually("queued work to finish", Duration::from_secs(10), || async {
            job(&app, &id).await.status == "done"
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_queue_and_never_run_a_job_twice() {
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    if !app.is_postgres() {
        // Several processes on one SQLite file is not a supported deployment.
        eprintln!("two-server test runs on PostgreSQL only");
        return;
    }
    let (a, a_url) = app.spawn_listening();
    let (b, b_url) = app.spawn_listening();
    for url in [&a_url, &b_url] {
        app.eventually(
            "a second server to answer",
            Duration::from_secs(30),
            || async {
                app.client
                    .get(format!("{url}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
    }
    let pids = [a.pid().to_string(), b.pid().to_string()];

    let jobs: Vec<NewJob> = (0..2000)
        .map(|_| NewJob::new(system::NOOP, json!({})))
        .collect();
    let ids = enqueue(&app, &jobs).await;
    app.eventually(
        "2,000 jobs to complete",
        Duration::from_secs(60),
        || async {
            app.scalar(
                "SELECT COUNT(*) AS n FROM jobs WHERE status = 'done' AND kind = 'system.noop'",
            )
            .await
                == 2000
        },
    )
    .await;
    // Exactly one attempt per job: nobody claimed a job someone else held.
    let rows = job_attempt::Entity::find()
        .filter(job_attempt::Column::JobId.is_in(ids.clone()))
        .all(&app.db)
        .await
        .expect("attempts");
    let mut per_job: HashMap<&str, usize> = HashMap::new();
    let mut per_pid: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        *per_job.entry(r.job_id.as_str()).or_default() += 1;
        *per_pid
            .entry(r.worker.split(':').nth(1).unwrap_or_default().to_string())
            .or_default() += 1;
        assert_eq!(r.outcome, "succeeded");
    }
    assert_eq!(per_job.len(), 2000);
    assert!(per_job.values().all(|&n| n == 1), "a job ran twice");
    for pid in &pids {
        assert!(
            per_pid.get(pid).copied().unwrap_or(0) > 0,
            "process {pid} did no work: {per_pid:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_page_counts_by_kind_and_retries_dead_jobs() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let ids = enqueue(
        &app,
        &[NewJob::new(system::SLEEP, json!({ "ms": "not a number" })).org(&app.org_id)],
    )
    .await;
    // A malformed payload is fatal: straight to dead, no pointless retries.
    app.eventually("the job to die", Duration::from_secs(10), || async {
        job(&app, &ids[0]).await.status == "dead"
    })
    .await;
    let (status, page) = app.post("/rpc/jobs/overview", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    let row = page["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == "system.sleep")
        .expect("a row for system.sleep")
        .clone();
    assert_eq!(row["dead"], 1);
    let attention = &page["attention"][0];
    assert_eq!(attention["id"], ids[0].as_str());
    assert_eq!(attention["attempts"], 1);
    assert!(
        attention["last_error"]
            .as_str()
            .expect("error")
            .contains("ms")
    );

    let (status, body) = app.post("/rpc/jobs/retry", &[("id", &ids[0])]).await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    app.eventually("the retried attempt", Duration::from_secs(10), || async {
        attempts(&app, &ids[0]).await.len() == 2
    })
    .await;
    // Retrying a job that is not dead is refused clearly.
    let done = enqueue(&app, &[NewJob::new(system::NOOP, json!({}))]).await;
    app.eventually("noop done", Duration::from_secs(10), || async {
        job(&app, &done[0]).await.status == "done"
    })
    .await;
    let (status, body) = app.post("/rpc/jobs/retry", &[("id", &done[0])]).await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_transition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_key_limits_its_jobs_without_holding_up_others() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // Four slow jobs for one target allowed one at a time, then a job for another.
    let slow: Vec<NewJob> = (0..4)
        .map(|_| NewJob::new(system::SLEEP, json!({ "ms": 400 })).limit_per("endpoint-a", 1))
        .collect();
    let slow_ids = enqueue(&app, &slow).await;
    let other = enqueue(
        &app,
        &[NewJob::new(system::SLEEP, json!({ "ms": 10 })).limit_per("endpoint-b", 1)],
    )
    .await;
    app.eventually("all five jobs done", Duration::from_secs(20), || async {
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")
            .await
            == 5
    })
    .await;
    let mut spans = Vec::new();
    for id in &slow_ids {
        let a = attempts(&app, id).await;
        assert_eq!(a.len(), 1, "{a:?}");
        spans.push((a[0].started_at, a[0].finished_at));
    }
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "two endpoint-a jobs ran at once: {spans:?}"
        );
    }
    // The other target's job did not wait behind endpoint-a's queue.
    let b = &attempts(&app, &other[0]).await[0];
    assert!(
        b.finished_at < spans[3].0,
        "endpoint-b's job waited for endpoint-a's backlog"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_job_finish_before_exit() {
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    let ids = enqueue(&app, &[NewJob::new(system::SLEEP, json!({ "ms": 1500 }))]).await;
    let mut child = app.spawn_process(&[]);
    app.eventually("the job to start", Duration::from_secs(30), || async {
        job(&app, &ids[0]).await.status == "running"
    })
    .await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.pid().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let exited = tokio::task::spawn_blocking(move || {
        let status = child.0.wait().expect("wait");
        (child, status)
    })
    .await
    .expect("join");
    assert!(exited.1.success(), "hitch exited with {:?}", exited.1);
    let done = job(&app, &ids[0]).await;
    assert_eq!(done.status, "done", "shutdown did not wait for the job");
    assert_eq!(attempts(&app, &ids[0]).await[0].outcome, "succeeded");
}

/// A server stopped inside a longer-lived process (an embedder, this test binary) must
/// let go of everything it holds: one reference cycle keeps its database pool, and on
/// PostgreSQL its connections, open until the process ends.
#[test]
fn a_stopped_server_lets_go_of_its_platform_and_database() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let outbox = runtime.block_on(async {
        let app = TestApp::spawn_signed_in().await?;
        // Exercise every consumer once, so each has built what it keeps.
        let resource = app.resource("Lifecycle", 4).await;
        let client = app.a_client().await;
        let day = crate::support::future_date(3);
        let form = crate::support::booking_form(&resource, &client, &day, "18:00", "19:00", "2");
        let (status, body) = app.post("/rpc/bookings/create", &form).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        Some(app.platform.outbox.downgrade())
    });
    let Some(outbox) = outbox else { return };
    runtime.shutdown_timeout(Duration::from_secs(10));
    assert!(
        outbox.upgrade().is_none(),
        "the stopped server's outbox (and its database pool) is still referenced"
    );
}

#[tokio::test]
async fn metrics_show_every_kinds_queue_from_the_start() {
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    let metrics = app.page("/metrics").await;
    for line in [
        r#"hitch_jobs{kind="webhook.deliver",status="queued"} 0"#,
        r#"hitch_jobs{kind="stripe.events",status="dead"} 0"#,
        r#"hitch_job_oldest_due_seconds{kind="webhook.deliver"} 0.0"#,
        r#"hitch_job_attempts_total{kind="webhook.deliver",outcome="failed"} 0"#,
    ] {
        assert!(metrics.contains(line), "missing {line}:\n{metrics}");
    }
    // A job due two seconds ago that nobody runs (no workers here) shows its age.
    let mut late = NewJob::new(system::NOOP, json!({}));
    late.run_at = Some(chrono::Utc::now() - chrono::Duration::seconds(2));
    enqueue(&app, &[late]).await;
    let metrics = app.page("/metrics").await;
    assert!(
        metrics.contains(r#"hitch_jobs{kind="system.noop",status="queued"} 1"#),
        "{metrics}"
    );
    let age: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"hitch_job_oldest_due_seconds{kind="system.noop"} "#))
        .and_then(|v| v.trim().parse().ok())
        .expect("an age for system.noop");
    assert!((2.0..60.0).contains(&age), "age {age}");
}

/// A job whose worker died during its last allowed attempt is dead, not run again: a
/// job that crashes the process would otherwise run after every restart.
#[tokio::test]
async fn a_lost_last_attempt_is_dead_lettered_not_claimed() {
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    let ids = enqueue(&app, &[NewJob::new(system::NOOP, json!({}))]).await;
    let past = server::platform::now_ms() - 60_000;
    // As a worker leaves it when killed in its last attempt: running, lease expired.
    app.exec(&format!(
        "UPDATE jobs SET status = 'running', attempts = max_attempts, locked_by = 'w-dead',
            locked_at = {past}, locked_until = {past} WHERE id = '{}'",
        ids[0]
    ))
    .await;
    let claimed = jobs::queue::claim(&app.db, "w-new", server::platform::now_ms(), 10)
        .await
        .expect("claim");
    assert!(claimed.is_empty(), "claimed again: {claimed:?}");
    let j = job(&app, &ids[0]).await;
    assert_eq!(j.status, "dead");
    assert_eq!(j.last_reason.as_deref(), Some("lost"));
    assert_eq!(j.lost_by.as_deref(), Some("w-dead"));
    assert!(j.locked_by.is_none());
}

/// An outcome counts only for the attempt that produced it: a late success or failure
/// of an earlier attempt, even from the same worker, leaves the job as it is.
#[tokio::test]
async fn a_late_outcome_of_an_older_attempt_changes_nothing() {
    use server::jobs::queue::{Outcome, Result_};
    let Some(app) = TestApp::spawn_with(|c| c.jobs_enabled = false).await else {
        return;
    };
    let ids = enqueue(&app, &[NewJob::new(system::NOOP, json!({}))]).await;
    let id = ids[0].clone();
    let now = server::platform::now_ms();
    // Attempt 2 is running on w-1 (its attempt 1 outlived the lease and was claimed again).
    app.exec(&format!(
        "UPDATE jobs SET status = 'running', attempts = 2, locked_by = 'w-1', locked_at = {now},
            locked_until = {} WHERE id = '{id}'",
        now + 60_000
    ))
    .await;
    let late = |result| Outcome {
        job_id: id.clone(),
        attempt: 1,
        worker: "w-1".into(),
        started_at: now - 1000,
        finished_at: now,
        result,
    };
    jobs::queue::complete(&app.db, now, &[late(Result_::Succeeded)])
        .await
        .expect("complete");
    let failed = Result_::Failed {
        class: "failed",
        reason: jobs::Reason::Other,
        error: "late".into(),
        retry_at: None,
    };
    jobs::queue::complete(&app.db, now, &[late(failed)])
        .await
        .expect("complete");
    let j = job(&app, &id).await;
    assert_eq!((j.status.as_str(), j.attempts), ("running", 2), "{j:?}");
    assert_eq!(j.locked_by.as_deref(), Some("w-1"));
    // The current attempt's own outcome still lands.
    let current = Outcome {
        attempt: 2,
        ..late(Result_::Succeeded)
    };
    jobs::queue::complete(&app.db, now, &[current])
        .await
        .expect("complete");
    assert_eq!(job(&app, &id).await.status, "done");
}
