//! Configuration: defaults < optional TOML file < `HITCH_*` environment variables,
//! checked once at start so a bad value stops the server with a message naming it.
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://data/hitch.db?mode=rwc` or `postgres://user@host/db`.
    pub database_url: String,
    /// Pool size; SQLite serializes writes anyway, PostgreSQL benefits from more.
    pub database_max_connections: u32,
    /// Address the HTTP server binds (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Public base URL, used to decide whether cookies are `Secure`.
    pub public_url: String,
    /// `pretty` for people, `json` for log shippers.
    pub log_format: LogFormat,
    /// Directory with the built site (CSS, WASM), produced by cargo-leptos.
    pub site_root: PathBuf,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Days a dashboard session lasts without activity.
    pub session_days: i64,
    /// `development` generates a master key on first run; `production` requires one.
    pub environment: Environment,
    /// PostgreSQL schema for Hitch's tables (default: the server's search path).
    pub database_schema: Option<String>,
    /// Base64 of 32 random bytes: wraps the vault's data keys (`hitch generate-key`).
    pub master_key: Option<Sensitive>,
    /// File holding the master key; development creates `.hitch/master.key`.
    pub master_key_file: Option<PathBuf>,
    /// Comma-separated older (or upcoming) master keys, accepted for unwrapping only.
    pub decrypt_keys: Option<Sensitive>,
    /// Bearer token for `/metrics`; without one only this machine may read it.
    pub metrics_token: Option<Sensitive>,
    /// Run the job workers in this process.
    pub jobs_enabled: bool,
    /// Jobs run at once by this process.
    pub job_concurrency: usize,
    /// Seconds shutdown waits for running jobs before interrupting them.
    pub job_drain_seconds: u64,
    /// REST API requests per second per key (bursts of twice that).
    pub api_rate_per_second: u32,
    /// Fetches per minute one calendar feed answers (calendar apps poll every 5 to 60
    /// minutes; a leaked link cannot turn into a load).
    pub feed_fetches_per_minute: u32,
    /// Networks outbound calls may reach although private (e.g. `127.0.0.0/8` for a
    /// receiver on this machine). Everything private or reserved is refused otherwise.
    pub outbound_allow: String,
    /// Reverse proxies in front of Hitch (e.g. `127.0.0.1` for nginx on this machine):
    /// from them `X-Forwarded-For` names the client. From anyone else it is ignored.
    pub trusted_proxies: String,
    /// Seconds a webhook receiver has to answer.
    pub webhook_timeout_seconds: u64,
    /// Stripe's API (a local fake's address in tests).
    pub stripe_api_base: String,
    /// Twilio's API, for SMS notifications (a local fake's address in tests).
    pub twilio_api_base: String,
    /// SendGrid's API, for email notifications (a local fake's address in tests).
    pub sendgrid_api_base: String,
    /// Extra root certificate(s), PEM, trusted for SMTP TLS: a relay with its own CA.
    pub smtp_ca_file: Option<PathBuf>,
    /// Hours a payment link stays payable: Stripe accepts 1 to 24 (at least 30 minutes).
    pub stripe_link_hours: i64,
    /// Minutes between reconciliation sweeps that ask Stripe about unsettled links.
    pub stripe_reconcile_minutes: u64,
    /// The OAuth client Hitch signs in to Google Calendar with (Google Cloud console,
    /// type "Web application", redirect `{public_url}/integrations/google/callback`).
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<Sensitive>,
    /// Google's OAuth and Calendar endpoints (a local fake's addresses in tests).
    pub google_auth_url: String,
    pub google_token_url: String,
    pub google_revoke_url: String,
    pub google_api_base: String,
    /// Minutes between pulls of each connected calendar when no push notice came.
    pub calendar_poll_minutes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// A setting that must never be printed: `Debug` shows only that it is set.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(pub String);

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/hitch.db?mode=rwc".into(),
            database_max_connections: 8,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: "http://127.0.0.1:3000".into(),
            log_format: LogFormat::Pretty,
            site_root: PathBuf::from("target/site"),
            max_body_bytes: 64 * 1024,
            session_days: 14,
            environment: Environment::Development,
            database_schema: None,
            master_key: None,
            master_key_file: None,
            decrypt_keys: None,
            metrics_token: None,
            jobs_enabled: true,
            job_concurrency: 8,
            job_drain_seconds: 20,
            api_rate_per_second: 20,
            feed_fetches_per_minute: 60,
            outbound_allow: String::new(),
            trusted_proxies: String::new(),
            webhook_timeout_seconds: 15,
            stripe_api_base: "https://api.stripe.com".into(),
            twilio_api_base: "https://api.twilio.com".into(),
            sendgrid_api_base: "https://api.sendgrid.com".into(),
            smtp_ca_file: None,
            stripe_link_hours: 24,
            stripe_reconcile_minutes: 5,
            google_client_id: None,
            google_client_secret: None,
            google_auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            google_token_url: "https://oauth2.googleapis.com/token".into(),
            google_revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            google_api_base: "https://www.googleapis.com/calendar/v3".into(),
            calendar_poll_minutes: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {setting} {problem}")]
    Invalid {
        setting: &'static str,
        problem: String,
    },
}

