//! Service traits the server implements over the database. Server functions take them
//! from the Leptos context, so `app` (and the WASM bundle) never depend on SeaORM.
use std::sync::Arc;

use async_trait::async_trait;
use http::request::Parts;

use crate::error::AppError;
use crate::model::api_scope::ApiScope;
use crate::model::auth::CurrentUser;
use crate::model::booking::{
    BookingFilter, BookingFormOptions, BookingInput, BookingListItem, BookingView,
};
use crate::model::calendar::{Agenda, AgendaQuery, FeedInput, FeedView};
use crate::model::calendar_sync::{CalDavInput, CalendarSyncOverview, ConnectionSettings};
use crate::model::client::{ClientInput, ClientView};
use crate::model::invoice::{InvoiceFormOptions, InvoiceInput, InvoiceStatus, InvoiceView};
use crate::model::notification::{
    ChannelInput, ChannelStats, ChannelView, NotificationFilter, NotificationView, Preview,
    RuleInput, RuleView, TemplateInput, TemplateView,
};
use crate::model::org::{AuditEntry, OrgSettings, OrgSettingsInput};
use crate::model::page::Page;
use crate::model::payment::{
    PaymentLinkView, PaymentOverview, RefundInput, StripeSettingsInput, StripeSettingsView, Subject,
};
use crate::model::platform::{
    ApiKeyView, EventTypeView, IntegrationAlert, JobsOverview, NewApiKey,
};
use crate::model::portal::{GuestLinkView, PortalView, RescheduleInput};
use crate::model::resource::ResourceView;
use crate::model::webhook::{
    DeliveryDetail, DeliveryFilter, DeliveryView, EndpointInput, EndpointView, EndpointWithSecret,
    ReplayResult, WebhookStats,
};

pub type AppResult<T> = Result<T, AppError>;

#[async_trait]
pub trait AuthPort: Send + Sync {
    /// Checks the password and starts a session on the request's cookie.
    async fn login(&self, parts: &Parts, email: &str, password: &str) -> AppResult<CurrentUser>;
    async fn logout(&self, parts: &Parts) -> AppResult<()>;
    async fn current_user(&self, parts: &Parts) -> AppResult<Option<CurrentUser>>;
    /// Checks the current password, sets the new one and ends the user's other
    /// sessions (this one stays signed in). Returns how many sessions ended.
    async fn change_password(
        &self,
        parts: &Parts,
        user: &CurrentUser,
        current: &str,
        new: &str,
    ) -> AppResult<u64>;
}

