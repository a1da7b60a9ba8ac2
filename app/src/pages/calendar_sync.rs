//! Calendar sync: connect Google Calendar or a CalDAV account (iCloud, Fastmail,
//! Nextcloud), choose which calendar receives bookings and
//! which ones block slots, pick who wins a conflict, and decide changes made in the
//! calendar to bookings. Every button is a form, so the page works without JavaScript.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::calendar_sync::{
    ConnectCaldav, DecideCalendarChange, DisconnectCalendar, SyncCalendarNow,
    UpdateCalendarConnection, load_calendar_sync,
};
use crate::components::form::{TextField, action_error};
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader,
};
use crate::model::calendar_sync::{ConflictView, ConnectionView, STRATEGIES};

/// What went wrong when Google sent the user back (`?error=`).
fn connect_error(code: &str) -> Option<&'static str> {
    Some(match code {
        "state" => {
            "The Google sign-in could not be matched to this session (it took too long, or came from another tab). Please connect again."
        }
        "denied" => "Google access was not granted, so nothing was connected.",
        "google" => {
            "Google did not accept the sign-in. Please try again; if it keeps failing, ask your Hitch operator to check the Google client settings."
        }
        "not_configured" => {
            "Google Calendar is not set up on this server yet: the operator sets HITCH_GOOGLE_CLIENT_ID and HITCH_GOOGLE_CLIENT_SECRET."
        }
        "forbidden" => "Only owners and admins can connect calendars.",
        "internal" => "Something went wrong on our side; nothing was connected. Please try again.",
        _ => return None,
    })
}