impl Config {
    /// Loads `file` (or `HITCH_CONFIG`, or `hitch.toml` if present), then the environment.
    pub fn load(file: Option<PathBuf>) -> Result<Config, ConfigError> {
        let file = file
            .or_else(|| std::env::var_os("HITCH_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let default = PathBuf::from("hitch.toml");
                default.exists().then_some(default)
            });
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid {
                    setting: "HITCH_CONFIG",
                    problem: format!("names {} which does not exist", file.display()),
                });
            }
            fig = fig.merge(Toml::file(file));
        }
        let env = Env::prefixed("HITCH_").ignore(&["CONFIG", "TEST_DATABASE", "ADMIN_PASSWORD"]);
        let config: Config = fig
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                setting: "HITCH_DATABASE_URL",
                problem: format!(
                    "must start with sqlite:, postgres:// or postgresql:// (got `{}`)",
                    redact_url(url)
                ),
            });
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError::Invalid {
                setting: "HITCH_DATABASE_MAX_CONNECTIONS",
                problem: "must be at least 1".into(),
            });
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_PUBLIC_URL",
                problem: "must start with http:// or https://".into(),
            });
        }
        if !(1024..=10 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_MAX_BODY_BYTES",
                problem: "must be between 1024 and 10485760".into(),
            });
        }
        if !(1..=365).contains(&self.session_days) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_SESSION_DAYS",
                problem: "must be between 1 and 365".into(),
            });
        }
        if !(1..=256).contains(&self.job_concurrency) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_JOB_CONCURRENCY",
                problem: "must be between 1 and 256".into(),
            });
        }
        if let Some(schema) = &self.database_schema
            && (schema.is_empty()
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(ConfigError::Invalid {
                setting: "HITCH_DATABASE_SCHEMA",
                problem: "may hold only letters, digits and underscores".into(),
            });
        }
        self.outbound_policy()?;
        self.trusted_proxies()?;
        self.smtp_roots()?;
        if !(1..=60).contains(&self.webhook_timeout_seconds) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_WEBHOOK_TIMEOUT_SECONDS",
                problem: "must be between 1 and 60".into(),
            });
        }
        for (setting, base) in [
            ("HITCH_TWILIO_API_BASE", &self.twilio_api_base),
            ("HITCH_SENDGRID_API_BASE", &self.sendgrid_api_base),
            ("HITCH_GOOGLE_AUTH_URL", &self.google_auth_url),
            ("HITCH_GOOGLE_TOKEN_URL", &self.google_token_url),
            ("HITCH_GOOGLE_REVOKE_URL", &self.google_revoke_url),
            ("HITCH_GOOGLE_API_BASE", &self.google_api_base),
        ] {
            if !(base.starts_with("https://")
                || (self.environment == Environment::Development && base.starts_with("http://")))
            {
                return Err(ConfigError::Invalid {
                    setting,
                    problem: "must be an https:// URL (http:// only in development)".into(),
                });
            }
        }
        if !(self.stripe_api_base.starts_with("https://")
            || (self.environment == Environment::Development
                && self.stripe_api_base.starts_with("http://")))
        {
            return Err(ConfigError::Invalid {
                setting: "HITCH_STRIPE_API_BASE",
                problem: "must be an https:// URL (http:// only in development)".into(),
            });
        }
        if !(1..=24).contains(&self.stripe_link_hours) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_STRIPE_LINK_HOURS",
                problem: "must be between 1 and 24 (Stripe's limits)".into(),
            });
        }
        if !(1..=1440).contains(&self.calendar_poll_minutes) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_CALENDAR_POLL_MINUTES",
                problem: "must be between 1 and 1440".into(),
            });
        }
        if self.google_client_id.is_some() != self.google_client_secret.is_some() {
            return Err(ConfigError::Invalid {
                setting: "HITCH_GOOGLE_CLIENT_SECRET",
                problem: "and HITCH_GOOGLE_CLIENT_ID go together: set both or neither".into(),
            });
        }
        if !(1..=1440).contains(&self.stripe_reconcile_minutes) {
            return Err(ConfigError::Invalid {
                setting: "HITCH_STRIPE_RECONCILE_MINUTES",
                problem: "must be between 1 and 1440".into(),
            });
        }
        Ok(())
    }

    /// Where webhooks may be sent: https only in production, private networks only
    /// when `HITCH_OUTBOUND_ALLOW` lists them.
    pub fn outbound_policy(
        &self,
    ) -> Result<crate::platform::outbound::OutboundPolicy, ConfigError> {
        let allow =
            crate::platform::outbound::parse_networks(&self.outbound_allow).map_err(|problem| {
                ConfigError::Invalid {
                    setting: "HITCH_OUTBOUND_ALLOW",
                    problem,
                }
            })?;
        Ok(crate::platform::outbound::OutboundPolicy {
            allow,
            https_only: self.environment == Environment::Production,
        })
    }

    pub fn trusted_proxies(
        &self,
    ) -> Result<crate::platform::client_ip::TrustedProxies, ConfigError> {
        crate::platform::outbound::parse_networks(&self.trusted_proxies)
            .map(crate::platform::client_ip::TrustedProxies::new)
            .map_err(|problem| ConfigError::Invalid {
                setting: "HITCH_TRUSTED_PROXIES",
                problem,
            })
    }

    /// The vault's master keys. Production needs `HITCH_MASTER_KEY` or
    /// `HITCH_MASTER_KEY_FILE`; development falls back to a generated `.hitch/master.key`.
    /// The PEM of `smtp_ca_file`, checked to hold a certificate.
    pub fn smtp_roots(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = &self.smtp_ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|e| ConfigError::Invalid {
            setting: "HITCH_SMTP_CA_FILE",
            problem: format!("cannot read {}: {e}", path.display()),
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(ConfigError::Invalid {
                setting: "HITCH_SMTP_CA_FILE",
                problem: format!("{} holds no PEM certificate", path.display()),
            });
        }
        Ok(Some(pem))
    }

    pub fn keyring(&self) -> Result<crate::vault::Keyring, ConfigError> {
        use crate::vault::keyring::KeyError;
        use crate::vault::{Keyring, MasterKey};
        let invalid = |setting: &'static str, e: KeyError| ConfigError::Invalid {
            setting,
            problem: match e {
                KeyError::Malformed { problem, .. } => {
                    format!("must be base64 of exactly 32 bytes ({problem})")
                }
                KeyError::Io(msg) => msg,
            },
        };
        let primary = match (&self.master_key, &self.master_key_file) {
            (Some(k), _) => MasterKey::parse("HITCH_MASTER_KEY", &k.0)
                .map_err(|e| invalid("HITCH_MASTER_KEY", e))?,
            (None, Some(path)) if path.exists() => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                    setting: "HITCH_MASTER_KEY_FILE",
                    problem: format!("cannot read {}: {e}", path.display()),
                })?;
                MasterKey::parse("HITCH_MASTER_KEY_FILE", &text)
                    .map_err(|e| invalid("HITCH_MASTER_KEY_FILE", e))?
            }
            _ if self.environment == Environment::Production => {
                return Err(ConfigError::Invalid {
                    setting: "HITCH_MASTER_KEY",
                    problem: "is required in production (generate one with `hitch generate-key`)"
                        .into(),
                });
            }
            (None, path) => {
                let path = path
                    .clone()
                    .unwrap_or_else(|| dev_key_path(std::path::Path::new(".")));
                let key =
                    Keyring::dev_key(&path).map_err(|e| invalid("HITCH_MASTER_KEY_FILE", e))?;
                tracing::warn!(
                    path = %path.display(),
                    "DEVELOPMENT MASTER KEY: every secret in the vault opens with this file. \
                     For production set HITCH_ENVIRONMENT=production and HITCH_MASTER_KEY \
                     (or HITCH_MASTER_KEY_FILE outside the data directory)"
                );
                key
            }
        };
        let mut others = Vec::new();
        if let Some(list) = &self.decrypt_keys {
            for part in list.0.split(',').filter(|p| !p.trim().is_empty()) {
                others.push(
                    MasterKey::parse("HITCH_DECRYPT_KEYS", part)
                        .map_err(|e| invalid("HITCH_DECRYPT_KEYS", e))?,
                );
            }
        }
        Ok(Keyring::new(primary, others))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Where development keeps its generated master key: `.hitch/`, not `data/`, so a
