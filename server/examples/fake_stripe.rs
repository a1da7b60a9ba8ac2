//! The test suite's fake Stripe as a process, for the browser tests and for trying the
//! payment screens by hand:
//!
//! ```text
//! cargo run -p server --example fake_stripe -- 127.0.0.1:12111
//! HITCH_STRIPE_API_BASE=http://127.0.0.1:12111 hitch serve
//! ```
//!
//! Keys starting `sk_test_` are accepted. `POST /_test/pay/{session_id}` pays a session
//! as a payer would; send the matching `checkout.session.completed` event yourself.
#[path = "../tests/it/fake_stripe.rs"]
#[allow(dead_code)] // the tests use more of it than this binary does
mod fake_stripe;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:12111".into());
    let fake = fake_stripe::FakeStripe::start_on(&addr).await;
    println!("fake Stripe listening on {}", fake.base);
    // Ends cleanly (exit 0) on Ctrl-C or SIGTERM, as the browser-test runner stops it.
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