#[async_trait]
pub trait BookingsPort: Send + Sync {
    async fn list(
        &self,
        user: &CurrentUser,
        filter: &BookingFilter,
    ) -> AppResult<Page<BookingListItem>>;
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

#[async_trait]
pub trait PlatformPort: Send + Sync {
    async fn jobs(&self, user: &CurrentUser) -> AppResult<JobsOverview>;
    async fn retry_job(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    async fn api_keys(&self, user: &CurrentUser) -> AppResult<Vec<ApiKeyView>>;
    async fn create_api_key(
        &self,
        user: &CurrentUser,
        name: &str,
        scope: ApiScope,
    ) -> AppResult<NewApiKey>;
    async fn revoke_api_key(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    async fn event_types(&self) -> AppResult<Vec<EventTypeView>>;
    /// What every integration needs an admin for (the banner on every page); empty
    /// for staff.
    async fn alerts(&self, user: &CurrentUser) -> AppResult<Vec<IntegrationAlert>>;
}

/// Outbound webhook endpoints, their deliveries, replay and statistics. Writes need an
/// owner or admin.
#[async_trait]
pub trait WebhooksPort: Send + Sync {
    async fn endpoints(&self, user: &CurrentUser) -> AppResult<Vec<EndpointView>>;
    async fn endpoint(&self, user: &CurrentUser, id: &str) -> AppResult<EndpointView>;
    /// `source`: `dashboard`, `api` or `zapier`.
    async fn create_endpoint(
        &self,
        user: &CurrentUser,
        input: &EndpointInput,
        source: &str,
    ) -> AppResult<EndpointWithSecret>;
    async fn update_endpoint(
        &self,
        user: &CurrentUser,
        id: &str,
        input: &EndpointInput,
    ) -> AppResult<EndpointView>;
    async fn delete_endpoint(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    /// A new secret; the old one keeps signing for 24 hours.
    async fn rotate_secret(&self, user: &CurrentUser, id: &str) -> AppResult<EndpointWithSecret>;
    async fn send_test(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryView>;
    /// Turns an endpoint back on; with `replay`, everything that failed (or was never
    /// sent) since it broke is queued again.
    async fn enable(&self, user: &CurrentUser, id: &str, replay: bool) -> AppResult<ReplayResult>;
    async fn deliveries(
        &self,
        user: &CurrentUser,
        filter: &DeliveryFilter,
    ) -> AppResult<Page<DeliveryView>>;
    async fn delivery(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryDetail>;
    async fn retry_delivery(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryView>;
    /// Queues again the endpoint's failed deliveries in `[from_ms, to_ms)` (bounded).
    async fn replay(
        &self,
        user: &CurrentUser,
        endpoint_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> AppResult<ReplayResult>;
    /// Like `replay`, for whole days (`YYYY-MM-DD`, inclusive) in the organization's
    /// time zone: what the dashboard form sends.
    async fn replay_days(
        &self,
        user: &CurrentUser,
        endpoint_id: &str,
        from: &str,
        to: &str,
    ) -> AppResult<ReplayResult>;
    /// Attempts over the last `days` days, overall or for one endpoint.
    async fn stats(
        &self,
        user: &CurrentUser,
        endpoint_id: Option<&str>,
        days: u32,
    ) -> AppResult<WebhookStats>;
    async fn export_csv(&self, user: &CurrentUser, filter: &DeliveryFilter) -> AppResult<String>;
}

#[async_trait]
pub trait PaymentsPort: Send + Sync {
    async fn stripe_settings(&self, user: &CurrentUser) -> AppResult<StripeSettingsView>;
    /// Saves the keys (empty fields keep the stored ones), then checks them with Stripe.
    async fn save_stripe_settings(
        &self,
        user: &CurrentUser,
        input: &StripeSettingsInput,
    ) -> AppResult<StripeSettingsView>;
    async fn test_stripe(&self, user: &CurrentUser) -> AppResult<StripeSettingsView>;
    async fn remove_stripe(&self, user: &CurrentUser) -> AppResult<()>;
    /// The links made for an invoice or a deposit (newest first), and whether a new one
    /// can be made.
    async fn overview(
        &self,
        user: &CurrentUser,
        subject: Subject,
        subject_id: &str,
    ) -> AppResult<PaymentOverview>;
    /// Creates a link, or returns the one still active.
    async fn create_link(
        &self,
        user: &CurrentUser,
        subject: Subject,
        subject_id: &str,
    ) -> AppResult<PaymentLinkView>;
    async fn expire_link(&self, user: &CurrentUser, link_id: &str) -> AppResult<PaymentLinkView>;
    async fn refund(
        &self,
        user: &CurrentUser,
        link_id: &str,
        input: &RefundInput,
    ) -> AppResult<PaymentLinkView>;
}

/// The guest portal (guests hold a token, not a session) and the staff side of its links.
#[async_trait]
pub trait PortalPort: Send + Sync {
    /// The booking behind a manage token. `parts` carries the client's address, for
    /// the limit on failed guesses.
    async fn view(&self, parts: &Parts, token: &str) -> AppResult<PortalView>;
    async fn cancel(&self, parts: &Parts, token: &str, reason: &str) -> AppResult<PortalView>;
    async fn reschedule(
        &self,
        parts: &Parts,
        token: &str,
        input: &RescheduleInput,
    ) -> AppResult<PortalView>;
    /// The Stripe page where the guest pays the deposit.
    async fn pay(&self, parts: &Parts, token: &str) -> AppResult<String>;
    /// The guest turns reminders off (or back on); audited as the guest.
    async fn set_reminders(&self, parts: &Parts, token: &str, wanted: bool) -> AppResult<()>;
    async fn guest_link(
        &self,
        user: &CurrentUser,
        booking_id: &str,
    ) -> AppResult<Option<GuestLinkView>>;
    /// Makes a new link for the booking; any earlier one stops working.
    async fn issue_guest_link(
        &self,
        user: &CurrentUser,
        booking_id: &str,
    ) -> AppResult<GuestLinkView>;
    async fn revoke_guest_link(&self, user: &CurrentUser, booking_id: &str) -> AppResult<()>;
}

/// Notification channels, templates, rules and the log (all manager-only).
#[async_trait]
pub trait NotificationsPort: Send + Sync {
    async fn channels(&self, user: &CurrentUser) -> AppResult<Vec<ChannelView>>;
    async fn create_channel(
        &self,
        user: &CurrentUser,
        input: &ChannelInput,
    ) -> AppResult<ChannelView>;
    async fn set_channel_enabled(
        &self,
        user: &CurrentUser,
        id: &str,
        enabled: bool,
    ) -> AppResult<ChannelView>;
    async fn delete_channel(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    /// Sends a sample message now and returns its log row.
    async fn send_test(&self, user: &CurrentUser, id: &str) -> AppResult<NotificationView>;
    /// Every (event type, family) pair, customized or default.
    async fn templates(&self, user: &CurrentUser) -> AppResult<Vec<TemplateView>>;
    async fn template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView>;
    /// Refuses an unknown variable or a syntax error with its line and column.
    async fn save_template(
        &self,
        user: &CurrentUser,
        input: &TemplateInput,
    ) -> AppResult<TemplateView>;
    async fn reset_template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView>;
    async fn preview(&self, user: &CurrentUser, input: &TemplateInput) -> AppResult<Preview>;
    async fn rules(&self, user: &CurrentUser) -> AppResult<Vec<RuleView>>;
    async fn create_rule(&self, user: &CurrentUser, input: &RuleInput) -> AppResult<RuleView>;
    async fn set_rule_enabled(&self, user: &CurrentUser, id: &str, enabled: bool) -> AppResult<()>;
    async fn delete_rule(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    async fn log(
        &self,
        user: &CurrentUser,
        filter: &NotificationFilter,
    ) -> AppResult<Page<NotificationView>>;
    async fn retry(&self, user: &CurrentUser, id: &str) -> AppResult<NotificationView>;
    async fn stats(&self, user: &CurrentUser, days: u32) -> AppResult<Vec<ChannelStats>>;
    async fn export_log_csv(&self, user: &CurrentUser) -> AppResult<String>;
    async fn export_stats_csv(&self, user: &CurrentUser) -> AppResult<String>;
}

/// The calendar view (any signed-in user) and feeds (manager-only): private `.ics`
/// links for calendar apps.
#[async_trait]
pub trait CalendarPort: Send + Sync {
    async fn agenda(&self, user: &CurrentUser, query: &AgendaQuery) -> AppResult<Agenda>;
    async fn feeds(&self, user: &CurrentUser) -> AppResult<Vec<FeedView>>;
    async fn create_feed(&self, user: &CurrentUser, input: &FeedInput) -> AppResult<FeedView>;
    /// The link stops working at once.
    async fn revoke_feed(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    /// A new link for the same feed; the old one stops working.
    async fn rotate_feed(&self, user: &CurrentUser, id: &str) -> AppResult<FeedView>;
}

/// Two-way sync with connected calendars (Google, CalDAV).
#[async_trait]
pub trait CalendarSyncPort: Send + Sync {
    async fn overview(&self, user: &CurrentUser) -> AppResult<CalendarSyncOverview>;
    async fn update_connection(
        &self,
        user: &CurrentUser,
        id: &str,
        settings: &ConnectionSettings,
    ) -> AppResult<()>;
    /// Revokes the grant and forgets the connection, its busy time and event links.
    async fn disconnect(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    async fn sync_now(&self, user: &CurrentUser, id: &str) -> AppResult<()>;
    /// Connects a CalDAV account after checking it answers with these credentials.
    /// Returns the connection's id.
    async fn connect_caldav(&self, user: &CurrentUser, input: &CalDavInput) -> AppResult<String>;
    /// Accept applies the calendar's change to the booking; reject puts Hitch's back.
    async fn decide(&self, user: &CurrentUser, conflict_id: &str, accept: bool) -> AppResult<()>;
}

/// Everything the server functions need, provided once per request as context.
#[derive(Clone)]
pub struct Ports {
    pub auth: Arc<dyn AuthPort>,
    pub bookings: Arc<dyn BookingsPort>,
    pub calendar: Arc<dyn CalendarPort>,
    pub calendar_sync: Arc<dyn CalendarSyncPort>,
    pub clients: Arc<dyn ClientsPort>,
    pub invoices: Arc<dyn InvoicesPort>,
    pub notifications: Arc<dyn NotificationsPort>,
    pub org: Arc<dyn OrgPort>,
    pub payments: Arc<dyn PaymentsPort>,
    pub platform: Arc<dyn PlatformPort>,
    pub portal: Arc<dyn PortalPort>,
    pub webhooks: Arc<dyn WebhooksPort>,
}
