//! `/manage/{token}`: the guest's own page for one booking, made for a phone. Every
//! action is a plain form, so it works with JavaScript off; after each one the page says
//! what happened. A wrong, expired or revoked link gets the same friendly page, which
//! reveals nothing about any booking.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::portal::{PortalCancel, PortalReschedule, load_portal};
use crate::components::form::action_error;
use crate::components::ui::{BTN, BTN_DANGER, Badge, INPUT, LABEL};
use crate::error::AppError;
use crate::model::booking::BookingStatus;
use crate::model::payment::DepositState;
use crate::model::portal::PortalView;

const PANEL: &str = "rounded-xl border border-slate-200 bg-white p-5 shadow-sm";

fn status_tone(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Confirmed | BookingStatus::Completed => "green",
        BookingStatus::Pending => "amber",
        _ => "red",
    }
}

#[component]
pub fn PortalPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let cancel = ServerAction::<PortalCancel>::new();
    let reschedule = ServerAction::<PortalReschedule>::new();
    let data = Resource::new(token, load_portal);
    view! {
        <Title text="Your booking" />
        <main class="mx-auto min-h-screen max-w-lg px-4 py-8">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <Unavailable error=e /> }.into_any(),
                        Ok(v) => view! { <Booking v token=token() cancel reschedule /> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Unavailable(error: AppError) -> impl IntoView {
    // The friendly page keeps the error's status: caches and monitors must not read a
    // dead link as a page that works.
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.status())
    {
        resp.set_status(status);
    }
    let (title, text) = match error {
        AppError::TooManyRequests { detail } => ("Please wait a moment".to_string(), detail),
        AppError::NotFound { .. } => (
            "This link does not work".to_string(),
            "It may have expired after your visit, or a newer link was sent to you. Please use the latest message you received, or contact the business directly.".to_string(),
        ),
        other => ("Something went wrong".to_string(), other.to_string()),
    };
    view! {
        <div class=format!("{PANEL} text-center")>
            <h1 class="text-xl font-semibold">{title}</h1>
            <p class="mt-2 text-slate-600">{text}</p>
        </div>
    }
}

fn guest_notice(n: &str) -> Option<&'static str> {
    match n {
        "guest_cancelled" => Some("Your booking is cancelled. We hope to see you another time."),
        "guest_moved" => Some("Done: your booking has moved. The new time is shown below."),
        "paid" => Some("Thank you: your deposit is paid. It may take a minute to show here."),
        "reminders_off" => Some("Reminders are off: we will not send you any before this booking."),
        "reminders_on" => Some("Reminders are on again."),
        _ => None,
    }
}

#[component]
fn Booking(
    v: PortalView,
    token: String,
    cancel: ServerAction<PortalCancel>,
    reschedule: ServerAction<PortalReschedule>,
) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let from_action = if cancel.value().with(|r| matches!(r, Some(Ok(_)))) {
            Some("Your booking is cancelled. We hope to see you another time.")
        } else if reschedule.value().with(|r| matches!(r, Some(Ok(_)))) {
            Some("Done: your booking has moved. The new time is shown below.")
        } else {
            None
        };
        from_action
            .or_else(|| query.with(|q| q.get("notice")).and_then(|n| guest_notice(&n)))
            .map(|t| view! { <div role="status" class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-emerald-800">{t}</div> })
    };
    let deposit = match (v.deposit, v.deposit_label.clone()) {
        (DepositState::None, _) | (_, None) => None,
        (state, Some(amount)) => Some(format!("{}: {amount}", state.label())),
    };
    view! {
        {notice}
        <p class="text-sm font-medium text-indigo-700">{v.org_name.clone()}</p>
        <h1 class="mt-1 text-2xl font-bold">{format!("Your booking, {}", v.guest_name)}</h1>
        <section class=format!("{PANEL} mt-4")>
            <div class="flex items-start justify-between gap-3">
                <div>
                    <p class="text-lg font-semibold">{v.date_label.clone()}</p>
                    <p class="text-lg">{format!("{} – {}", v.start_time, v.end_time)}</p>
                </div>
                <Badge text=v.status.label() tone=status_tone(v.status) />
            </div>
            <p class="mt-2 text-slate-700">{format!("{} · party of {}", v.resource_name, v.party_size)}</p>
            <p class="mt-1 text-xs text-slate-500">{format!("Times are local to {} ({}).", v.org_name, v.time_zone)}</p>
            {deposit.map(|d| view! { <p class="mt-3 font-medium">{d}</p> })}
            {v.can_pay.then(|| view! {
                // A plain form: the answer is a redirect to Stripe's payment page.
                <form method="post" action="/rpc/portal/pay" class="mt-3">
                    <input type="hidden" name="token" value=token.clone() />
                    <button class=format!("{BTN} w-full py-3 text-base") type="submit">
                        {format!("Pay the deposit ({})", v.deposit_label.clone().unwrap_or_default())}
                    </button>
                </form>
            })}
            <a class="mt-4 inline-block text-sm font-medium text-indigo-700 hover:underline" href=format!("/manage/{token}/booking.ics")>
                "Add to my calendar (.ics)"
            </a>
            {matches!(v.status, BookingStatus::Pending | BookingStatus::Confirmed).then(|| view! {
                // A plain form, so it works the same with or without JavaScript.
                <form method="post" action="/rpc/portal/reminders" class="mt-3 flex flex-wrap items-center justify-between gap-2 border-t border-slate-100 pt-3 text-sm">
                    <input type="hidden" name="token" value=token.clone() />
                    <input type="hidden" name="wanted" value=if v.reminders_off { "on" } else { "off" } />
                    <span class="text-slate-600">{if v.reminders_off { "Reminders before this booking: off" } else { "We may send you a reminder before this booking." }}</span>
                    <button class="font-medium text-indigo-700 hover:underline" type="submit" id="reminders-toggle">
                        {if v.reminders_off { "Turn reminders back on" } else { "No reminders, please" }}
                    </button>
                </form>
            })}
        </section>
        <Reschedule v=v.clone() token=token.clone() reschedule />
        <Cancel v token cancel />
    }
}

