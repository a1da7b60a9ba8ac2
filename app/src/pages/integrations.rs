//! Integrations: one card per way Hitch talks to the outside world. Only what exists
//! is shown: webhooks (managed on their own pages), the REST API with its keys, and
//! the event catalog.
use leptos::prelude::*;

use crate::api::payments::stripe_settings;
use crate::api::platform::{CreateApiKey, RevokeApiKey, event_types, list_api_keys};
use crate::components::form::action_error;
use crate::components::ui::{
    BTN, BTN_DANGER, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice, PageHeader,
};
use crate::model::api_scope::SCOPES;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <PageHeader title="Integrations" subtitle="Connect Hitch to your own systems. Calendars will appear here as they arrive." />
        <Notice />
        <StripeCard />
        <NotificationsCard />
        <WebhooksCard />
        <ApiCard />
        <EventCatalog />
    }
}

/// Stripe's state at a glance; the set-up has its own page.
#[component]
fn StripeCard() -> impl IntoView {
    let settings = Resource::new(|| (), |_| stripe_settings());
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div class="flex flex-wrap items-center gap-2">
                    <h2 class="font-semibold">"Stripe payments"</h2>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match settings.await {
                                Ok(s) if s.check_error.is_some() => view! { <Badge text="connection problem" tone="red" /> }.into_any(),
                                Ok(s) if s.configured && s.livemode == Some(true) => view! { <Badge text="live" tone="green" /> }.into_any(),
                                Ok(s) if s.configured => view! { <Badge text="test mode" tone="amber" /> }.into_any(),
                                Ok(_) => view! { <Badge text="not connected" tone="slate" /> }.into_any(),
                                Err(_) => ().into_any(),
                            }
                        })}
                    </Suspense>
                </div>
                <a class=BTN href="/integrations/stripe">"Stripe settings"</a>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Payment links for invoices and booking deposits: clients pay by card on Stripe's page, and invoices and deposits are marked paid (or refunded) by themselves."
            </p>
        </section>
    }
}

/// Notifications have their own pages; this card leads there.
#[component]
fn NotificationsCard() -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 class="font-semibold">"Notifications"</h2>
                <a class=BTN href="/notifications">"Manage notifications"</a>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Slack and Discord messages for your team; confirmations, reminders, invoices and receipts to guests and clients by email (SMTP or SendGrid) and SMS (Twilio), from templates you can edit."
            </p>
        </section>
    }
}

/// Webhooks have their own pages; this card says what they are and leads there.
#[component]
fn WebhooksCard() -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 class="font-semibold">"Webhooks"</h2>
                <a class=BTN href="/webhooks">"Manage webhooks"</a>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Hitch sends each event below to your endpoints, signed (Standard Webhooks), retried for about 28 hours, with a delivery log, replay and statistics. Zapier connects through REST hooks at "
                <code class="rounded bg-slate-100 px-1">"/api/v1/hooks"</code>"."
            </p>
        </section>
    }
}

/// An island: a new key is shown once, in place.
#[island]
fn ApiCard() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let error = action_error(create);
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class=format!("{CARD} p-4 md:p-6")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 class="font-semibold">"REST API"</h2>
                <a class="text-sm font-medium text-indigo-700 hover:underline" href="/api/v1/openapi.json">"OpenAPI document"</a>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Read and change bookings, clients, invoices and resources from your own software at "
                <code class="rounded bg-slate-100 px-1">"/api/v1"</code>
                ". Send a key as "<code class="rounded bg-slate-100 px-1">"Authorization: Bearer hk_live_…"</code>"."
            </p>
            {move || created().map(|k| view! {
                <div role="status" class="mt-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
                    <p class="font-semibold text-amber-900">{format!("Key \u{201c}{}\u{201d} created. Copy it now: it is shown only once.", k.key.name)}</p>
                    <input class=format!("{INPUT} font-mono text-sm") readonly=true value=k.secret aria-label="New API key" data-select-all="on" />
                </div>
            })}
            <ActionForm action=create attr:class="mt-4 flex flex-wrap items-end gap-3">
                <div class="min-w-0 grow">
                    <label class=LABEL for="key-name">"New key for"</label>
                    <input class=INPUT id="key-name" name="name" placeholder="e.g. Zapier, our website" required=true maxlength="100" />
                </div>
                <div>
                    <label class=LABEL for="key-scope">"May"</label>
                    <select class=INPUT id="key-scope" name="scope">
                        {SCOPES.iter().map(|(s, label, _)| view! { <option value=s.as_str()>{*label}</option> }).collect_view()}
                    </select>
                </div>
                <button class=BTN type="submit">"Create key"</button>
                <p class="basis-full text-xs text-slate-500">{SCOPES.iter().map(|(_, l, d)| format!("{l}: {d}")).collect::<Vec<_>>().join(" ")}</p>
            </ActionForm>
            <div class="mt-2"><ErrorBox error /></div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <div class="mt-4"><Empty title="No API keys yet" hint="Create one above, or run `hitch create-api-key --org <slug>`." /></div>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-4 divide-y divide-slate-100 text-sm">
                                {list.into_iter().map(|k| view! {
                                    <li class="flex flex-col gap-2 py-3 md:flex-row md:items-center md:justify-between">
                                        <div>
                                            <div class="flex items-center gap-2">
                                                <span class="font-medium">{k.name.clone()}</span>
                                                <code class="text-xs text-slate-500">{format!("{}…", k.prefix)}</code>
                                                <Badge text=k.scope_label.clone() tone=if k.scope == "read_write" { "amber" } else { "slate" } />
                                                {k.revoked.then(|| view! { <Badge text="revoked" tone="red" /> })}
                                            </div>
                                            <p class="text-xs text-slate-500">{format!("created {} · {}", k.created, k.last_used.clone().map(|t| format!("last used {t}")).unwrap_or_else(|| "never used".into()))}</p>
                                        </div>
                                        {(!k.revoked).then(|| view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="id" value=k.id.clone() />
                                                <button class=BTN_DANGER type="submit">"Revoke"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EventCatalog() -> impl IntoView {
    let types = Resource::new(|| (), |_| event_types());
    view! {
        <section class=format!("{CARD} mt-6 p-4 md:p-6")>
            <h2 class="font-semibold">"Events"</h2>
            <p class="mt-1 text-sm text-slate-600">"Every change is recorded as an event, listed at /api/v1/events. These are the types and what their data looks like."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match types.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-3 divide-y divide-slate-100 text-sm">
                                {list.into_iter().map(|t| view! {
                                    <li class="py-2">
                                        <details>
                                            <summary class="cursor-pointer">
                                                <code class="font-medium text-indigo-700">{t.name}</code>
                                                <span class="ml-2 text-slate-600">{t.description}</span>
                                            </summary>
                                            <pre class="mt-2 overflow-x-auto rounded bg-slate-50 p-3 text-xs">{t.sample}</pre>
                                        </details>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
