//! The vault: round trip, tamper detection, master-key rotation, and no plaintext in
//! the database or the logs.
use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use server::db::entities::secret;
use server::vault::{Keyring, MasterKey, Vault, VaultError};

use crate::support::TestApp;

fn flip_one_byte(sealed: &str, at: usize) -> String {
    let mut raw = B64.decode(sealed).expect("b64");
    let i = at.min(raw.len() - 1);
    raw[i] ^= 0x01;
    B64.encode(raw)
}

async fn row(app: &TestApp, name: &str) -> secret::Model {
    secret::Entity::find()
        .filter(secret::Column::OrganizationId.eq(&app.org_id))
        .filter(secret::Column::Name.eq(name))
        .one(&app.db)
        .await
        .expect("query")
        .expect("row")
}

#[tokio::test]
async fn secrets_round_trip_and_tampering_is_detected() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let vault = &app.platform.vault;
    let hint = vault
        .put(
            &app.db,
            &app.org_id,
            "stripe.secret_key",
            "sk_live_51Hq8xYzAbCdEfGa1B2",
        )
        .await
        .expect("put");
    assert_eq!(hint, "sk_live_...a1B2");
    let back = vault
        .get(&app.db, &app.org_id, "stripe.secret_key")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(back.expose(), "sk_live_51Hq8xYzAbCdEfGa1B2");
    assert_eq!(format!("{back:?}"), "Secret(sk_live_...a1B2)");
    // Another organization's name space is separate.
    assert!(
        vault
            .get(&app.db, "org_other", "stripe.secret_key")
            .await
            .expect("get")
            .is_none()
    );

    // Replacing keeps one row and returns the new value.
    vault
        .put(
            &app.db,
            &app.org_id,
            "stripe.secret_key",
            "sk_live_51Hq8xYzAbCdEfGz9Z9",
        )
        .await
        .expect("replace");
    assert_eq!(app.count("secrets").await, 1);
    let original = row(&app, "stripe.secret_key").await;

    // One flipped byte, in the value or in the wrapped key, is an error, never garbage.
    for (col, tampered) in [
        ("ciphertext", flip_one_byte(&original.ciphertext, 20)),
        ("wrapped_key", flip_one_byte(&original.wrapped_key, 20)),
    ] {
        let mut active: secret::ActiveModel = original.clone().into();
        match col {
            "ciphertext" => active.ciphertext = Set(tampered),
            _ => active.wrapped_key = Set(tampered),
        }
        active.update(&app.db).await.expect("tamper");
        let err = vault
            .get(&app.db, &app.org_id, "stripe.secret_key")
            .await
            .expect_err("tampered secret must not open");
        assert!(matches!(err, VaultError::Tampered(_)), "{col}: {err}");
        let restore: secret::ActiveModel = original.clone().into();
        restore.reset_all().update(&app.db).await.expect("restore");
    }
    // A ciphertext moved onto another row does not open either.
    vault
        .put(
            &app.db,
            &app.org_id,
            "other.key",
            "another-secret-value-123",
        )
        .await
        .expect("put");
    let mut moved: secret::ActiveModel = row(&app, "other.key").await.into();
    moved.ciphertext = Set(original.ciphertext.clone());
    moved.wrapped_key = Set(original.wrapped_key.clone());
    moved.update(&app.db).await.expect("swap");
    assert!(matches!(
        vault.get(&app.db, &app.org_id, "other.key").await,
        Err(VaultError::Tampered(_))
    ));
    assert_eq!(
        vault
            .get(&app.db, &app.org_id, "stripe.secret_key")
            .await
            .expect("get")
            .expect("present")
            .expose(),
        "sk_live_51Hq8xYzAbCdEfGz9Z9"
    );
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_every_data_key() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (old_text, new_text) = (MasterKey::generate_text(), MasterKey::generate_text());
    let parse = |t: &str| MasterKey::parse("test", t).expect("key");
    let old = Vault::new(Keyring::new(parse(&old_text), vec![]));
    for i in 0..250 {
        old.put(
            &app.db,
            &app.org_id,
            &format!("key.{i}"),
            &format!("secret-value-{i:04}-xyz"),
        )
        .await
        .expect("put");
    }
    // Step 1: servers accept the new key; step 2: rotate with it as primary.
    let both = Vault::new(Keyring::new(parse(&new_text), vec![parse(&old_text)]));
    let report = both.rotate(&app.db).await.expect("rotate");
    assert_eq!(report.rewrapped, 250);
    assert_eq!(report.already_current, 0);
    let again = both.rotate(&app.db).await.expect("rotate again");
    assert_eq!((again.rewrapped, again.already_current), (0, 250));

    // The new key alone opens everything; the old key alone opens nothing.
    let new_only = Vault::new(Keyring::new(parse(&new_text), vec![]));
    for i in [0, 137, 249] {
        let s = new_only
            .get(&app.db, &app.org_id, &format!("key.{i}"))
            .await
            .expect("open")
            .expect("present");
        assert_eq!(s.expose(), format!("secret-value-{i:04}-xyz"));
    }
    assert!(matches!(
        old.get(&app.db, &app.org_id, "key.0").await,
        Err(VaultError::UnknownKey(..))
    ));
    let ids: Vec<String> = secret::Entity::find()
        .all(&app.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.key_id)
        .collect();
    assert!(ids.iter().all(|id| id == new_only.primary_key_id()));
}

/// Collects everything logged while the test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes a secret, reads it, logs it the way careless code would, then searches the
/// whole database and the log output for the plaintext.
#[tokio::test]
async fn no_plaintext_secret_in_the_database_or_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let plaintext = format!("whsec_{}", ulid::Ulid::new());
    let vault = &app.platform.vault;
    vault
        .put(&app.db, &app.org_id, "webhook.secret", &plaintext)
        .await
        .expect("put");
    let s = vault
        .get(&app.db, &app.org_id, "webhook.secret")
        .await
        .expect("get")
        .expect("present");
    tracing::info!(secret = ?s, "loaded a secret");
    assert_eq!(s.expose(), plaintext);

    let needle = plaintext.as_bytes();
    let found_in_db = if app.is_postgres() {
        let schema = app.config.database_schema.clone().expect("schema");
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", "--schema", &schema, &app.config.database_url])
            .output()
            .expect("pg_dump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("webhook.secret"),
            "the dump should hold the secret's row"
        );
        contains(&out.stdout, needle)
    } else {
        app.db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
        let path = app
            .config
            .database_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .expect("path")
            .to_string();
        let mut bytes = std::fs::read(&path).expect("db file");
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        assert!(
            contains(&bytes, b"webhook.secret"),
            "the file should hold the row"
        );
        contains(&bytes, needle)
    };
    assert!(!found_in_db, "plaintext secret found in the database");

    let logs = captured.0.lock().expect("lock").clone();
    assert!(contains(&logs, b"loaded a secret"), "log capture works");
    assert!(contains(&logs, b"whsec_..."), "the masked form is logged");
    assert!(
        !contains(&logs, needle),
        "plaintext secret found in the logs"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
