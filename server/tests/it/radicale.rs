//! A real CalDAV server for the tests: Radicale (PyPI, installed into `.venv` by
//! `.ci/install-tools`), started on a free port with its own folder and one user, and
//! stopped when dropped. Without it the tests are skipped, except under `CI`, where a
//! missing peer fails the run.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "staff";
pub const PASSWORD: &str = "app-password-1";

pub struct Radicale {
    pub base: String,
    child: Child,
    _dir: tempdir::Dir,
}

/// A temporary folder removed on drop (no extra crate for one folder).
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/radicale")
}

impl Radicale {
    pub async fn start() -> Option<Radicale> {
        let bin = binary();
        if !bin.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "Radicale is missing at {}: run .ci/install-tools",
                bin.display()
            );
            eprintln!(
                "skipped: no Radicale at {} (run .ci/install-tools)",
                bin.display()
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("hitch-radicale-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        let users = dir.join("users");
        std::fs::write(&users, format!("{USER}:{PASSWORD}\n")).expect("users");
        let child = Command::new(&bin)
            .args(["--server-hosts", &format!("127.0.0.1:{port}")])
            .args([
                "--storage-filesystem-folder",
                &dir.join("data").to_string_lossy(),
            ])
            .args(["--auth-type", "htpasswd"])
            .args(["--auth-htpasswd-filename", &users.to_string_lossy()])
            .args(["--auth-htpasswd-encryption", "plain"])
            .args(["--logging-level", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Radicale starts");
        let r = Radicale {
            base: format!("http://127.0.0.1:{port}"),
            child,
            _dir: tempdir::Dir(dir),
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(&r.base).send().await.is_ok() {
                return Some(r);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Radicale did not start on {}", r.base);
    }

    /// Makes a calendar collection at `/staff/{name}/` (MKCALENDAR, RFC 4791 5.3.1).
    pub async fn make_calendar(&self, name: &str, display: &str) -> String {
        let href = format!("/{USER}/{name}/");
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>{display}</d:displayname></d:prop></d:set></c:mkcalendar>"#
        );
        let res = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(b"MKCALENDAR").expect("method"),
                format!("{}{href}", self.base),
            )
            .basic_auth(USER, Some(PASSWORD))
            .body(body)
            .send()
            .await
            .expect("mkcalendar");
        assert!(res.status().is_success(), "MKCALENDAR: {}", res.status());
        href
    }

    /// What another calendar app does: writes `ics` at `path` with no precondition.
    pub async fn put_as_another_app(&self, path: &str, ics: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}{path}", self.base))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "text/calendar; charset=utf-8")
            .body(ics.to_string())
            .send()
            .await
            .expect("put");
        assert!(res.status().is_success(), "PUT: {}", res.status());
    }

    pub async fn delete_as_another_app(&self, path: &str) {
        let res = reqwest::Client::new()
            .delete(format!("{}{path}", self.base))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .expect("delete");
        assert!(res.status().is_success(), "DELETE: {}", res.status());
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
