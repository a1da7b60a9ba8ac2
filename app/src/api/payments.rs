//! Stripe settings, payment links and refunds, for the dashboard. Actions that a plain
//! form can post (JavaScript off) redirect back to the page they came from.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::payment::{
    PaymentLinkView, PaymentOverview, RefundInput, StripeSettingsInput, StripeSettingsView, Subject,
};

#[server(prefix = "/rpc", endpoint = "payments/stripe")]
pub async fn stripe_settings() -> Result<StripeSettingsView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.payments.stripe_settings(&user).await
}

#[server(prefix = "/rpc", endpoint = "payments/stripe/save")]
pub async fn save_stripe_settings(
    input: StripeSettingsInput,
) -> Result<StripeSettingsView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let saved = ctx::ports()?
        .payments
        .save_stripe_settings(&user, &input)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect("/integrations/stripe?notice=stripe_saved");
    }
    Ok(saved)
}

#[server(prefix = "/rpc", endpoint = "payments/stripe/test")]
pub async fn test_stripe() -> Result<StripeSettingsView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let out = ctx::ports()?.payments.test_stripe(&user).await?;
    if ctx::wants_html()? {
        leptos_axum::redirect("/integrations/stripe");
    }
    Ok(out)
}

#[server(prefix = "/rpc", endpoint = "payments/stripe/remove")]
pub async fn remove_stripe() -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.payments.remove_stripe(&user).await?;
    leptos_axum::redirect("/integrations/stripe?notice=stripe_removed");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "payments/overview")]
pub async fn load_payments(
    subject: Subject,
    subject_id: String,
) -> Result<PaymentOverview, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?
        .payments
        .overview(&user, subject, &subject_id)
        .await
}

/// The page that shows a subject's payment panel.
pub fn subject_page(subject: Subject, id: &str) -> String {
    match subject {
        Subject::Invoice => format!("/invoices/{id}"),
        Subject::Deposit => format!("/bookings/{id}"),
    }
}

#[server(prefix = "/rpc", endpoint = "payments/links/create")]
pub async fn create_payment_link(
    subject: Subject,
    subject_id: String,
) -> Result<PaymentLinkView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let link = ctx::ports()?
        .payments
        .create_link(&user, subject, &subject_id)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!(
            "{}?notice=link_created",
            subject_page(subject, &subject_id)
        ));
    }
    Ok(link)
}

#[server(prefix = "/rpc", endpoint = "payments/links/expire")]
pub async fn expire_payment_link(link_id: String) -> Result<PaymentLinkView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let link = ctx::ports()?.payments.expire_link(&user, &link_id).await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!(
            "{}?notice=link_expired",
            subject_page(link.subject, &link.subject_id)
        ));
    }
    Ok(link)
}

#[server(prefix = "/rpc", endpoint = "payments/refund")]
pub async fn refund_payment(
    link_id: String,
    input: RefundInput,
) -> Result<PaymentLinkView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let link = ctx::ports()?
        .payments
        .refund(&user, &link_id, &input)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!(
            "{}?notice=refunded",
            subject_page(link.subject, &link.subject_id)
        ));
    }
    Ok(link)
}
