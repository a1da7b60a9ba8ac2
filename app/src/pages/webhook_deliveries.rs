//! The webhook delivery log: deliveries filtered by endpoint, event type, status and
//! dates, one delivery with every attempt, retry, and the CSV export.
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::platform::event_types;
use crate::api::webhooks::{RetryDelivery, get_delivery, list_deliveries, list_endpoints};
use crate::components::form::action_error;
use crate::components::live::Live;
use crate::components::ui::{
    BTN, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice, PageHeader,
    Pager,
};
use crate::error::AppError;
use crate::model::page::parse_page;
use crate::model::webhook::{DeliveryFilter, DeliveryView};

fn status_tone(s: &str) -> &'static str {
    match s {
        "succeeded" => "green",
        "pending" => "amber",
        "failed" => "red",
        _ => "slate",
    }
}

#[component]
pub fn DeliveryList(items: Vec<DeliveryView>) -> impl IntoView {
    view! {
        <ul class=format!("{CARD} divide-y divide-slate-100") id="delivery-list">
            {items.into_iter().map(|d| {
                let href = format!("/webhooks/deliveries/{}", d.id);
                let outcome = match (&d.last_status_code, &d.last_error) {
                    (_, Some(e)) if d.status != "succeeded" => e.clone(),
                    (Some(c), _) => format!("HTTP {c}"),
                    _ => "Not tried yet".into(),
                };
                let next = d.next_attempt.clone().map(|t| format!(" · next try {t}")).unwrap_or_default();
                view! {
                    <li>
                        <a href=href class="flex flex-wrap items-center gap-x-4 gap-y-1 px-4 py-3 hover:bg-slate-50">
                            <span class="order-last w-full text-xs tabular-nums text-slate-500 sm:order-none sm:w-36 sm:shrink-0 sm:text-sm sm:text-slate-600">{d.created.clone()}</span>
                            <span class="min-w-0 flex-1">
                                <code class="block truncate text-sm font-medium">{d.event_type.clone()}</code>
                                <span class="block truncate text-sm text-slate-600">{format!("{} · {} attempt(s) · {outcome}{next}", d.endpoint_url, d.attempts)}</span>
                            </span>
                            <Badge text=d.status.clone() tone=status_tone(&d.status) />
                        </a>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| DeliveryFilter {
            endpoint_id: q.get("endpoint_id").unwrap_or_default(),
            event_type: q.get("event_type").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            to: q.get("to").unwrap_or_default(),
            page: parse_page(q.get("page").as_deref()),
        })
    };
    let data = Resource::new(filter, list_deliveries);
    let options = Resource::new(
        || (),
        |_| async move { Ok::<_, AppError>((list_endpoints().await?, event_types().await?)) },
    );
    let qs = move || {
        let f = filter();
        format!(
            "endpoint_id={}&event_type={}&status={}&from={}&to={}",
            f.endpoint_id, f.event_type, f.status, f.from, f.to
        )
    };
    view! {
        <Live watch=vec![("webhook_delivery", None)] />
        <PageHeader title="Delivery log" subtitle="Every event sent to your endpoints, with each attempt and the receiver's answer.">
            <a class=BTN_SECONDARY href=move || format!("/webhooks/deliveries.csv?{}", qs()) download="deliveries.csv">"Export CSV"</a>
        </PageHeader>
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let f = filter();
                match options.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok((endpoints, types)) => view! {
                        <form method="get" action="/webhooks/deliveries" class=format!("{CARD} mb-4 grid gap-3 p-3 sm:grid-cols-3 lg:grid-cols-6 lg:items-end")>
                            <div class="sm:col-span-2">
                                <label class=LABEL for="endpoint_id">"Endpoint"</label>
                                <select class=INPUT id="endpoint_id" name="endpoint_id">
                                    <option value="">"Any endpoint"</option>
                                    {endpoints.into_iter().map(|e| view! { <option value=e.id.clone() selected=e.id == f.endpoint_id>{e.url}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="event_type">"Event"</label>
                                <select class=INPUT id="event_type" name="event_type">
                                    <option value="">"Any event"</option>
                                    {types.into_iter().map(|t| view! { <option value=t.name.clone() selected=t.name == f.event_type>{t.name.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="status">"Status"</label>
                                <select class=INPUT id="status" name="status">
                                    <option value="">"Any status"</option>
                                    {["pending", "succeeded", "failed"].into_iter().map(|s| view! { <option value=s selected=s == f.status>{s}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="from">"From"</label>
                                <input class=INPUT type="date" id="from" name="from" value=f.from.clone() />
                            </div>
                            <div>
                                <label class=LABEL for="to">"To"</label>
                                <input class=INPUT type="date" id="to" name="to" value=f.to.clone() />
                            </div>
                            <div class="flex gap-2 sm:col-span-3 lg:col-span-6">
                                <button class=BTN_SECONDARY type="submit">"Show"</button>
                                <a class="px-2 py-2 text-sm text-indigo-700 hover:underline" href="/webhooks/deliveries">"Clear"</a>
                            </div>
                        </form>
                    }.into_any(),
                }
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading deliveries…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! { <Empty title="No deliveries" hint="Nothing matches these filters yet." /> }.into_any(),
                    Ok(p) => {
                        let base = format!("/webhooks/deliveries?{}", qs());
                        let items = p.items.clone();
                        view! { <DeliveryList items /><Pager page=p base /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, get_delivery);
    let retry = ServerAction::<RetryDelivery>::new();
    let error = action_error(retry);
    view! {
        // Follows the delivery until the receiver has answered.
        <Live watch=vec![("webhook_delivery", Some(id()))] />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <PageHeader title="Delivery" /><LoadError error=e /> }.into_any(),
                    Ok(d) => {
                        let v = d.delivery.clone();
                        let subtitle = format!("{} to {}", v.event_type, v.endpoint_url);
                        let can_retry = v.status != "succeeded";
                        let back = format!("/webhooks/{}", v.endpoint_id);
                        let body = serde_json::from_str::<serde_json::Value>(&d.body)
                            .ok()
                            .and_then(|j| serde_json::to_string_pretty(&j).ok())
                            .unwrap_or(d.body.clone());
                        let facts = [
                            ("Status", v.status.clone()),
                            ("Created", v.created.clone()),
                            ("Attempts", v.attempts.to_string()),
                            ("Next try", v.next_attempt.clone().unwrap_or_else(|| "–".into())),
                            ("webhook-id", v.event_id.clone()),
                        ];
                        view! {
                            <PageHeader title="Delivery" subtitle>
                                <Badge text=v.status.clone() tone=status_tone(&v.status) />
                            </PageHeader>
                            <Notice />
                            <section class=format!("{CARD} p-4 md:p-6")>
                                <dl class="grid gap-3 text-sm sm:grid-cols-5">
                                    {facts.into_iter().map(|(k, val)| view! {
                                        <div class="min-w-0"><dt class="text-xs text-slate-500">{k}</dt><dd class="truncate font-medium">{val}</dd></div>
                                    }).collect_view()}
                                </dl>
                                <ErrorBox error />
                                <div class="mt-4 flex flex-wrap gap-3">
                                    {can_retry.then(|| view! {
                                        <ActionForm action=retry>
                                            <input type="hidden" name="id" value=v.id.clone() />
                                            <button class=BTN type="submit">"Retry now"</button>
                                        </ActionForm>
                                    })}
                                    <a class=BTN_SECONDARY href=back>"Endpoint"</a>
                                </div>
                            </section>
                            <section class=format!("{CARD} mt-6 p-4 md:p-6")>
                                <h2 class="font-semibold">"Request body as sent"</h2>
                                <pre class="mt-2 max-h-96 overflow-auto rounded bg-slate-50 p-3 text-xs">{body}</pre>
                            </section>
                            <h2 class="mb-2 mt-6 font-semibold">"Attempts"</h2>
                            {if d.attempts.is_empty() {
                                view! { <Empty title="Not tried yet" hint="The first attempt goes out within a moment." /> }.into_any()
                            } else {
                                view! {
                                    <ol class="space-y-3">
                                        {d.attempts.into_iter().map(|a| {
                                            let ok = a.error_class.is_none();
                                            let headline = match (a.status_code, &a.error_class) {
                                                (Some(c), _) => format!("HTTP {c}"),
                                                (None, Some(class)) => class.clone(),
                                                _ => "–".into(),
                                            };
                                            view! {
                                                <li class=format!("{CARD} p-4 text-sm")>
                                                    <div class="flex flex-wrap items-center gap-3">
                                                        <span class="font-semibold">{format!("#{}", a.attempt)}</span>
                                                        <Badge text=headline tone=if ok { "green" } else { "red" } />
                                                        <span class="text-slate-600">{format!("{} · {} ms", a.started, a.duration_ms)}</span>
                                                    </div>
                                                    {a.error.clone().map(|e| view! { <p class="mt-2 text-rose-800">{e}</p> })}
                                                    <details class="mt-2">
                                                        <summary class="cursor-pointer text-indigo-700">"Request headers"</summary>
                                                        <pre class="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs">{a.request_headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")}</pre>
                                                    </details>
                                                    {a.status_code.map(|_| view! {
                                                        <details class="mt-2">
                                                            <summary class="cursor-pointer text-indigo-700">"Response"</summary>
                                                            <pre class="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs">{a.response_headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")}</pre>
                                                            <pre class="mt-1 max-h-64 overflow-auto rounded bg-slate-50 p-2 text-xs">{a.response_body.clone().unwrap_or_default()}</pre>
                                                        </details>
                                                    })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ol>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
