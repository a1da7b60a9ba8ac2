//! Webhook endpoints and their delivery log, for the dashboard.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::page::Page;
use crate::model::webhook::{
    DeliveryDetail, DeliveryFilter, DeliveryView, EndpointForm, EndpointView, EndpointWithSecret,
    WebhookStats,
};

#[server(prefix = "/rpc", endpoint = "webhooks/list")]
pub async fn list_endpoints() -> Result<Vec<EndpointView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.endpoints(&user).await
}

#[server(prefix = "/rpc", endpoint = "webhooks/get")]
pub async fn get_endpoint(id: String) -> Result<EndpointView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.endpoint(&user, &id).await
}

/// Returns the secret, which the page shows once. A plain form POST (no WASM) cannot
/// receive it, so that path lands on the endpoint's page with a notice saying so.
#[server(prefix = "/rpc", endpoint = "webhooks/create")]
pub async fn create_endpoint(input: EndpointForm) -> Result<EndpointWithSecret, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let input = input.to_input()?;
    let created = ctx::ports()?
        .webhooks
        .create_endpoint(&user, &input, "dashboard")
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!(
            "/webhooks/{}?notice=created_no_js",
            created.endpoint.id
        ));
    }
    Ok(created)
}

#[server(prefix = "/rpc", endpoint = "webhooks/update")]
pub async fn update_endpoint(id: String, input: EndpointForm) -> Result<EndpointView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let input = input.to_input()?;
    let v = ctx::ports()?
        .webhooks
        .update_endpoint(&user, &id, &input)
        .await?;
    leptos_axum::redirect(&format!("/webhooks/{id}?notice=saved"));
    Ok(v)
}

#[server(prefix = "/rpc", endpoint = "webhooks/delete")]
pub async fn delete_endpoint(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.delete_endpoint(&user, &id).await?;
    leptos_axum::redirect("/webhooks?notice=endpoint_deleted");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "webhooks/rotate")]
pub async fn rotate_secret(id: String) -> Result<EndpointWithSecret, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.rotate_secret(&user, &id).await
}

#[server(prefix = "/rpc", endpoint = "webhooks/test")]
pub async fn send_test(id: String) -> Result<DeliveryView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let d = ctx::ports()?.webhooks.send_test(&user, &id).await?;
    leptos_axum::redirect(&format!("/webhooks/deliveries/{}?notice=test_sent", d.id));
    Ok(d)
}

/// `replay`: a checkbox, present when ticked.
#[server(prefix = "/rpc", endpoint = "webhooks/enable")]
pub async fn enable_endpoint(id: String, replay: Option<String>) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let r = ctx::ports()?
        .webhooks
        .enable(&user, &id, replay.is_some())
        .await?;
    let queued = r.requeued + r.recovered;
    leptos_axum::redirect(&format!("/webhooks/{id}?notice=enabled&queued={queued}"));
    Ok(())
}

/// Queues again what failed (or was missed) between two days, inclusive.
#[server(prefix = "/rpc", endpoint = "webhooks/replay")]
pub async fn replay_endpoint(id: String, from: String, to: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?
        .webhooks
        .replay_days(&user, &id, &from, &to)
        .await?;
    leptos_axum::redirect(&format!("/webhooks/{id}?notice=replayed"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "webhooks/deliveries")]
pub async fn list_deliveries(filter: DeliveryFilter) -> Result<Page<DeliveryView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.deliveries(&user, &filter).await
}

#[server(prefix = "/rpc", endpoint = "webhooks/delivery")]
pub async fn get_delivery(id: String) -> Result<DeliveryDetail, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.delivery(&user, &id).await
}

#[server(prefix = "/rpc", endpoint = "webhooks/retry")]
pub async fn retry_delivery(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.webhooks.retry_delivery(&user, &id).await?;
    leptos_axum::redirect(&format!("/webhooks/deliveries/{id}?notice=retried"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "webhooks/stats")]
pub async fn load_webhook_stats(endpoint_id: Option<String>) -> Result<WebhookStats, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?
        .webhooks
        .stats(&user, endpoint_id.as_deref(), 14)
        .await
}
