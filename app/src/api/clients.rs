use leptos::prelude::*;

use crate::error::AppError;
use crate::model::client::{ClientInput, ClientView};
use crate::model::page::Page;

#[server(prefix = "/rpc", endpoint = "clients/list")]
pub async fn list_clients(query: String, page: u64) -> Result<Page<ClientView>, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.clients.list(&user, &query, page).await
}

#[server(prefix = "/rpc", endpoint = "clients/get")]
pub async fn get_client(id: String) -> Result<ClientView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.clients.get(&user, &id).await
}

/// Creates a client when `id` is empty, otherwise updates that client.
#[server(prefix = "/rpc", endpoint = "clients/save")]
pub async fn save_client(
    #[server(default)] id: String,
    input: ClientInput,
) -> Result<ClientView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let ports = ctx::ports()?;
    let client = if id.is_empty() {
        ports.clients.create(&user, &input).await?
    } else {
        ports.clients.update(&user, &id, &input).await?
    };
    leptos_axum::redirect("/clients?notice=saved");
    Ok(client)
}
