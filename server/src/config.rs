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
        let env = Env::prefixed("HITCH_").ignore(&["CONFIG", "TEST_DATABASE"]);
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
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
