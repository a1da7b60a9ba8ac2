//! Shared look: class strings and small display components.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::page::Page;

pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-base shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200 aria-[invalid=true]:border-rose-500";
pub const LABEL: &str = "block text-sm font-medium text-slate-700";
pub const BTN: &str = "inline-flex items-center justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-300 disabled:opacity-60";
pub const BTN_SECONDARY: &str = "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-700 shadow-sm hover:bg-slate-50";
pub const BTN_DANGER: &str = "inline-flex items-center justify-center rounded-md border border-rose-300 bg-white px-4 py-2 text-sm font-semibold text-rose-700 shadow-sm hover:bg-rose-50";
pub const CARD: &str = "rounded-lg border border-slate-200 bg-white shadow-sm";

/// Page title row with an optional action on the right.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <div class="mb-6 flex flex-wrap items-end justify-between gap-3">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-600">{s}</p> })}
            </div>
            {children.map(|c| c())}
        </div>
    }
}

/// A coloured pill for a status word.
#[component]
pub fn Badge(#[prop(into)] text: String, tone: &'static str) -> impl IntoView {
    let class = match tone {
        "green" => "bg-emerald-100 text-emerald-800",
        "amber" => "bg-amber-100 text-amber-800",
        "red" => "bg-rose-100 text-rose-800",
        "blue" => "bg-sky-100 text-sky-800",
        _ => "bg-slate-100 text-slate-700",
    };
    view! { <span class=format!("inline-flex rounded-full px-2 py-0.5 text-xs font-medium {class}")>{text}</span> }
}

/// Success banner driven by `?notice=` after a redirect, so it also shows without JS.
#[component]
pub fn Notice() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let text = move || {
        query
            .with(|q| q.get("notice"))
            .and_then(|n| match n.as_str() {
                "created" => Some("Booking created."),
                "updated" => Some("Booking updated."),
                "cancelled" => Some("Booking cancelled."),
                "saved" => Some("Saved."),
                "retried" => Some("The job is queued again and will run in a moment."),
                "revoked" => Some("API key revoked. Requests using it are refused from now on."),
                "endpoint_deleted" => Some("Endpoint deleted. Nothing more is sent to it."),
                "enabled" => Some("Endpoint enabled. Deliveries resume, and anything queued for replay is on its way."),
                "created_no_js" => Some("Endpoint added. Its signing secret is shown only right after it is made, which needs JavaScript: turn it on and use Rotate secret to get one."),
                "replayed" => Some("Replay queued: those deliveries go out again now; follow them under Recent deliveries."),
                "test_sent" => Some("Test event sent. This page updates when the receiver answers."),
                "stripe_saved" => Some("Stripe keys saved. The connection check below says whether Stripe accepted them."),
                "stripe_removed" => Some("Stripe keys removed. No new payment links can be made until you add keys again."),
                "link_created" => Some("Payment link created: copy it below and send it to the payer."),
                "link_expired" => Some("Payment link expired: it no longer takes payments."),
                "guest_link" => Some("New guest link created: copy it below. Any earlier link no longer works."),
                "guest_link_revoked" => Some("Guest link revoked: it no longer opens this booking."),
                "refunded" => Some("Refund sent to Stripe. The payer gets the money back in 5–10 days."),
                "channel_added" => Some("Channel connected, with a first set of rules. Send a test to check it."),
                "channel_deleted" => Some("Channel deleted, with its rules and log."),
                "test_failed" => Some("The test message was not delivered: the log below says what the provider answered."),
                "template_saved" => Some("Template saved. New messages use it from now on."),
                "template_reset" => Some("Back to Hitch's default template."),
                "rule_added" => Some("Rule added."),
                "feed_created" => Some("Feed created: copy its link into your calendar app (\"Subscribe to calendar\" or \"From URL\")."),
                "feed_rotated" => Some("New link made: the old one stops working now. Subscribe again with the new link."),
                "feed_revoked" => Some("Feed revoked: calendars subscribed to it get nothing more."),
                "calendar_connected" => Some("Google Calendar connected. Hitch is reading its calendars now; bookings appear there within a minute."),
                "caldav_connected" => Some("Calendar connected. Hitch is reading its calendars now; bookings appear there within a minute."),
                "password_changed" => Some("Password changed. Every other place you were signed in is signed out."),
                "calendar_saved" => Some("Saved. The calendars are read again with the new choices."),
                "calendar_syncing" => Some("Sync started: this page shows the result when it is done."),
                "calendar_disconnected" => Some("Calendar disconnected: Hitch's access was revoked, and its busy times no longer block slots."),
                "change_accepted" => Some("Change accepted: the booking now matches the calendar."),
                "change_rejected" => Some("Change rejected: Hitch puts the booking back in the calendar."),
                _ => None,
            })
    };
    move || {
        text().map(|t| {
            view! {
                <div role="status" class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800">
                    {t}
                </div>
            }
        })
    }
}

/// An error that belongs to no single field (or the summary of field errors).
#[component]
pub fn ErrorBox(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <div role="alert" class="mb-4 rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-800">
                    {e.to_string()}
                </div>
            }
        })
    }
}

/// A failed page load: says what happened and offers the way out.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    let signed_out = matches!(error, AppError::Unauthenticated);
    view! {
        <div role="alert" class="rounded-md border border-rose-200 bg-rose-50 p-4 text-rose-800">
            <p>{error.to_string()}</p>
            {signed_out.then(|| view! { <a class="mt-2 inline-block underline" href="/login">"Sign in"</a> })}
        </div>
    }
}

/// Empty state for a list.
#[component]
pub fn Empty(title: &'static str, #[prop(into)] hint: String) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center">
            <p class="font-medium text-slate-800">{title}</p>
            <p class="mt-1 text-sm text-slate-600">{hint}</p>
        </div>
    }
}

/// "Page 2 of 5" with previous / next links that keep the other query parameters.
#[component]
pub fn Pager<T: 'static>(page: Page<T>, base: String) -> impl IntoView {
    let sep = if base.contains('?') { "&" } else { "?" };
    let link = move |p: u64| format!("{base}{sep}page={p}");
    let (prev, next) = (
        page.has_prev().then(|| link(page.page - 1)),
        page.has_next().then(|| link(page.page + 1)),
    );
    view! {
        <nav class="mt-4 flex items-center justify-between text-sm text-slate-600" aria-label="Pages">
            <span>{format!("Page {} of {} · {} in all", page.page, page.pages(), page.total)}</span>
            <span class="flex gap-2">
                {prev.map(|h| view! { <a class=BTN_SECONDARY href=h rel="prev">"Previous"</a> })}
                {next.map(|h| view! { <a class=BTN_SECONDARY href=h rel="next">"Next"</a> })}
            </span>
        </nav>
    }
}
