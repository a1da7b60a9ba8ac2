//! The HTML shell and the route table.
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};

use crate::components::layout::DashboardLayout;
use crate::pages::{
    bookings, calendar, calendar_sync, clients, integrations, invoices, jobs, login::LoginPage,
    notification_templates, notifications, portal::PortalPage, settings, stripe,
    webhook_deliveries, webhooks,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let scripts = ships_wasm().then(|| view! { <HydrationScripts options islands=true /> });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                {scripts}
                <MetaTags />
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// Whether this page has islands and so needs the WASM. The guest portal and the
/// payment result pages are plain HTML and forms: a guest's phone downloads no script.
fn ships_wasm() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().is_none_or(|p| {
            let path = p.uri.path();
            !(path.starts_with("/manage/") || path.starts_with("/payment/"))
        })
    }
    #[cfg(not(feature = "ssr"))]
    true
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page renders completely on the server (Async), so it is whole and usable
    // before the WASM loads, and with JavaScript off.
    let ssr = SsrMode::Async;
    view! {
        <Stylesheet id="leptos" href="/pkg/hitch.css" />
        <Title formatter=|t: String| if t.is_empty() { "Hitch".to_string() } else { format!("{t} · Hitch") } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage ssr=ssr.clone() />
                <Route path=path!("/manage/:token") view=PortalPage ssr=ssr.clone() />
                <Route path=path!("/payment/thanks") view=stripe::PaymentThanksPage ssr=ssr.clone() />
                <Route path=path!("/payment/cancelled") view=stripe::PaymentCancelledPage ssr=ssr.clone() />
                <ParentRoute path=path!("") view=DashboardLayout ssr=ssr.clone()>
                    <Route path=path!("") view=|| view! { <Redirect path="/bookings" /> } ssr=ssr.clone() />
                    <Route path=path!("bookings") view=bookings::BookingsPage ssr=ssr.clone() />
                    <Route path=path!("bookings/new") view=bookings::NewBookingPage ssr=ssr.clone() />
                    <Route path=path!("bookings/:id") view=bookings::EditBookingPage ssr=ssr.clone() />
                    <Route path=path!("calendar") view=calendar::CalendarPage ssr=ssr.clone() />
                    <Route path=path!("calendar/feeds") view=calendar::FeedsPage ssr=ssr.clone() />
                    <Route path=path!("calendar/sync") view=calendar_sync::CalendarSyncPage ssr=ssr.clone() />
                    <Route path=path!("clients") view=clients::ClientsPage ssr=ssr.clone() />
                    <Route path=path!("clients/new") view=clients::NewClientPage ssr=ssr.clone() />
                    <Route path=path!("clients/:id") view=clients::EditClientPage ssr=ssr.clone() />
                    <Route path=path!("invoices") view=invoices::InvoicesPage ssr=ssr.clone() />
                    <Route path=path!("invoices/new") view=invoices::NewInvoicePage ssr=ssr.clone() />
                    <Route path=path!("invoices/:id") view=invoices::InvoicePage ssr=ssr.clone() />
                    <Route path=path!("settings") view=settings::SettingsPage ssr=ssr.clone() />
                    <Route path=path!("integrations") view=integrations::IntegrationsPage ssr=ssr.clone() />
                    <Route path=path!("integrations/stripe") view=stripe::StripeSettingsPage ssr=ssr.clone() />
                    <Route path=path!("jobs") view=jobs::JobsPage ssr=ssr.clone() />
                    <Route path=path!("notifications") view=notifications::NotificationsPage ssr=ssr.clone() />
                    <Route path=path!("notifications/templates") view=notification_templates::TemplatesPage ssr=ssr.clone() />
                    <Route path=path!("webhooks") view=webhooks::WebhooksPage ssr=ssr.clone() />
                    <Route path=path!("webhooks/new") view=webhooks::NewEndpointPage ssr=ssr.clone() />
                    <Route path=path!("webhooks/deliveries") view=webhook_deliveries::DeliveriesPage ssr=ssr.clone() />
                    <Route path=path!("webhooks/deliveries/:id") view=webhook_deliveries::DeliveryPage ssr=ssr.clone() />
                    <Route path=path!("webhooks/:id") view=webhooks::EndpointPage ssr=ssr.clone() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="mx-auto max-w-md p-8 text-center">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <p class="mt-2 text-slate-600">"The address may be mistyped, or the page has moved."</p>
            <a class="mt-6 inline-block text-indigo-700 underline" href="/bookings">"Go to bookings"</a>
        </main>
    }
}
