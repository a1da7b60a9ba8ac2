//! Boots Hitch for a test: fresh database, demo organization, a signed-in client.
use std::time::Duration;

use reqwest::{Client, StatusCode};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use server::config::Config;
use server::db::entities::resource;
use server::services::demo;

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub client: Client,
    pub org_id: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

fn backend() -> String {
    std::env::var("HITCH_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

/// A fresh database URL and, on PostgreSQL, the schema that isolates this test.
async fn fresh_database() -> Option<(String, Option<String>)> {
    let id = ulid::Ulid::new().to_string().to_lowercase();
    match backend().as_str() {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("hitch-test-{id}"));
            Some((
                format!("sqlite://{}/hitch.db?mode=rwc", dir.display()),
                None,
            ))
        }
        "postgres" => {
            let url =
                std::env::var("HITCH_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_DEFAULT.into());
            let admin = match sea_orm::Database::connect(&url).await {
                Ok(db) => db,
                Err(e) if std::env::var_os("CI").is_none() => {
                    eprintln!("skipping: PostgreSQL at {url} is unreachable ({e})");
                    return None;
                }
                Err(e) => panic!("PostgreSQL at {url} is unreachable and CI is set: {e}"),
            };
            drop_stale_schemas(&admin).await;
            let schema = format!("t_{id}");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create schema");
            Some((url, Some(schema)))
        }
        other => panic!("HITCH_TEST_DATABASE must be sqlite or postgres, not {other}"),
    }
}

/// Drops test schemas left by runs more than an hour old (their names carry a ULID, so
/// their age), keeping the shared `test` database small without racing running tests.
async fn drop_stale_schemas(admin: &DatabaseConnection) {
    let stmt = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'",
    );
    let Ok(rows) = admin.query_all_raw(stmt).await else {
        return;
    };
    let cutoff = std::time::SystemTime::now() - Duration::from_secs(3600);
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "nspname") else {
            continue;
        };
        let stale =
            ulid::Ulid::from_string(&name[2..].to_uppercase()).is_ok_and(|u| u.datetime() < cutoff);
        if stale {
            let _ = admin
                .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await;
        }
    }
}

impl TestApp {
    /// `None` only when PostgreSQL is wanted, unreachable, and CI is not set.
    pub async fn spawn() -> Option<TestApp> {
        let (url, schema) = fresh_database().await?;
        let config = Config {
            database_url: url,
            database_max_connections: 10,
            listen: "127.0.0.1:0".parse().expect("addr"),
            site_root: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").into(),
            ..Config::default()
        };
        let db = server::open_database(&config, schema.as_deref())
            .await
            .expect("database");
        let org = demo::seed_demo(&db).await.expect("demo data");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = server::start(&config, db.clone(), async {
            let _ = rx.await;
        })
        .await
        .expect("server starts");
        let client = Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let app = TestApp {
            base: format!("http://{}", running.addr),
            db,
            client,
            org_id: org.id,
            _shutdown: tx,
        };
        Some(app)
    }

    pub async fn spawn_signed_in() -> Option<TestApp> {
        let app = Self::spawn().await?;
        let (status, body) = app
            .post(
                "/rpc/auth/login",
                &[
                    ("email", demo::DEMO_EMAIL),
                    ("password", demo::DEMO_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        Some(app)
    }

    /// POSTs a form to a server function and returns the status and JSON body.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A resource open around the clock, for tests that need exact capacity.
    pub async fn resource(&self, name: &str, capacity: i32) -> String {
        let hours = app::model::resource::OpeningHours::every_day(0, 24 * 60);
        let r = resource::ActiveModel {
            id: Set(server::services::ids::new("res")),
            organization_id: Set(self.org_id.clone()),
            name: Set(name.into()),
            capacity: Set(capacity),
            slot_minutes: Set(60),
            opening_hours: Set(serde_json::to_string(&hours).expect("json")),
            lock_version: Set(0),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&self.db)
        .await
        .expect("resource");
        r.id
    }

    /// The id of the first demo guest.
    pub async fn a_client(&self) -> String {
        let (status, body) = self
            .post("/rpc/clients/list", &[("query", ""), ("page", "1")])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"][0]["id"]
            .as_str()
            .expect("client id")
            .to_string()
    }

    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// Form fields for a booking; override with `with`.
pub fn booking_form<'a>(
    resource: &'a str,
    client: &'a str,
    date: &'a str,
    start: &'a str,
    end: &'a str,
    party: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("input[resource_id]", resource),
        ("input[client_id]", client),
        ("input[date]", date),
        ("input[start_time]", start),
        ("input[end_time]", end),
        ("input[party_size]", party),
        ("input[status]", "confirmed"),
        ("input[notes]", ""),
        ("input[deposit]", ""),
    ]
}

pub fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    form.retain(|(k, _)| *k != key);
    form.push((key, value));
    form
}

/// A date a few days ahead, so bookings are "upcoming" whatever today is.
pub fn future_date(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Field names in a validation error body.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
