//! Calendar: a day (a column per resource) or a week of bookings, drawn on the server
//! so it shows without JavaScript; and feed links a calendar app subscribes to (Google
//! Calendar, Apple Calendar, Outlook), per resource or for everything.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::calendar::{CreateFeed, RevokeFeed, RotateFeed, list_feeds, load_agenda};
use crate::components::drag_reschedule::DragReschedule;
use crate::components::form::{SelectField, TextField, action_error};
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader,
};
use crate::model::calendar::{Agenda, AgendaBusy, AgendaItem, AgendaQuery, FeedView, PRIVACY};

/// Height of one hour in the grid, in pixels.
const HOUR_PX: u32 = 56;

fn href(view: &str, date: &str, resource: &str) -> String {
    let mut h = format!("/calendar?view={view}&date={date}");
    if !resource.is_empty() {
        h.push_str("&resource_id=");
        h.push_str(resource);
    }
    h
}

fn item_tone(status: &str) -> &'static str {
    match status {
        "pending" => "border-amber-500 bg-amber-50 text-amber-900",
        "completed" => "border-slate-400 bg-slate-100 text-slate-700",
        "no_show" => "border-rose-400 bg-rose-50 text-rose-900",
        _ => "border-indigo-500 bg-indigo-50 text-indigo-950",
    }
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let agenda = Resource::new(
        move || {
            query.with(|q| AgendaQuery {
                view: q.get("view").unwrap_or_default(),
                date: q.get("date").unwrap_or_default(),
                resource_id: q.get("resource_id").unwrap_or_default(),
            })
        },
        load_agenda,
    );
    view! {
        <PageHeader title="Calendar" subtitle="Bookings by day or week, per resource. Drag a booking to another time or column to move it." />
        <div class="mb-4 flex flex-wrap gap-2">
            <a class=BTN href="/bookings/new">"New booking"</a>
            <a class=BTN_SECONDARY href="/calendar/sync">"Calendar sync (Google, CalDAV)"</a>
            <a class=BTN_SECONDARY href="/calendar/feeds">"Feed links for calendar apps"</a>
        </div>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match agenda.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(a) => view! { <AgendaView a /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AgendaView(a: Agenda) -> impl IntoView {
    let other = if a.view == "day" { "week" } else { "day" };
    let empty = a
        .columns
        .iter()
        .all(|c| c.items.is_empty() && c.busy.is_empty());
    let height = (a.last_minute - a.first_minute) * HOUR_PX / 60;
    let hours: Vec<u32> = (a.first_minute / 60..a.last_minute / 60).collect();
    let first = a.first_minute;
    let min_width = format!("min-width: {}rem", 3.5 + 9.0 * a.columns.len() as f32);
    let lines = format!(
        "height: {height}px; background-image: repeating-linear-gradient(to bottom, #e2e8f0 0, #e2e8f0 1px, transparent 1px, transparent {HOUR_PX}px)"
    );
    let no_resources = a.resources.is_empty();
    view! {
        <nav class="mb-3 flex flex-wrap items-center gap-2" aria-label="Dates">
            <a class=BTN_SECONDARY href=href(&a.view, &a.prev, &a.resource_id) aria-label="Earlier">"‹"</a>
            <a class=BTN_SECONDARY href=href(&a.view, &a.today, &a.resource_id)>"Today"</a>
            <a class=BTN_SECONDARY href=href(&a.view, &a.next, &a.resource_id) aria-label="Later">"›"</a>
            <h2 class="ml-1 text-lg font-semibold" id="agenda-title">{a.title.clone()}</h2>
            <span class="grow"></span>
            <a class=BTN_SECONDARY href=href(other, &a.date, &a.resource_id)>{if other == "week" { "Week" } else { "Day" }}</a>
        </nav>
        <form method="get" action="/calendar" class="mb-3 flex flex-wrap items-end gap-2">
            <input type="hidden" name="view" value=a.view.clone() />
            <input type="hidden" name="date" value=a.date.clone() />
            <div>
                <label class=LABEL for="agenda-resource">"Resource"</label>
                <select class=INPUT id="agenda-resource" name="resource_id">
                    <option value="">"All resources"</option>
                    {a.resources.iter().map(|(id, name)| {
                        let sel = *id == a.resource_id;
                        view! { <option value=id.clone() selected=sel>{name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button class=BTN_SECONDARY type="submit">"Show"</button>
        </form>
        {no_resources.then(|| view! { <Empty title="No resources yet" hint="Add tables, rooms or people under Settings; the calendar shows a column for each." /> })}
        {(empty && !no_resources).then(|| view! { <p class="mb-3 text-sm text-slate-600" id="agenda-empty">{if a.view == "day" { "Nothing booked on this day." } else { "Nothing booked this week." }}</p> })}
        <DragReschedule />
        <div class=format!("{CARD} overflow-x-auto") id="agenda" data-hour-px=HOUR_PX>
            <div class="flex" style=min_width>
                <div class="sticky left-0 z-10 w-14 shrink-0 border-r border-slate-200 bg-white">
                    <div class="h-12 border-b border-slate-200"></div>
                    <div class="relative" style=format!("height: {height}px")>
                        {hours.iter().map(|h| {
                            // The first label sits below its line; the others straddle theirs.
                            let (top, shift) = if h * 60 == first { (2, "") } else { ((h * 60 - first) * HOUR_PX / 60, "-translate-y-1/2") };
                            view! { <span class=format!("absolute right-2 text-xs text-slate-500 {shift}") style=format!("top: {top}px")>{format!("{h:02}:00")}</span> }
                        }).collect_view()}
                    </div>
                </div>
                {a.columns.into_iter().map(|c| view! {
                    <div class="min-w-0 flex-1 border-r border-slate-100 last:border-r-0">
                        <div class=format!("h-12 border-b border-slate-200 px-2 py-1 {}", if c.today { "bg-indigo-50" } else { "" })>
                            <div class="truncate text-sm font-semibold">{c.label.clone()}</div>
                            <div class="truncate text-xs text-slate-500">{c.sublabel.clone()}</div>
                        </div>
                        <div class="agenda-col relative" style=lines.clone() data-date=c.date.clone() data-resource=c.resource_id.clone()>
                            {c.busy.into_iter().map(|b| view! { <Busy b first /> }).collect_view()}
                            {c.items.into_iter().map(|i| view! { <Block i first /> }).collect_view()}
                        </div>
                    </div>
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn Block(i: AgendaItem, first: u32) -> impl IntoView {
    let top = i.start_minute.saturating_sub(first) * HOUR_PX / 60;
    let height = ((i.end_minute - i.start_minute) * HOUR_PX / 60).max(20);
    let lanes = i.lanes.max(1);
    let style = format!(
        "top: {top}px; height: {}px; left: calc({} * 100% / {lanes}); width: calc(100% / {lanes})",
        height - 2,
        i.lane
    );
    let mut label = format!("{} {} {}", i.time, i.title, i.detail);
    if let Some(c) = &i.conflict {
        label.push_str(". ");
        label.push_str(c);
    }
    let flagged = if i.conflict.is_some() {
        " ring-2 ring-amber-500"
    } else {
        ""
    };
    view! {
        <a href=format!("/bookings/{}", i.booking_id) style=style aria-label=label.clone() title=label
            data-booking=i.booking_id.clone() data-revision=i.revision data-start=i.start_minute
            data-end=i.end_minute data-resource=i.resource_id.clone() data-movable=i.movable.to_string()
            class=format!("agenda-item absolute select-none overflow-hidden rounded-md border-l-4 px-1.5 py-0.5 text-xs shadow-sm hover:z-20 hover:shadow {}{}{flagged}", item_tone(&i.status), if i.movable { " cursor-grab" } else { "" })>
            {i.conflict.map(|c| view! { <span class="agenda-conflict block truncate font-semibold text-amber-800">{format!("⚠ {c}")}</span> })}
            <span class="block truncate font-semibold">{i.title.clone()}</span>
            <span class="block truncate">{i.time.clone()}</span>
            <span class="block truncate opacity-80">{i.detail.clone()}</span>
        </a>
    }
}

/// Busy time from a connected calendar: hatched, full width, behind the bookings.
#[component]
fn Busy(b: AgendaBusy, first: u32) -> impl IntoView {
    let top = b.start_minute.saturating_sub(first) * HOUR_PX / 60;
    let height = ((b.end_minute - b.start_minute) * HOUR_PX / 60).max(14);
    let style = format!(
        "top: {top}px; height: {}px; background-image: repeating-linear-gradient(135deg, #e2e8f0 0, #e2e8f0 6px, #f8fafc 6px, #f8fafc 12px)",
        height - 1
    );
    view! {
        <div class="agenda-busy absolute inset-x-0 overflow-hidden rounded-sm border border-slate-300 px-1.5 py-0.5 text-xs text-slate-600"
            style=style title=b.label.clone() role="img" aria-label=b.label.clone()>
            <span class="rounded bg-white/80 px-1">"Busy"</span>
        </div>
    }
}

#[component]
pub fn FeedsPage() -> impl IntoView {
    view! {
        <PageHeader title="Calendar feeds" subtitle="Your bookings in the calendar app your team already uses." />
        <Notice />
        <p class="mb-4 text-sm"><a class="text-indigo-700 hover:underline" href="/calendar">"← Back to the calendar"</a></p>
        <Feeds />
    }
}

#[component]
fn Feeds() -> impl IntoView {
    let create = ServerAction::<CreateFeed>::new();
    let error = action_error(create);
    // Every action is a form post that comes back here, so the list loads once per render.
    let feeds = Resource::new(|| (), |_| list_feeds());
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6") id="feeds">
            <h2 class="font-semibold">"Calendar feeds"</h2>
            <p class="mt-1 text-sm text-slate-600">"A private link your calendar app subscribes to: bookings appear there and follow every change. Anyone with the link sees what it shows, so share it like a password; make a new link or revoke it whenever you like."</p>
            <Suspense fallback=|| view! { <p class="mt-3 text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match feeds.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok((list, resources)) => {
                            let mut options = vec![(String::new(), "All resources".to_string())];
                            options.extend(resources.into_iter().map(|r| (r.id, r.name)));
                            view! {
                                {if list.is_empty() {
                                    view! { <div class="mt-3"><Empty title="No feeds yet" hint="Make one below, then paste its link into your calendar app: in Google Calendar, Other calendars → From URL; on an iPhone, Settings → Calendar → Accounts → Add subscribed calendar." /></div> }.into_any()
                                } else {
                                    view! { <ul class="mt-3 divide-y divide-slate-100">{list.into_iter().map(|f| view! { <FeedRow f /> }).collect_view()}</ul> }.into_any()
                                }}
                                <details class="mt-4 rounded-md border border-slate-200 p-3" open=true>
                                    <summary class="cursor-pointer font-medium text-indigo-700">"Make a feed link"</summary>
                                    <ActionForm action=create attr:class="mt-3 grid gap-3 md:grid-cols-2">
                                        <TextField label="Name" name="input[label]" field="label" error required=true placeholder="e.g. Kitchen tablet" />
                                        <SelectField label="Bookings of" name="input[resource_id]" field="resource_id" error options />
                                        <SelectField label="Shows" name="input[privacy]" field="privacy" error
                                            options=PRIVACY.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect() selected="busy" />
                                        <SelectField label="Stops working" name="input[expires_in_days]" field="expires_in_days" error
                                            options=vec![("".into(), "Never (until revoked)".into()), ("30".into(), "In 30 days".into()), ("90".into(), "In 90 days".into()), ("365".into(), "In a year".into())] />
                                        <div class="md:col-span-2"><ErrorBox error /></div>
                                        <div class="md:col-span-2"><button class=BTN type="submit">"Make link"</button></div>
                                    </ActionForm>
                                </details>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn FeedRow(f: FeedView) -> impl IntoView {
    let rotate = ServerAction::<RotateFeed>::new();
    let revoke = ServerAction::<RevokeFeed>::new();
    let errors = [action_error(rotate), action_error(revoke)];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let (privacy, tone) = if f.privacy == "busy" {
        ("busy times only", "slate")
    } else {
        ("full details", "blue")
    };
    let fetched = f
        .last_fetched
        .clone()
        .map(|t| format!("last fetched {t}"))
        .unwrap_or_else(|| "not fetched yet".into());
    let expiry = f
        .expires
        .clone()
        .map(|t| format!(" · stops working {t}"))
        .unwrap_or_default();
    let link_id = format!("feed-link-{}", f.id);
    let (id1, id2) = (f.id.clone(), f.id.clone());
    view! {
        <li class="py-3" id=f.id.clone()>
            <div class="flex flex-wrap items-center gap-2">
                <span class="font-medium">{f.label.clone()}</span>
                <Badge text=privacy tone=tone />
                {(f.state == "expired").then(|| view! { <Badge text="expired" tone="red" /> })}
            </div>
            <p class="text-sm text-slate-600">{format!("{} · made {} · {fetched}{expiry}", f.scope, f.created)}</p>
            <label class="sr-only" for=link_id.clone()>{format!("Link of {}", f.label)}</label>
            <input class=format!("{INPUT} font-mono text-sm") id=link_id readonly=true value=f.url.clone() data-select-all="on" />
            <ErrorBox error />
            <div class="mt-2 flex flex-wrap gap-2">
                <ActionForm action=rotate>
                    <input type="hidden" name="id" value=id1 />
                    <button class=BTN_SECONDARY type="submit">"Make a new link"</button>
                </ActionForm>
                <ActionForm action=revoke>
                    <input type="hidden" name="id" value=id2 />
                    <button class=BTN_DANGER type="submit">"Revoke"</button>
                </ActionForm>
            </div>
        </li>
    }
}
