//! The outbox: a subscriber writes its rows in the event's transaction, a rolled-back
//! change leaves nothing behind, and a commit announces itself and wakes the workers.
use std::sync::Arc;
use std::time::Duration;

use app::model::platform::IntegrationAlert;
use async_trait::async_trait;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait};
use serde_json::json;
use server::consumers::webhooks::WebhookSubscriber;
use server::db::entities::{organization, webhook_endpoint};
use server::events::{EventRecord, EventType, Outbox, Subscriber};
use server::jobs::{NewJob, Registry, system};
use server::platform::outbound::OutboundPolicy;
use server::platform::{Hub, now_ms};
use server::vault::{Keyring, MasterKey, Vault};

use crate::support::TestApp;

/// Enqueues one no-op job per event: enough to see what the outbox does with it.
struct Counting;

#[async_trait]
impl Subscriber for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn register(&self, _jobs: &mut Registry) {}

    async fn on_event(
        &self,
        _txn: &DatabaseTransaction,
        e: &EventRecord<'_>,
    ) -> Result<Vec<NewJob>, DbErr> {
        Ok(vec![
            NewJob::new(system::NOOP, json!({ "event": e.id }))
                .org(e.org_id)
                .limits(1, Duration::from_secs(5)),
        ])
    }

    async fn alerts(
        &self,
        _db: &DatabaseConnection,
        _org_id: &str,
    ) -> Result<Vec<IntegrationAlert>, DbErr> {
        Ok(Vec::new())
    }
}

async fn fresh_sqlite() -> DatabaseConnection {
    let dir = std::env::temp_dir().join(format!("hitch-outbox-{}", ulid::Ulid::new()));
    let url = format!("sqlite://{}/hitch.db?mode=rwc", dir.display());
    let db = server::db::connect(&url, 2, None).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

async fn an_org(db: &DatabaseConnection) -> String {
    let id = server::platform::ids::new("org");
    organization::Entity::insert(organization::ActiveModel {
        id: Set(id.clone()),
        name: Set("Chez Test".into()),
        slug: Set(id.clone()),
        time_zone: Set("Europe/Paris".into()),
        currency: Set("EUR".into()),
        next_invoice_number: Set(1),
        cancel_cutoff_hours: Set(24),
        created_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(db)
    .await
    .expect("org");
    id
}

#[tokio::test]
async fn the_webhook_subscriber_alone_makes_a_delivery_and_its_job() {
    let db = fresh_sqlite().await;
    let org = an_org(&db).await;
    let now = now_ms();
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel::from(
        webhook_endpoint::Model {
            id: "whe_test".into(),
            organization_id: org.clone(),
            source: "api".into(),
            url: "https://receiver.example/hook".into(),
            description: String::new(),
            event_types: Some(r#"["client.created"]"#.into()),
            format: "standard".into(),
            headers: "{}".into(),
            rate_per_second: None,
            max_in_flight: 4,
            enabled: true,
            secret_version: 1,
            previous_secret_until: None,
            consecutive_failures: 0,
            failing_since: None,
            paused_until: None,
            disabled_at: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        },
    ))
    .exec_without_returning(&db)
    .await
    .expect("endpoint");
    let hub = Hub::local();
    let vault = Vault::new(Keyring::new(MasterKey::from_bytes(&[7; 32]), vec![]));
    let webhooks = WebhookSubscriber::new(
        &hub,
        vault,
        OutboundPolicy::default(),
        Duration::from_secs(5),
    );
    let mut registry = Registry::default();
    webhooks.register(&mut registry);
    assert!(registry.get(server::consumers::webhooks::KIND).is_some());
    let outbox = Outbox::new(db.clone(), hub, vec![Arc::new(webhooks)]);

    let mut uow = outbox.begin().await.expect("begin");
    uow.emit(
        &org,
        EventType::ClientCreated,
        "cli_1",
        json!({ "id": "cli_1" }),
    )
    .await
    .expect("emit");
    // Not subscribed: no delivery.
    uow.emit(
        &org,
        EventType::InvoiceSent,
        "inv_1",
        json!({ "id": "inv_1" }),
    )
    .await
    .expect("emit");
    let emitted = uow.commit().await.expect("commit");
    assert_eq!(emitted.iter().map(|e| e.jobs).collect::<Vec<_>>(), [1, 0]);

    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql,
                ))
                .await
                .expect("query")
                .expect("row");
            row.try_get::<i64>("", "n").expect("n")
        }
    };
    assert_eq!(count("SELECT COUNT(*) AS n FROM events").await, 2);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event_type = 'client.created' AND endpoint_id = 'whe_test'").await,
        1
    );
    // The delivery names its job, and the job is the webhook kind's.
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id WHERE j.kind = 'webhook.deliver' AND j.status = 'queued'").await,
        1
    );
    assert_eq!(count("SELECT COUNT(*) AS n FROM jobs").await, 1);
}

