//! Bookings: the day list with filters, and the create / edit / reschedule / cancel forms.
use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::bookings::{
    CancelBooking, CreateBooking, UpdateBooking, booking_options, get_booking, list_bookings,
};
use crate::components::form::{SelectField, TextField, action_error};
use crate::components::guest_link::GuestLinkCard;
use crate::components::live::Live;
use crate::components::payment::PaymentPanel;
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader, Pager,
};
use crate::error::AppError;
use crate::model::booking::{
    BookingFilter, BookingFormOptions, BookingListItem, BookingStatus, BookingView, guests,
};
use crate::model::page::parse_page;
use crate::model::payment::Subject;

pub fn status_tone(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Confirmed => "green",
        BookingStatus::Pending => "amber",
        BookingStatus::Cancelled | BookingStatus::NoShow => "red",
        BookingStatus::Completed => "blue",
    }
}

#[component]
pub fn BookingsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| BookingFilter {
            day: q.get("day").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            page: parse_page(q.get("page").as_deref()),
        })
    };
    let data = Resource::new(filter, list_bookings);
    view! {
        // Another tab, the API or a guest changing a booking refreshes this list.
        <Live watch=vec![("booking", None)] />
        <PageHeader title="Bookings">
            <a class=BTN href="/bookings/new">"New booking"</a>
        </PageHeader>
        <Notice />
        <form method="get" action="/bookings" class=format!("{CARD} mb-4 flex flex-wrap items-end gap-3 p-3")>
            <div>
                <label class=LABEL for="day">"Day"</label>
                <input class=INPUT type="date" id="day" name="day" value=move || filter().day />
            </div>
            <div>
                <label class=LABEL for="status">"Status"</label>
                <select class=INPUT id="status" name="status">
                    <option value="">"Any status"</option>
                    {move || {
                        let current = filter().status;
                        BookingStatus::ALL
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str() selected=current == s.as_str()>{s.label()}</option> })
                            .collect_view()
                    }}
                </select>
            </div>
            <button class=BTN_SECONDARY type="submit">"Show"</button>
            <a class="px-2 py-2 text-sm text-indigo-700 hover:underline" href="/bookings">"Upcoming"</a>
        </form>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading bookings…"</p> }>
            {move || Suspend::new(async move {
                let f = filter();
                // `EitherOf3` rather than `into_any()`: erasing the type makes Leptos copy
                // every row's static text (each class attribute) into a new allocation.
                match data.await {
                    Err(e) => EitherOf3::A(view! { <LoadError error=e /> }),
                    Ok(page) if page.items.is_empty() => {
                        let hint = if f.day.is_empty() && f.status.is_empty() {
                            "Nothing coming up. Bookings you add appear here.".to_string()
                        } else {
                            "No bookings match these filters.".to_string()
                        };
                        EitherOf3::B(view! { <Empty title="No bookings" hint /> })
                    }
                    Ok(mut page) => {
                        let base = format!("/bookings?day={}&status={}", f.day, f.status);
                        // The pager needs only the numbers.
                        let items = std::mem::take(&mut page.items);
                        EitherOf3::C(view! {
                            <ul class=format!("{CARD} divide-y divide-slate-100") id="booking-list">
                                {items.into_iter().map(|b| view! { <BookingRow b /> }).collect_view()}
                            </ul>
                            <Pager page base />
                        })
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn BookingRow(b: BookingListItem) -> impl IntoView {
    let href = format!("/bookings/{}", b.id);
    // On a phone the deposit is a third line under the guest, so the guest's name keeps
    // the room; from `sm` up it has its own column beside the status.
    let deposit = b.deposit.map(|d| format!("Deposit {d}"));
    view! {
        <li>
            <a href=href class="flex items-center gap-x-3 px-4 py-3 hover:bg-slate-50 sm:gap-x-4">
                <span class="w-24 shrink-0 text-sm tabular-nums text-slate-600 sm:w-28">
                    <span class="block font-medium text-slate-900">{format!("{}–{}", b.start_time, b.end_time)}</span>
                    {b.date}
                </span>
                <span class="min-w-0 flex-1">
                    <span class="block truncate font-medium">{b.client_name}</span>
                    <span class="block truncate text-sm text-slate-600">{format!("{} · {}", b.resource_name, guests(b.party_size.into()))}</span>
                    {deposit.clone().map(|d| view! { <span class="block text-sm text-slate-600 sm:hidden">{d}</span> })}
                </span>
                {deposit.map(|d| view! { <span class="hidden shrink-0 text-sm text-slate-600 sm:inline">{d}</span> })}
                <Badge text=b.status.label() tone=status_tone(b.status) />
            </a>
        </li>
    }
}

#[component]
pub fn NewBookingPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| booking_options());
    view! {
        <PageHeader title="New booking" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match options.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(opts) => view! { <NewBookingForm opts /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An island, so a refused booking keeps what was typed; without the WASM it is a plain
/// form whose errors come back with the page.
#[island]
fn NewBookingForm(opts: BookingFormOptions) -> impl IntoView {
    let action = ServerAction::<CreateBooking>::new();
    let error = action_error(action);
    view! {
        <ActionForm action attr:class=format!("{CARD} space-y-4 p-4 md:p-6") attr:id="booking-form">
            <ErrorBox error />
            <BookingFields opts booking=None error />
            <div class="flex gap-3">
                <button class=BTN type="submit">"Create booking"</button>
                <a class=BTN_SECONDARY href="/bookings">"Back"</a>
            </div>
        </ActionForm>
    }
}

#[island]
fn EditBookingForm(opts: BookingFormOptions, booking: BookingView) -> impl IntoView {
    let update = ServerAction::<UpdateBooking>::new();
    let error = action_error(update);
    let (id, rev) = (booking.id.clone(), booking.revision.to_string());
    view! {
        <ActionForm action=update attr:class=format!("{CARD} space-y-4 p-4 md:p-6") attr:id="booking-form">
            <ErrorBox error />
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="revision" value=rev />
            <BookingFields opts booking=Some(booking) error />
            <div class="flex gap-3">
                <button class=BTN type="submit">"Save changes"</button>
                <a class=BTN_SECONDARY href="/bookings">"Back"</a>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn EditBookingPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, |id| async move {
        Ok::<_, AppError>((get_booking(id).await?, booking_options().await?))
    });
    let cancel = ServerAction::<CancelBooking>::new();
    let cancel_error = action_error(cancel);
    view! {
        // A guest moving or cancelling, a deposit paid: the page shows it.
        <Live watch=vec![("booking", Some(id()))] />
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <PageHeader title="Booking" /><LoadError error=e /> }.into_any(),
                    Ok((b, opts)) => {
                        let subtitle = format!("{} · {} · {}–{}", b.client_name, b.date, b.start_time, b.end_time);
                        let cancellable = b.status.holds_capacity();
                        let (cancel_id, cancel_rev) = (b.id.clone(), b.revision.to_string());
                        view! {
                            <PageHeader title="Booking" subtitle>
                                <Badge text=b.status.label() tone=status_tone(b.status) />
                            </PageHeader>
                            <EditBookingForm opts booking=b />
                            {cancellable
                                .then(|| {
                                    view! {
                                        <ActionForm action=cancel attr:class=format!("{CARD} mt-6 space-y-3 p-4 md:p-6")>
                                            <h2 class="font-semibold">"Cancel this booking"</h2>
                                            <ErrorBox error=cancel_error />
                                            <input type="hidden" name="id" value=cancel_id />
                                            <input type="hidden" name="revision" value=cancel_rev />
                                            <label class=LABEL for="reason">"Reason (optional)"</label>
                                            <input class=INPUT id="reason" name="reason" placeholder="Guest called to cancel" />
                                            <button class=BTN_DANGER type="submit">"Cancel booking"</button>
                                        </ActionForm>
                                    }
                                })}
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
        <PaymentPanel subject=Subject::Deposit subject_id=id() />
        <GuestLinkCard booking_id=id() />
    }
}

/// The fields shared by the new and edit forms.
#[component]
fn BookingFields(
    opts: BookingFormOptions,
    booking: Option<BookingView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let b = booking.clone();
    let get = move |f: &dyn Fn(&BookingView) -> String, default: String| {
        b.as_ref().map(f).unwrap_or(default)
    };
    let currency = opts.currency.clone();
    let deposit = get(
        &|b| {
            if b.deposit_minor > 0 {
                crate::model::money::amount_input(b.deposit_minor, &currency)
            } else {
                String::new()
            }
        },
        String::new(),
    );
    let first_slot = opts
        .resources
        .first()
        .map(|r| r.slot_minutes)
        .unwrap_or(120);
    let default_end = format!(
        "{:02}:{:02}",
        (19 * 60 + first_slot) / 60 % 24,
        (19 * 60 + first_slot) % 60
    );
    let resources = opts
        .resources
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                format!("{} (up to {})", r.name, guests(r.capacity.into())),
            )
        })
        .collect();
    let clients = opts
        .clients
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let statuses = [
        BookingStatus::Confirmed,
        BookingStatus::Pending,
        BookingStatus::Completed,
        BookingStatus::NoShow,
    ]
    .into_iter()
    .map(|s| (s.as_str().to_string(), s.label().to_string()))
    .collect();
    let hours = opts
        .resources
        .iter()
        .map(|r| format!("{}: {}", r.name, r.opening_hours.summary()))
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <div class="grid gap-4 md:grid-cols-2">
            <SelectField label="Resource" name="input[resource_id]" field="resource_id" error options=resources
                selected=get(&|b| b.resource_id.clone(), String::new()) placeholder="Choose…" />
            <div>
                <SelectField label="Guest" name="input[client_id]" field="client_id" error options=clients
                    selected=get(&|b| b.client_id.clone(), String::new()) placeholder="Choose…" />
                <a class="mt-1 inline-block text-xs text-indigo-700 hover:underline" href="/clients/new">"New guest"</a>
            </div>
            <TextField label="Date" name="input[date]" field="date" error kind="date" required=true value=get(&|b| b.date.clone(), opts.today.clone()) />
            <div class="grid grid-cols-2 gap-3">
                <TextField label="Start" name="input[start_time]" field="start_time" error kind="time" required=true value=get(&|b| b.start_time.clone(), "19:00".into()) />
                <TextField label="End" name="input[end_time]" field="end_time" error kind="time" required=true value=get(&|b| b.end_time.clone(), default_end) />
            </div>
            <TextField label="Party size" name="input[party_size]" field="party_size" error value=get(&|b| b.party_size.to_string(), "2".into())
                hint="Number of guests" />
            <SelectField label="Status" name="input[status]" field="status" error options=statuses selected=get(&|b| b.status.as_str().to_string(), "confirmed".into()) />
            <TextField label="Deposit" name="input[deposit]" field="deposit" error value=deposit
                hint=format!("In {}; leave empty for none", opts.currency) placeholder="0.00" />
        </div>
        <p class="text-xs text-slate-500">{format!("Opening hours: {hours}")}</p>
        <div>
            <label class=LABEL for="f-notes">"Notes"</label>
            <textarea class=INPUT id="f-notes" name="input[notes]" rows="3">{get(&|b| b.notes.clone(), String::new())}</textarea>
        </div>
    }
}