/// backup of the database directory does not carry the key that opens its secrets.
/// A key generated by earlier versions in `data/` is still used (with a warning) until
/// it is moved.
fn dev_key_path(base: &std::path::Path) -> PathBuf {
    let new = base.join(".hitch").join("master.key");
    let old = base.join("data").join("master.key");
    if !new.exists() && old.exists() {
        tracing::warn!(
            "the development master key is in data/ beside the database; move data/master.key \
             to .hitch/master.key"
        );
        return old;
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_lives_outside_the_data_directory() {
        let base = std::env::temp_dir().join(format!("hitch-key-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(base.join("data")).expect("dir");
        assert_eq!(dev_key_path(&base), base.join(".hitch/master.key"));
        // An old installation's key keeps working until it is moved.
        std::fs::write(base.join("data/master.key"), "x").expect("write");
        assert_eq!(dev_key_path(&base), base.join("data/master.key"));
        std::fs::create_dir_all(base.join(".hitch")).expect("dir");
        std::fs::write(base.join(".hitch/master.key"), "y").expect("write");
        assert_eq!(dev_key_path(&base), base.join(".hitch/master.key"));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn bad_values_name_their_setting() {
        let c = Config {
            database_url: "mysql://x".into(),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("HITCH_DATABASE_URL"), "{e}");
        let c = Config {
            max_body_bytes: 1,
            ..Config::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("HITCH_MAX_BODY_BYTES")
        );
        let c = Config {
            trusted_proxies: "nginx".into(),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("HITCH_TRUSTED_PROXIES") && e.contains("`nginx`"),
            "{e}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://hitch:s3cret@db/hitch"),
            "postgres://hitch:***@db/hitch"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