#[tokio::test]
async fn a_rolled_back_change_emits_nothing_and_enqueues_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let hub = app.platform.hub.clone();
    let mut changes = hub.subscribe();
    let outbox = Outbox::new(app.db.clone(), hub, vec![Arc::new(Counting)]);
    let jobs_before = app.count("jobs").await;
    let events_before = app.count("events").await;

    let mut uow = outbox.begin().await.expect("begin");
    uow.emit(&app.org_id, EventType::ClientCreated, "cli_gone", json!({}))
        .await
        .expect("emit");
    drop(uow); // an error before commit: the transaction rolls back

    let mut uow = outbox.begin().await.expect("begin");
    uow.emit(&app.org_id, EventType::ClientCreated, "cli_gone", json!({}))
        .await
        .expect("emit");
    uow.rollback().await.expect("rollback");

    assert_eq!(app.count("events").await, events_before);
    assert_eq!(app.count("jobs").await, jobs_before);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let heard: Vec<_> = std::iter::from_fn(|| changes.try_recv().ok())
        .filter(|c| c.entity_id == "cli_gone")
        .collect();
    assert!(
        heard.is_empty(),
        "announced a rolled-back change: {heard:?}"
    );
}

#[tokio::test]
async fn a_commit_announces_itself_and_wakes_the_workers() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let hub = app.platform.hub.clone();
    let mut changes = hub.subscribe();
    let outbox = Outbox::new(app.db.clone(), hub.clone(), vec![Arc::new(Counting)]);
    // Waiting before the commit: only the commit's own wake-up can end the wait.
    let woken = tokio::spawn({
        let hub = hub.clone();
        async move { hub.jobs_wakeup().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut uow = outbox.begin().await.expect("begin");
    uow.emit(&app.org_id, EventType::ClientCreated, "cli_new", json!({}))
        .await
        .expect("emit");
    uow.commit().await.expect("commit");

    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("the commit woke the workers")
        .expect("task");
    let change = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match changes.recv().await {
                Ok(c) if c.entity_id == "cli_new" => return c,
                Ok(_) => continue,
                Err(e) => panic!("hub closed: {e}"),
            }
        }
    })
    .await
    .expect("the commit announced the change");
    assert_eq!(change.event_type, "client.created");
    assert_eq!(change.org_id, app.org_id);
}

#[tokio::test]
async fn a_service_write_announces_itself_with_no_call_at_the_call_site() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let mut changes = app.platform.hub.subscribe();
    let (status, body) = app
        .post(
            "/rpc/clients/save",
            &[
                ("id", ""),
                ("input[name]", "Grace Hopper"),
                ("input[email]", ""),
                ("input[phone]", ""),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let change = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(c) = changes.recv().await
                && c.event_type == "client.created"
            {
                return c;
            }
        }
    })
    .await
    .expect("creating a client announced it");
    assert_eq!(change.org_id, app.org_id);
}