#[component]
pub fn CalendarSyncPage() -> impl IntoView {
    let query = use_query_map();
    let problem = move || {
        query
            .with(|q| q.get("error"))
            .and_then(|c| connect_error(&c))
    };
    let data = Resource::new(|| (), |_| load_calendar_sync());
    view! {
        <PageHeader title="Calendar sync" subtitle="Bookings go to your Google or CalDAV calendar (iCloud, Fastmail, Nextcloud), and time you block there blocks booking slots." />
        <Notice />
        {move || problem().map(|t| view! {
            <div role="alert" class="mb-4 rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-800">{t}</div>
        })}
        <p class="mb-4 text-sm"><a class="text-indigo-700 hover:underline" href="/calendar">"← Back to the calendar"</a></p>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(o) => {
                        let resources = o.resources.clone();
                        view! {
                            <Conflicts open=o.open_conflicts decided=o.decided />
                            <section class=format!("{CARD} mb-6 p-4 md:p-6")>
                                <h2 class="font-semibold">"Connected calendars"</h2>
                                {if o.connections.is_empty() {
                                    view! { <div class="mt-3"><Empty title="No calendar connected" hint="Connect a Google account or a CalDAV calendar below. Hitch writes each booking to the calendar you choose and reads your other events as busy time, so nobody is booked while you are at the dentist." /></div> }.into_any()
                                } else {
                                    view! { <ul class="mt-3 divide-y divide-slate-100">{o.connections.into_iter().map(|c| view! { <ConnectionRow c /> }).collect_view()}</ul> }.into_any()
                                }}
                                <Connect configured=o.google_configured resources=resources.clone() />
                                <ConnectCalDav resources />
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Connect(configured: bool, resources: Vec<(String, String)>) -> impl IntoView {
    if !configured {
        return view! {
            <p class="mt-4 rounded-md bg-slate-50 p-3 text-sm text-slate-600">"Google Calendar is not set up on this server. The operator creates an OAuth client in the Google Cloud console and sets HITCH_GOOGLE_CLIENT_ID and HITCH_GOOGLE_CLIENT_SECRET (see the README)."</p>
        }
        .into_any();
    }
    view! {
        // A plain form: the server sends the browser on to Google's consent screen.
        <form method="post" action="/integrations/google/connect" class="mt-4 flex flex-wrap items-end gap-3 rounded-md border border-slate-200 p-3">
            <div>
                <label class=LABEL for="connect-resource">"Bookings of"</label>
                <select class=INPUT id="connect-resource" name="resource_id">
                    <option value="">"All resources"</option>
                    {resources.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                </select>
            </div>
            <button class=BTN type="submit">"Connect Google Calendar"</button>
        </form>
    }
    .into_any()
}

/// A CalDAV account: address, user name and (app) password. Checked by asking the
/// server for its calendars before anything is saved. An island, so a refused
/// connection keeps what was typed.
#[island]
fn ConnectCalDav(resources: Vec<(String, String)>) -> impl IntoView {
    let connect = ServerAction::<ConnectCaldav>::new();
    let error = action_error(connect);
    view! {
        <details class="mt-4 rounded-md border border-slate-200 p-3" open=move || error.get().is_some()>
            <summary class="cursor-pointer text-sm font-semibold text-slate-800">"Connect a CalDAV calendar (iCloud, Fastmail, Nextcloud…)"</summary>
            <ActionForm action=connect attr:class="mt-3 grid gap-3 sm:grid-cols-2" attr:id="caldav-form">
                <div class="sm:col-span-2">
                    <TextField label="Server address" name="input[url]" field="url" error kind="url" required=true
                        placeholder="https://caldav.fastmail.com/" hint="From your provider's help pages: iCloud https://caldav.icloud.com/, Fastmail https://caldav.fastmail.com/, Nextcloud https://<your server>/remote.php/dav/" />
                </div>
                <TextField label="User name" name="input[username]" field="username" error required=true autocomplete="off" />
                <TextField label="Password or app password" name="input[password]" field="password" error kind="password" required=true autocomplete="new-password" />
                <div>
                    <label class=LABEL for="caldav-resource">"Bookings of"</label>
                    <select class=INPUT id="caldav-resource" name="input[resource_id]">
                        <option value="">"All resources"</option>
                        {resources.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </div>
                <div class="flex items-end">
                    <button class=BTN type="submit" disabled=move || connect.pending().get()>
                        {move || if connect.pending().get() { "Connecting…" } else { "Connect CalDAV calendar" }}
                    </button>
                </div>
                <div class="sm:col-span-2"><ErrorBox error /></div>
            </ActionForm>
        </details>
    }
}

#[component]
fn ConnectionRow(c: ConnectionView) -> impl IntoView {
    let update = ServerAction::<UpdateCalendarConnection>::new();
    let sync = ServerAction::<SyncCalendarNow>::new();
    let disconnect = ServerAction::<DisconnectCalendar>::new();
    let errors = [
        action_error(update),
        action_error(sync),
        action_error(disconnect),
    ];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let (state_text, tone) = match (c.state.as_str(), c.syncing, c.last_error.is_some()) {
        ("reconnect_needed", _, _) => ("reconnect needed", "red"),
        (_, true, _) => ("syncing", "blue"),
        (_, _, true) => ("errors", "amber"),
        _ => ("connected", "green"),
    };
    let target = c.target_calendar_id.clone().unwrap_or_default();
    let (id1, id2, id3) = (c.id.clone(), c.id.clone(), c.id.clone());
    let target_id = format!("target-{}", c.id);
    let strategy_id = format!("strategy-{}", c.id);
    let reconnect = c.state == "reconnect_needed";
    let caldav = c.provider == "caldav";
    let provider = if caldav { "CalDAV" } else { "Google" };
    let target_options = c
        .calendars
        .iter()
        .map(|k| {
            let sel = k.id == target;
            view! { <option value=k.id.clone() selected=sel>{k.summary.clone()}</option> }
        })
        .collect_view();
    let busy_rows = c
        .calendars
        .clone()
        .into_iter()
        .map(|k| {
            let conn_id = c.id.clone();
            let toggle = ServerAction::<UpdateCalendarConnection>::new();
            let (label, next) = if k.busy { ("Stop blocking", "false") } else { ("Block slots", "true") };
            view! {
                <li class="flex flex-wrap items-center justify-between gap-2 rounded-md bg-slate-50 px-3 py-2 text-sm">
                    <span>{k.summary.clone()} " " {if k.busy { view! { <Badge text="blocks slots" tone="blue" /> }.into_any() } else { view! { <Badge text="ignored" tone="slate" /> }.into_any() }}</span>
                    <ActionForm action=toggle>
                        <input type="hidden" name="id" value=conn_id />
                        <input type="hidden" name="busy_calendar" value=k.id.clone() />
                        <input type="hidden" name="busy" value=next />
                        <button class="text-indigo-700 hover:underline" type="submit">{label}</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    view! {
        <li class="py-4" id=c.id.clone()>
            <div class="flex flex-wrap items-center gap-2">
                <span class="font-medium">{c.account.clone()}</span>
                <span class="text-xs uppercase tracking-wide text-slate-500">{provider}</span>
                <Badge text=state_text tone=tone />
                <span class="text-sm text-slate-600">{format!("{} · last sync {} · {} busy blocks", c.scope_label, c.last_sync, c.busy_blocks)}</span>
            </div>
            {c.last_error.clone().map(|e| view! { <p class="mt-1 text-sm text-rose-700">{e}</p> })}
            {c.backoff_until.clone().map(|t| view! { <p class="mt-1 text-sm text-amber-700">{format!("{provider} asked Hitch to slow down; calls resume at {t}.")}</p> })}
            {(reconnect && caldav).then(|| view! {
                <p class="mt-2 text-sm text-slate-700">"To reconnect, enter the account's new password (or a new app password) under “Connect a CalDAV calendar” below, with the same server address and user name."</p>
            })}
            {(reconnect && !caldav).then(|| view! {
                <form method="post" action="/integrations/google/connect" class="mt-2">
                    <input type="hidden" name="resource_id" value=c.resource_id.clone().unwrap_or_default() />
                    <button class=BTN type="submit">"Reconnect"</button>
                </form>
            })}
            <ErrorBox error />
            <ActionForm action=update attr:class="mt-3 grid gap-3 md:grid-cols-3 md:items-end">
                <input type="hidden" name="id" value=id1 />
                <div>
                    <label class=LABEL for=target_id.clone()>"Write bookings to"</label>
                    <select class=INPUT id=target_id name="target_calendar_id">
                        <option value="" selected=target.is_empty()>"Nowhere (only read busy time)"</option>
                        {target_options}
                    </select>
                </div>
                <div>
                    <label class=LABEL for=strategy_id.clone()>"When an event is moved or deleted there"</label>
                    <select class=INPUT id=strategy_id name="strategy">
                        {STRATEGIES.iter().map(|(k, l)| {
                            let sel = *k == c.strategy;
                            view! { <option value=*k selected=sel>{*l}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div><button class=BTN_SECONDARY type="submit">"Save"</button></div>
            </ActionForm>
            <h3 class="mt-4 text-sm font-medium text-slate-700">"Calendars that block booking slots"</h3>
            <ul class="mt-1 space-y-1">
                {busy_rows}
            </ul>
            <div class="mt-3 flex flex-wrap gap-2">
                <ActionForm action=sync>
                    <input type="hidden" name="id" value=id2 />
                    <button class=BTN_SECONDARY type="submit" disabled=reconnect>"Sync now"</button>
                </ActionForm>
                <ActionForm action=disconnect>
                    <input type="hidden" name="id" value=id3 />
                    <button class=BTN_DANGER type="submit">"Disconnect"</button>
                </ActionForm>
            </div>
        </li>
    }
}

#[component]
fn Conflicts(open: Vec<ConflictView>, decided: Vec<ConflictView>) -> impl IntoView {
    let has_open = !open.is_empty();
    view! {
        {has_open.then(|| view! {
            <section class="mb-6 rounded-lg border border-amber-300 bg-amber-50/40 p-4 shadow-sm md:p-6" id="changes">
                <h2 class="font-semibold">"Changes made in the calendar"</h2>
                <p class="mt-1 text-sm text-slate-600">"These bookings' events were moved or deleted in a connected calendar. Accept to change the booking the same way (the guest is told as usual), or reject to put the booking back in the calendar."</p>
                <ul class="mt-3 divide-y divide-slate-100">
                    {open.into_iter().map(|f| view! { <ConflictRow f /> }).collect_view()}
                </ul>
            </section>
        })}
        {(!decided.is_empty()).then(|| view! {
            <details class=format!("{CARD} mb-6 p-4 md:p-6")>
                <summary class="cursor-pointer font-semibold">"Recent decisions"</summary>
                <ul class="mt-3 space-y-1 text-sm text-slate-700">
                    {decided.into_iter().map(|f| {
                        let who = f.decided_by.clone().unwrap_or_else(|| "—".into());
                        view! { <li>{format!("{} · {} · {} · {} by {who}", f.when, f.booking_label, f.detail, f.status)}</li> }
                    }).collect_view()}
                </ul>
            </details>
        })}
    }
}

#[component]
fn ConflictRow(f: ConflictView) -> impl IntoView {
    let decide = ServerAction::<DecideCalendarChange>::new();
    let error = action_error(decide);
    let change = if f.kind == "deleted" {
        "Deleted in the calendar → cancel the booking".to_string()
    } else {
        format!("Moved to {}", f.proposed)
    };
    let accept_label = if f.kind == "deleted" {
        "Cancel the booking"
    } else {
        "Move the booking"
    };
    let (id1, id2) = (f.id.clone(), f.id.clone());
    view! {
        <li class="py-3" id=f.id.clone()>
            <p class="font-medium"><a class="text-indigo-700 hover:underline" href=format!("/bookings/{}", f.booking_id)>{f.booking_label.clone()}</a></p>
            <p class="text-sm text-slate-700">{format!("In Hitch: {}", f.current)}</p>
            <p class="text-sm text-amber-800">{change}</p>
            <p class="text-xs text-slate-500">{format!("{} Noticed {}.", f.detail, f.when)}</p>
            <ErrorBox error=error />
            <div class="mt-2 flex flex-wrap gap-2">
                <ActionForm action=decide>
                    <input type="hidden" name="id" value=id1 />
                    <input type="hidden" name="decision" value="accept" />
                    <button class=BTN type="submit">{accept_label}</button>
                </ActionForm>
                <ActionForm action=decide>
                    <input type="hidden" name="id" value=id2 />
                    <input type="hidden" name="decision" value="reject" />
                    <button class=BTN_SECONDARY type="submit">"Keep Hitch's booking"</button>
                </ActionForm>
            </div>
        </li>
    }
}
