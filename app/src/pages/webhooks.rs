//! Webhooks: endpoints with their health, the signing secret, test events, replay and
//! statistics. The delivery log is in [`super::webhook_deliveries`].
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::webhook_deliveries::DeliveryList;
use crate::api::platform::event_types;
use crate::api::webhooks::{
    CreateEndpoint, DeleteEndpoint, EnableEndpoint, ReplayEndpoint, RotateSecret, SendTest,
    UpdateEndpoint, get_endpoint, list_deliveries, list_endpoints, load_webhook_stats,
};
use crate::components::form::{ErrorText, TextField, action_error, field_error};
use crate::components::live::Live;
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader,
};
use crate::error::AppError;
use crate::model::platform::EventTypeView;
use crate::model::webhook::{
    DeliveryFilter, EndpointView, EndpointWithSecret, FORMATS, WebhookStats,
};

fn health_tone(h: &str) -> &'static str {
    match h {
        "healthy" => "green",
        "failing" | "paused" => "amber",
        "disabled" => "red",
        _ => "slate",
    }
}

fn events_label(types: &[String]) -> String {
    if types.is_empty() {
        "All events".into()
    } else {
        types.join(", ")
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let endpoints = Resource::new(|| (), |_| list_endpoints());
    let stats = Resource::new(|| (), |_| load_webhook_stats(None));
    view! {
        <Live watch=vec![("webhook_endpoint", None)] />
        <PageHeader title="Webhooks" subtitle="Send every booking, client and invoice change to your own systems, signed and retried until it arrives.">
            <div class="flex gap-2">
                <a class=BTN_SECONDARY href="/webhooks/deliveries">"Delivery log"</a>
                <a class=BTN href="/webhooks/new">"Add endpoint"</a>
            </div>
        </PageHeader>
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match stats.await {
                    Ok(s) => view! { <StatsCard stats=s title="Last 14 days, all endpoints" /> }.into_any(),
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading endpoints…"</p> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="mt-6"><Empty title="No endpoints yet" hint="Add the URL of a system that should hear about new bookings, cancellations and payments." /></div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class=format!("{CARD} mt-6 divide-y divide-slate-100") id="endpoint-list">
                            {list.into_iter().map(|e| view! { <EndpointRow e /> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EndpointRow(e: EndpointView) -> impl IntoView {
    let href = format!("/webhooks/{}", e.id);
    let detail = match (e.health.as_str(), &e.disabled_reason) {
        ("disabled", Some(r)) => r.clone(),
        ("disabled", None) => "Switched off.".into(),
        ("paused", _) => format!(
            "Paused after {} failures in a row; trying again at {}.",
            e.consecutive_failures,
            e.paused_until.clone().unwrap_or_default()
        ),
        ("failing", _) => format!(
            "{} failures in a row since {}.",
            e.consecutive_failures,
            e.failing_since.clone().unwrap_or_default()
        ),
        _ => events_label(&e.event_types),
    };
    view! {
        <li>
            <a href=href class="flex flex-wrap items-center gap-x-4 gap-y-1 px-4 py-3 hover:bg-slate-50">
                <span class="min-w-0 flex-1">
                    <span class="block truncate font-medium">{e.url.clone()}</span>
                    <span class="block truncate text-sm text-slate-600">{detail}</span>
                </span>
                {(!e.description.is_empty()).then(|| view! { <span class="text-sm text-slate-500">{e.description.clone()}</span> })}
                {(e.source == "zapier").then(|| view! { <Badge text="Zapier" tone="blue" /> })}
                <Badge text=e.health.clone() tone=health_tone(&e.health) />
            </a>
        </li>
    }
}

/// Totals, latency and a bar per day (green delivered, red failed).
#[component]
fn StatsCard(stats: WebhookStats, title: &'static str) -> impl IntoView {
    let peak = stats
        .days
        .iter()
        .map(|d| d.attempts)
        .max()
        .unwrap_or(0)
        .max(1);
    let rate = stats
        .success_rate
        .map(|r| format!("{:.1} %", r * 100.0))
        .unwrap_or_else(|| "–".into());
    let ms = |v: Option<u32>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "–".into());
    let figures = [
        ("Success rate", rate),
        ("Attempts", stats.attempts.to_string()),
        ("Failed", stats.failed.to_string()),
        ("Median", ms(stats.p50_ms)),
        ("p95", ms(stats.p95_ms)),
    ];
    view! {
        <section class=format!("{CARD} p-4 md:p-6") aria-label="Delivery statistics">
            <h2 class="text-sm font-semibold text-slate-700">{title}</h2>
            <dl class="mt-3 grid grid-cols-2 gap-3 sm:grid-cols-5">
                {figures.into_iter().map(|(k, v)| view! {
                    <div>
                        <dt class="text-xs text-slate-500">{k}</dt>
                        <dd class="text-lg font-semibold tabular-nums">{v}</dd>
                    </div>
                }).collect_view()}
            </dl>
            <div class="mt-4 flex h-24 items-end gap-1" role="img" aria-label="Attempts per day: delivered in green, failed in red">
                {stats.days.into_iter().map(|d| {
                    let ok = d.succeeded as f64 * 100.0 / peak as f64;
                    let bad = d.failed as f64 * 100.0 / peak as f64;
                    let tip = format!("{}: {} delivered, {} failed", d.day, d.succeeded, d.failed);
                    view! {
                        <div class="flex h-full flex-1 flex-col justify-end" title=tip>
                            <div class="w-full rounded-t bg-rose-400" style=format!("height:{bad:.1}%")></div>
                            <div class="w-full bg-emerald-500" style=format!("height:{ok:.1}%")></div>
                            <div class="h-px w-full bg-slate-200"></div>
                        </div>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
pub fn NewEndpointPage() -> impl IntoView {
    let types = Resource::new(|| (), |_| event_types());
    view! {
        <PageHeader title="Add endpoint" subtitle="Hitch POSTs JSON to this URL whenever one of the chosen events happens." />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match types.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(types) => view! { <NewEndpointForm types /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An island: a refused URL keeps the form as typed, and the new endpoint's secret is
/// shown in place, the one time it can be.
#[island]
fn NewEndpointForm(types: Vec<EventTypeView>) -> impl IntoView {
    let action = ServerAction::<CreateEndpoint>::new();
    let error = action_error(action);
    let created = move || action.value().get().and_then(Result::ok);
    view! {
        // The form stays mounted (only hidden) once the endpoint exists: its fields
        // watch the same action, and unmounting them mid-update disposes what they read.
        {move || created().map(|c| view! { <Created c /> })}
        <div class:hidden=move || created().is_some()>
            <ActionForm action attr:class=format!("{CARD} space-y-4 p-4 md:p-6") attr:id="endpoint-form">
                <ErrorBox error />
                <EndpointFields types endpoint=None error />
                <div class="flex gap-3">
                    <button class=BTN type="submit">"Add endpoint"</button>
                    <a class=BTN_SECONDARY href="/webhooks">"Back"</a>
                </div>
            </ActionForm>
        </div>
    }
}

/// The secret right after creation: the one time it is shown.
#[component]
fn Created(c: EndpointWithSecret) -> impl IntoView {
    let href = format!("/webhooks/{}", c.endpoint.id);
    view! {
        <div role="status" class=format!("{CARD} space-y-3 border-emerald-300 p-4 md:p-6")>
            <p class="font-semibold text-emerald-800">{format!("Endpoint added: {}", c.endpoint.url)}</p>
            <SecretBox secret=c.secret />
            <div class="flex gap-3">
                <a class=BTN href=href>"Open endpoint"</a>
                <a class=BTN_SECONDARY href="/webhooks">"All endpoints"</a>
            </div>
        </div>
    }
}

#[component]
fn SecretBox(secret: String) -> impl IntoView {
    view! {
        // Held: live refresh must not reload the only view of this secret away.
        <div class="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-live-hold="">
            <p class="font-semibold text-amber-900">"Signing secret: copy it now, it is shown only once."</p>
            <p class="mt-1 text-amber-900">"Your receiver uses it to check each request's webhook-signature header (Standard Webhooks)."</p>
            <input class=format!("{INPUT} font-mono text-sm") readonly=true value=secret aria-label="Signing secret" data-select-all="on" />
        </div>
    }
}

/// URL, description, events, format, headers, rate limit, enabled.
#[component]
fn EndpointFields(
    types: Vec<EventTypeView>,
    endpoint: Option<EndpointView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let e = endpoint.clone();
    let chosen = e
        .as_ref()
        .map(|e| e.event_types.clone())
        .unwrap_or_default();
    let format = e
        .as_ref()
        .map_or_else(|| "standard".to_string(), |e| e.format.clone());
    let headers = e
        .as_ref()
        .map(|e| {
            e.headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let enabled = e.as_ref().is_none_or(|e| e.enabled);
    let types_error = field_error(error, "event_types");
    let headers_error = field_error(error, "headers");
    view! {
        <TextField label="URL" name="input[url]" field="url" error kind="url" required=true
            value=e.as_ref().map(|e| e.url.clone()).unwrap_or_default() placeholder="https://example.com/hitch-events" />
        <TextField label="Description (optional)" name="input[description]" field="description" error
            value=e.as_ref().map(|e| e.description.clone()).unwrap_or_default() placeholder="Our booking system" />
        <fieldset>
            <legend class=LABEL>"Events"</legend>
            <p class="text-xs text-slate-500">"Tick none to receive every event, including types added later."</p>
            <div class="mt-2 grid gap-1 sm:grid-cols-2">
                {types.into_iter().map(|t| {
                    let checked = chosen.contains(&t.name);
                    let id = format!("ev-{}", t.name.replace('.', "-"));
                    let label_for = id.clone();
                    view! {
                        <label class="flex items-center gap-2 text-sm" for=label_for title=t.description.clone()>
                            <input type="checkbox" id=id name="input[event_types][]" value=t.name.clone() checked=checked />
                            <code>{t.name.clone()}</code>
                        </label>
                    }
                }).collect_view()}
            </div>
            <ErrorText message=types_error id="f-event_types-error".to_string() />
        </fieldset>
        <div class="grid gap-4 md:grid-cols-2">
            <div>
                <label class=LABEL for="f-format">"Payload format"</label>
                <select class=INPUT id="f-format" name="input[format]">
                    {FORMATS.into_iter().map(|(v, l)| view! { <option value=v selected=v == format>{l}</option> }).collect_view()}
                </select>
            </div>
            <TextField label="Rate limit (optional)" name="input[rate_per_second]" field="rate_per_second" error
                value=e.as_ref().and_then(|e| e.rate_per_second).map(|r| r.to_string()).unwrap_or_default()
                hint="Deliveries per second at most" placeholder="e.g. 10" />
        </div>
        <div>
            <label class=LABEL for="f-headers">"Custom headers (optional)"</label>
            <textarea class=format!("{INPUT} font-mono text-sm") id="f-headers" name="input[headers]" rows="2"
                placeholder="Authorization: Bearer …" aria-invalid=move || headers_error.get().is_some().to_string()>{headers}</textarea>
            <p class="mt-1 text-xs text-slate-500">"One Name: value per line. Stored encrypted; shown masked."</p>
            <ErrorText message=headers_error id="f-headers-error".to_string() />
        </div>
        <label class="flex items-center gap-2 text-sm">
            <input type="checkbox" name="input[enabled]" value="on" checked=enabled />
            "Enabled"
        </label>
    }
}

#[component]
pub fn EndpointPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    // Every resource is made here, at the page's top: one made inside another's
    // `Suspend` would be created anew on each render and never settle on the server.
    let data = Resource::new(id, |id| async move {
        Ok::<_, AppError>((get_endpoint(id).await?, event_types().await?))
    });
    let stats = Resource::new(id, |id| load_webhook_stats(Some(id)));
    let recent = Resource::new(id, |id| {
        list_deliveries(DeliveryFilter {
            endpoint_id: id,
            page: 1,
            ..DeliveryFilter::default()
        })
    });
    view! {
        // The endpoint's health and its recent deliveries follow along.
        <Live watch=vec![("webhook_endpoint", Some(id())), ("webhook_delivery", None)] />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <PageHeader title="Endpoint" /><LoadError error=e /> }.into_any(),
                    Ok((e, _)) => {
                        let eid = e.id.clone();
                        let (health, tone) = (e.health.clone(), health_tone(&e.health));
                        view! {
                            <PageHeader title="Endpoint" subtitle=e.url.clone()>
                                <Badge text=health tone />
                            </PageHeader>
                            <Notice />
                            <HealthNote e=e.clone() />
                            <PaceNote e=e.clone() />
                            <EnableCard e=e.clone() />
                            <div class="grid gap-6 lg:grid-cols-2">
                                <SecretCard e=e.clone() />
                                <TestCard id=eid enabled=e.enabled />
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <div class="mt-6">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match stats.await {
                        Ok(s) => view! { <StatsCard stats=s title="Last 14 days" /> }.into_any(),
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
        <section class="mt-6">
            <div class="mb-2 flex items-center justify-between">
                <h2 class="font-semibold">"Recent deliveries"</h2>
                <a class="text-sm font-medium text-indigo-700 hover:underline" href=move || format!("/webhooks/deliveries?endpoint_id={}", id())>"All deliveries"</a>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match recent.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <Empty title="Nothing sent yet" hint="Deliveries appear here as events happen, or send a test event." /> }.into_any(),
                        Ok(p) => view! { <DeliveryList items=p.items.into_iter().take(10).collect() /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                data.await.ok().map(|(e, types)| {
                    let delete_id = e.id.clone();
                    view! {
                        <ReplayCard id=e.id.clone() />
                        <EndpointSettingsForm types e />
                        <DeleteCard id=delete_id />
                    }
                })
            })}
        </Transition>
    }
}

/// Why an enabled endpoint is not healthy, in words.
#[component]
fn HealthNote(e: EndpointView) -> impl IntoView {
    let text = match e.health.as_str() {
        "paused" => Some(format!(
            "Hitch paused deliveries to this endpoint until {}: {}. A success resumes normal delivery.",
            e.paused_until.clone().unwrap_or_default(),
            e.pause_reason.clone().unwrap_or_default()
        )),
        "failing" => Some(format!(
            "The last {} attempt(s) failed (since {}). Hitch keeps retrying on its schedule; after 5 days of failures the endpoint is disabled.",
            e.consecutive_failures,
            e.failing_since.clone().unwrap_or_default()
        )),
        _ => None,
    };
    text.map(|t| view! { <p role="status" class="mb-6 rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">{t}</p> })
}

/// How many deliveries go out at once, and the last time Hitch eased off and why.
#[component]
fn PaceNote(e: EndpointView) -> impl IntoView {
    let limit = e.in_flight_limit;
    let pace = format!(
        "Sends up to {limit} {} at once, adjusted to how fast the receiver answers.",
        if limit == 1 { "delivery" } else { "deliveries" }
    );
    let eased = e
        .eased_off
        .map(|x| format!(" Eased off at {}: {}.", x.at, x.reason));
    e.enabled.then(|| {
        view! {
            <p class="mb-6 text-sm text-slate-600" data-testid="pace">
                {pace}
                {eased.map(|t| view! { <span class="text-amber-800">{t}</span> })}
            </p>
        }
    })
}

/// Shown when the endpoint is off: why, and one click to turn it back on.
#[component]
fn EnableCard(e: EndpointView) -> impl IntoView {
    let enable = ServerAction::<EnableEndpoint>::new();
    let error = action_error(enable);
    (!e.enabled).then(|| {
        let reason = e.disabled_reason.clone().unwrap_or_else(|| "It was switched off by hand.".into());
        view! {
            <ActionForm action=enable attr:class="mb-6 space-y-3 rounded-lg border border-rose-200 bg-rose-50 p-4" attr:role="alert">
                <p class="font-semibold text-rose-900">"This endpoint is disabled: nothing is sent to it."</p>
                <p class="text-sm text-rose-900">{reason}</p>
                <ErrorBox error />
                <input type="hidden" name="id" value=e.id.clone() />
                <label class="flex items-center gap-2 text-sm text-rose-900">
                    <input type="checkbox" name="replay" value="on" checked=true />
                    "Also send everything that failed or was missed since it broke"
                </label>
                <button class=BTN type="submit">"Enable endpoint"</button>
            </ActionForm>
        }
    })
}

/// An island, so a refused save keeps the form as typed.
#[island]
fn EndpointSettingsForm(types: Vec<EventTypeView>, e: EndpointView) -> impl IntoView {
    let update = ServerAction::<UpdateEndpoint>::new();
    let error = action_error(update);
    let id = e.id.clone();
    view! {
        <ActionForm action=update attr:class=format!("{CARD} mt-6 space-y-4 p-4 md:p-6") attr:id="endpoint-form">
            <h2 class="font-semibold">"Settings"</h2>
            <ErrorBox error />
            <input type="hidden" name="id" value=id />
            <EndpointFields types endpoint=Some(e) error />
            <button class=BTN type="submit">"Save changes"</button>
        </ActionForm>
    }
}

/// An island, so a rotated secret is shown in place, the one time it can be.
#[island]
fn SecretCard(e: EndpointView) -> impl IntoView {
    let rotate = ServerAction::<RotateSecret>::new();
    let error = action_error(rotate);
    let rotated = move || rotate.value().get().and_then(Result::ok);
    let fresh = move || rotated().map(|r| r.secret);
    // After a rotation the hint and the overlap come from the endpoint as it is now.
    let (hint, overlap) = (e.secret_hint.clone(), e.previous_secret_until.clone());
    let hint = move || rotated().map_or_else(|| hint.clone(), |r| r.endpoint.secret_hint);
    let overlap =
        move || rotated().map_or_else(|| overlap.clone(), |r| r.endpoint.previous_secret_until);
    view! {
        <section class=format!("{CARD} p-4 md:p-6")>
            <h2 class="font-semibold">"Signing secret"</h2>
            <p class="mt-1 font-mono text-sm text-slate-700">{hint}</p>
            {move || overlap().map(|t| view! { <p class="mt-1 text-xs text-slate-500">{format!("The previous secret also signs until {t}.")}</p> })}
            {move || fresh().map(|s| view! { <div class="mt-3"><SecretBox secret=s /></div> })}
            <ErrorBox error />
            <ActionForm action=rotate attr:class="mt-3">
                <input type="hidden" name="id" value=e.id.clone() />
                <button class=BTN_SECONDARY type="submit">"Rotate secret"</button>
            </ActionForm>
            <p class="mt-2 text-xs text-slate-500">"After a rotation the old secret keeps signing for 24 hours, so your receiver can switch without missing a request."</p>
        </section>
    }
}

#[component]
fn TestCard(id: String, enabled: bool) -> impl IntoView {
    let test = ServerAction::<SendTest>::new();
    let error = action_error(test);
    view! {
        <section class=format!("{CARD} p-4 md:p-6")>
            <h2 class="font-semibold">"Send a test event"</h2>
            <p class="mt-1 text-sm text-slate-600">"Sends a signed "<code>"webhook.test"</code>" event now and opens its delivery, so you can see exactly what your receiver answered."</p>
            <ErrorBox error />
            <ActionForm action=test attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <button class=BTN type="submit" disabled=!enabled>"Send test event"</button>
            </ActionForm>
        </section>
    }
}

/// Bulk replay over a window of days (1,000 deliveries per run).
#[component]
fn ReplayCard(id: String) -> impl IntoView {
    let replay = ServerAction::<ReplayEndpoint>::new();
    let error = action_error(replay);
    view! {
        <ActionForm action=replay attr:class=format!("{CARD} mt-6 space-y-3 p-4 md:p-6")>
            <h2 class="font-semibold">"Replay failed deliveries"</h2>
            <p class="text-sm text-slate-600">"Sends again everything that failed, or never went out, between these days (up to 31 days, 1,000 deliveries per run)."</p>
            <ErrorBox error />
            <input type="hidden" name="id" value=id />
            <div class="flex flex-wrap items-end gap-3">
                <TextField label="From" name="from" field="from" error kind="date" required=true />
                <TextField label="To" name="to" field="to" error kind="date" required=true />
                <button class=BTN_SECONDARY type="submit">"Replay"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn DeleteCard(id: String) -> impl IntoView {
    let delete = ServerAction::<DeleteEndpoint>::new();
    let error = action_error(delete);
    view! {
        <ActionForm action=delete attr:class=format!("{CARD} mt-6 space-y-3 p-4 md:p-6")>
            <h2 class="font-semibold">"Delete this endpoint"</h2>
            <p class="text-sm text-slate-600">"Stops all deliveries and removes its delivery log. This cannot be undone."</p>
            <ErrorBox error />
            <input type="hidden" name="id" value=id />
            <button class=BTN_DANGER type="submit">"Delete endpoint"</button>
        </ActionForm>
    }
}
