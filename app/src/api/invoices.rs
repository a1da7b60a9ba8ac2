use leptos::prelude::*;

use crate::error::AppError;
use crate::model::invoice::{InvoiceFormOptions, InvoiceInput, InvoiceView};
use crate::model::page::Page;

#[server(prefix = "/rpc", endpoint = "invoices/list")]
pub async fn list_invoices(
    #[server(default)] status: String,
    page: u64,
) -> Result<Page<InvoiceView>, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.invoices.list(&user, &status, page).await
}

#[server(prefix = "/rpc", endpoint = "invoices/get")]
pub async fn get_invoice(id: String) -> Result<InvoiceView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.invoices.get(&user, &id).await
}

#[server(prefix = "/rpc", endpoint = "invoices/form-options")]
pub async fn invoice_options() -> Result<InvoiceFormOptions, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.invoices.form_options(&user).await
}

#[server(prefix = "/rpc", endpoint = "invoices/create")]
pub async fn create_invoice(input: InvoiceInput) -> Result<InvoiceView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let invoice = ctx::ports()?.invoices.create(&user, &input).await?;
    leptos_axum::redirect(&format!("/invoices/{}", invoice.id));
    Ok(invoice)
}

#[server(prefix = "/rpc", endpoint = "invoices/set-status")]
pub async fn set_invoice_status(id: String, status: String) -> Result<InvoiceView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let status = crate::model::invoice::InvoiceStatus::parse(&status)
        .ok_or_else(|| AppError::field("status", "Unknown invoice status."))?;
    let invoice = ctx::ports()?
        .invoices
        .set_status(&user, &id, status)
        .await?;
    leptos_axum::redirect(&format!("/invoices/{}", invoice.id));
    Ok(invoice)
}