#[component]
fn Reschedule(
    v: PortalView,
    token: String,
    reschedule: ServerAction<PortalReschedule>,
) -> impl IntoView {
    if let Some(why) = v.reschedule_blocked {
        return view! {
            <section class=format!("{PANEL} mt-4")>
                <h2 class="font-semibold">"Change the time"</h2>
                <p class="mt-1 text-sm text-slate-600">{why}</p>
            </section>
        }
        .into_any();
    }
    let error = action_error(reschedule);
    let field = move |name: &'static str| move || error.get().and_then(|e| e.field_message(name));
    let general = move || {
        error
            .get()
            .filter(|e| {
                e.field_message("date").is_none() && e.field_message("start_time").is_none()
            })
            .map(|e| e.to_string())
    };
    view! {
        <section class=format!("{PANEL} mt-4")>
            <h2 class="font-semibold">"Change the time"</h2>
            <ActionForm action=reschedule attr:class="mt-3 space-y-3">
                <input type="hidden" name="token" value=token />
                <div class="grid grid-cols-2 gap-3">
                    <div>
                        <label class=LABEL for="new-date">"Day"</label>
                        <input class=INPUT id="new-date" name="input[date]" type="date" value=v.date.clone() required=true
                            aria-invalid=move || field("date")().is_some().to_string() aria-describedby="new-date-error" />
                    </div>
                    <div>
                        <label class=LABEL for="new-time">"Start"</label>
                        <input class=INPUT id="new-time" name="input[start_time]" type="time" step="300" value=v.start_time.clone() required=true
                            aria-invalid=move || field("start_time")().is_some().to_string() aria-describedby="new-time-error" />
                    </div>
                </div>
                <p id="new-date-error" class="text-sm text-rose-700">{field("date")}</p>
                <p id="new-time-error" class="text-sm text-rose-700">{field("start_time")}</p>
                <p class="text-sm text-rose-700" role="alert">{general}</p>
                <button class=format!("{BTN} w-full py-3 text-base") type="submit" disabled=move || reschedule.pending().get()>
                    {move || if reschedule.pending().get() { "Checking availability…" } else { "Move my booking" }}
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn Cancel(v: PortalView, token: String, cancel: ServerAction<PortalCancel>) -> impl IntoView {
    if let Some(why) = v.cancel_blocked {
        return view! {
            <section class=format!("{PANEL} mt-4")>
                <h2 class="font-semibold">"Cancel"</h2>
                <p class="mt-1 text-sm text-slate-600">{why}</p>
            </section>
        }
        .into_any();
    }
    let error = action_error(cancel);
    view! {
        <section class=format!("{PANEL} mt-4")>
            <h2 class="font-semibold">"Cancel"</h2>
            {v.cancel_until.map(|t| view! { <p class="mt-1 text-sm text-slate-600">{format!("You can cancel here until {t}.")}</p> })}
            <ActionForm action=cancel attr:class="mt-3 space-y-3">
                <input type="hidden" name="token" value=token />
                <div>
                    <label class=LABEL for="cancel-reason">"Reason (optional)"</label>
                    <textarea class=INPUT id="cancel-reason" name="reason" rows="2" maxlength="500"></textarea>
                </div>
                <p class="text-sm text-rose-700" role="alert">{move || error.get().map(|e| e.to_string())}</p>
                <button class=format!("{BTN_DANGER} w-full py-3 text-base") type="submit" disabled=move || cancel.pending().get()>
                    "Cancel my booking"
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}
