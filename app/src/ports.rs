//! Service traits the server implements over the database. Server functions take them
//! from the Leptos context, so `app` (and the WASM bundle) never depend on SeaORM.
use std::sync::Arc;

use async_trait::async_trait;
use http::request::Parts;

use crate::error::AppError;
use crate::model::auth::CurrentUser;
use crate::model::booking::{BookingFilter, BookingFormOptions, BookingInput, BookingView};
use crate::model::client::{ClientInput, ClientView};
use crate::model::invoice::{InvoiceFormOptions, InvoiceInput, InvoiceStatus, InvoiceView};
use crate::model::org::{AuditEntry, OrgSettings, OrgSettingsInput};
use crate::model::page::Page;
use crate::model::resource::ResourceView;

pub type AppResult<T> = Result<T, AppError>;

#[async_trait]
pub trait AuthPort: Send + Sync {
    /// Checks the password and starts a session on the request's cookie.
    async fn login(&self, parts: &Parts, email: &str, password: &str) -> AppResult<CurrentUser>;
    async fn logout(&self, parts: &Parts) -> AppResult<()>;
    async fn current_user(&self, parts: &Parts) -> AppResult<Option<CurrentUser>>;
}

#[async_trait]
pub trait BookingsPort: Send + Sync {
    async fn list(
        &self,
        user: &CurrentUser,
        filter: &BookingFilter,
    ) -> AppResult<Page<BookingView>>;
    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<BookingView>;
    async fn create(&self, user: &CurrentUser, input: &BookingInput) -> AppResult<BookingView>;
    /// Edits or reschedules; `revision` must match the stored one.
    async fn update(
        &self,
        user: &CurrentUser,
        id: &str,
        revision: i64,
        input: &BookingInput,
    ) -> AppResult<BookingView>;
    async fn cancel(
        &self,
        user: &CurrentUser,
        id: &str,
        revision: i64,
        reason: &str,
    ) -> AppResult<BookingView>;
    async fn form_options(&self, user: &CurrentUser) -> AppResult<BookingFormOptions>;
}

#[async_trait]
pub trait ClientsPort: Send + Sync {
    async fn list(&self, user: &CurrentUser, query: &str, page: u64)
    -> AppResult<Page<ClientView>>;
    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<ClientView>;
    async fn create(&self, user: &CurrentUser, input: &ClientInput) -> AppResult<ClientView>;
    async fn update(
        &self,
        user: &CurrentUser,
        id: &str,
        input: &ClientInput,
    ) -> AppResult<ClientView>;
}

#[async_trait]
pub trait InvoicesPort: Send + Sync {
    async fn list(
        &self,
        user: &CurrentUser,
        status: &str,
        page: u64,
    ) -> AppResult<Page<InvoiceView>>;
    async fn get(&self, user: &CurrentUser, id: &str) -> AppResult<InvoiceView>;
    async fn create(&self, user: &CurrentUser, input: &InvoiceInput) -> AppResult<InvoiceView>;
    async fn set_status(
        &self,
        user: &CurrentUser,
        id: &str,
        status: InvoiceStatus,
    ) -> AppResult<InvoiceView>;
    async fn form_options(&self, user: &CurrentUser) -> AppResult<InvoiceFormOptions>;
}

#[async_trait]
pub trait OrgPort: Send + Sync {
    async fn settings(&self, user: &CurrentUser) -> AppResult<OrgSettings>;
    async fn update(&self, user: &CurrentUser, input: &OrgSettingsInput) -> AppResult<OrgSettings>;
    async fn resources(&self, user: &CurrentUser) -> AppResult<Vec<ResourceView>>;
    async fn audit(&self, user: &CurrentUser, page: u64) -> AppResult<Page<AuditEntry>>;
}

/// Everything the server functions need, provided once per request as context.
#[derive(Clone)]
pub struct Ports {
    pub auth: Arc<dyn AuthPort>,
    pub bookings: Arc<dyn BookingsPort>,
    pub clients: Arc<dyn ClientsPort>,
    pub invoices: Arc<dyn InvoicesPort>,
    pub org: Arc<dyn OrgPort>,
}
