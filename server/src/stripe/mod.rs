//! Stripe payments: Checkout Sessions ("payment links") for invoices and booking
//! deposits, Stripe's signed webhooks, refunds and a reconciliation sweep.
//!
//! Flow: staff (or the guest portal) asks for a link → [`links::create`] calls Stripe
//! with an idempotency key and stores the link only once Stripe has answered, so a
//! Stripe outage leaves nothing half-saved. Stripe then reports what happened through
//! `/webhooks/stripe/{org}` ([`inbound`]), which verifies the signature, stores the
//! event once and answers at once; a job ([`process`]) applies it. Every observation
//! goes through [`state::LinkState::advance`], whose rules only move forward, so
//! duplicates and out-of-order events cannot make a paid link unpaid. The
//! [`reconcile`] sweep asks Stripe about links whose events may have been missed.
pub mod client;
pub mod effects;
pub mod inbound;
pub mod intake;
pub mod links;
pub mod process;
pub mod reconcile;
pub mod refunds;
pub mod signature;
pub mod state;

use app::error::AppError;
use sea_orm::DatabaseConnection;

use crate::events::Outbox;
use crate::vault::Vault;
pub use client::StripeClient;

/// Vault names of an organization's Stripe keys.
pub const SECRET_KEY: &str = "stripe:secret_key";
pub const WEBHOOK_SECRET: &str = "stripe:webhook_secret";

/// What the Stripe parts share. Cheap to clone.
#[derive(Clone)]
pub struct Stripe {
    pub db: DatabaseConnection,
    /// Stripe's effects (an invoice paid) commit through it, with their events.
    pub outbox: Outbox,
    pub vault: Vault,
    /// `https://api.stripe.com`, or a fake's address in tests (`HITCH_STRIPE_API_BASE`).
    pub api_base: String,
    /// Hitch's public address, for the success and cancel pages Stripe sends payers to.
    pub public_url: String,
    /// Seconds a link stays payable (Stripe accepts 30 minutes to 24 hours).
    pub link_ttl_secs: i64,
    /// Turns for SQLite's single writer (see `db::WriteGate`).
    pub gate: crate::db::WriteGate,
}

impl Stripe {
    /// A client with the organization's secret key.
    pub async fn client(&self, org_id: &str) -> Result<StripeClient, AppError> {
        let key = self
            .vault
            .get(&self.db, org_id, SECRET_KEY)
            .await
            .map_err(crate::platform::internal)?
            .ok_or_else(|| AppError::NotConfigured {
                detail:
                    "Stripe is not set up yet: add your Stripe keys under Integrations → Stripe."
                        .into(),
            })?;
        Ok(StripeClient::new(&self.api_base, key.expose()))
    }

    /// The URL to give Stripe's dashboard as this organization's webhook endpoint.
    pub fn webhook_url(&self, org_slug: &str) -> String {
        format!(
            "{}/webhooks/stripe/{org_slug}",
            self.public_url.trim_end_matches('/')
        )
    }
}

/// A Stripe failure as the person who clicked sees it.
pub fn provider_error(e: client::StripeError) -> AppError {
    use client::StripeError as E;
    let detail = match &e {
        E::Unavailable(why) => format!(
            "Stripe is not answering right now ({why}). Nothing was changed; try again in a minute."
        ),
        E::Auth(msg) => format!(
            "Stripe rejected the secret key ({msg}). Check the key under Integrations → Stripe."
        ),
        E::Refused { message, .. } => format!("Stripe refused: {message}"),
        E::Protocol(msg) => format!("Stripe answered something unexpected ({msg})."),
    };
    tracing::warn!(error = %e, "Stripe call failed");
    AppError::Provider {
        provider: "Stripe".into(),
        detail,
    }
}
