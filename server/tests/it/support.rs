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
    pub platform: server::Platform,
    pub config: Config,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
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
        Self::spawn_with(|_| {}).await
    }

    /// Like [`spawn`], with the configuration adjusted first (e.g. no workers here).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let (url, schema) = fresh_database().await?;
        let config = Config {
            database_url: url,
            database_schema: schema,
            database_max_connections: 10,
            listen: "127.0.0.1:0".parse().expect("addr"),
            site_root: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").into(),
            master_key: Some(server::config::Sensitive(
                server::vault::MasterKey::generate_text().to_string(),
            )),
            ..Config::default()
        };
        let mut config = config;
        adjust(&mut config);
        let db = server::open_database(&config).await.expect("database");
        let org = demo::seed_demo(&db).await.expect("demo data");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = server::start(&config, db.clone(), shutdown.clone())
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
            platform: running.platform,
            config,
            shutdown,
        };
        Some(app)
    }

    pub async fn spawn_signed_in() -> Option<TestApp> {
        let app = Self::spawn().await?;
        app.sign_in().await;
        Some(app)
    }

    /// Signs this app's client in as the demo owner.
    pub async fn sign_in(&self) {
        let (status, body) = self
            .post(
                "/rpc/auth/login",
                &[
                    ("email", demo::DEMO_EMAIL),
                    ("password", demo::DEMO_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
    }

    /// GETs a path with this app's cookies.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// GETs a page (or any text) with this app's cookies; it must answer 200.
    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.expect("body")
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
            id: Set(server::platform::ids::new("res")),
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
        self.scalar(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// The integer in column `n` of the first row of `sql`.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql.to_string(),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Runs a statement that returns nothing (test set-up: ageing rows, moving jobs).
    pub async fn exec(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("statement");
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DbBackend::Postgres
    }

    /// Starts the real `hitch serve` binary on this app's database, as a second process.
    pub fn spawn_process(&self, extra_env: &[(&str, &str)]) -> Process {
        let c = &self.config;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hitch"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HITCH_DATABASE_URL", &c.database_url)
            .env("HITCH_LISTEN", "127.0.0.1:0")
            .env("HITCH_LOG_FORMAT", "json")
            .env("HITCH_SITE_ROOT", &c.site_root)
            .env(
                "HITCH_MASTER_KEY",
                &c.master_key.as_ref().expect("test master key").0,
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(schema) = &c.database_schema {
            cmd.env("HITCH_DATABASE_SCHEMA", schema);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Process(cmd.spawn().expect("start hitch serve"))
    }

    /// Like [`spawn_process`] on a free port; returns the process and its base URL.
    pub fn spawn_listening(&self) -> (Process, String) {
        self.spawn_listening_with(&[])
    }

    pub fn spawn_listening_with(&self, extra_env: &[(&str, &str)]) -> (Process, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut env = vec![("HITCH_LISTEN", addr.as_str())];
        env.extend_from_slice(extra_env);
        (self.spawn_process(&env), format!("http://{addr}"))
    }

    /// A second `hitch serve` on this app's database, once it answers `/healthz`.
    pub async fn second_server(&self, extra_env: &[(&str, &str)]) -> (Process, String) {
        let (process, url) = self.spawn_listening_with(extra_env);
        self.eventually(
            "the second server to answer",
            Duration::from_secs(30),
            || async {
                self.client
                    .get(format!("{url}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        (process, url)
    }

    /// Polls `check` every 50 ms until it holds, failing after `limit`.
    pub async fn eventually<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = std::time::Instant::now();
        while !check().await {
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

/// A child `hitch` process, killed when the test ends however it ends.
pub struct Process(pub std::process::Child);

impl Process {
    /// SIGKILL: no shutdown hooks, no draining, like a crash.
    pub fn kill9(&mut self) {
        self.0.kill().expect("kill");
        self.0.wait().expect("reap");
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
