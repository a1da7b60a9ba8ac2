//! The test suite's fake Google (OAuth 2.0 and Calendar v3) as a process, for the
//! browser tests and for trying calendar sync by hand:
//!
//! ```text
//! cargo run -p server --example fake_google -- 127.0.0.1:12112
//! HITCH_GOOGLE_CLIENT_ID=hitch-test.apps.googleusercontent.com \
//! HITCH_GOOGLE_CLIENT_SECRET=GOCSPX-test-secret \
//! HITCH_GOOGLE_AUTH_URL=http://127.0.0.1:12112/o/oauth2/v2/auth \
//! HITCH_GOOGLE_TOKEN_URL=http://127.0.0.1:12112/token \
//! HITCH_GOOGLE_REVOKE_URL=http://127.0.0.1:12112/revoke \
//! HITCH_GOOGLE_API_BASE=http://127.0.0.1:12112/calendar/v3 hitch serve
//! ```
//!
//! Consent is granted at once. `GET /_test/events` lists the primary calendar's events;
//! `POST /_test/move` with `{"id", "start", "end"}` moves one as its owner would, and
//! `POST /_test/create` with `{"start", "end"}` adds a busy event of the owner's.
#[path = "../tests/it/fake_google.rs"]
#[allow(dead_code)] // the tests use more of it than this binary does
mod fake_google;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:12112".into());
    let fake = fake_google::FakeGoogle::start_on(&addr).await;
    println!("fake Google listening on {}", fake.base);
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
