//! Calendar: feed links a calendar app subscribes to (Google Calendar, Apple Calendar,
//! Outlook), per resource or for everything, with full details or busy times only.
use leptos::prelude::*;

use crate::api::calendar::{CreateFeed, RevokeFeed, RotateFeed, list_feeds};
use crate::components::form::{SelectField, TextField, action_error};
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LoadError, Notice,
    PageHeader,
};
use crate::model::calendar::{FeedView, PRIVACY};

#[component]
pub fn CalendarPage() -> impl IntoView {
    view! {
        <PageHeader title="Calendar" subtitle="Your bookings in the calendar app your team already uses." />
        <Notice />
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
            <input class=format!("{INPUT} font-mono text-sm") id=link_id readonly=true value=f.url.clone() onclick="this.select()" />
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
