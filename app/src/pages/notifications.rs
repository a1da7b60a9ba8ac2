//! Notifications: channels with their health and a test button, the rules that say what
//! goes where, a chart of the last two weeks, and the log. Templates have their own
//! page (`notification_templates.rs`). Everything works as plain forms without the WASM.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::notifications::{
    ChangeRule, CreateChannel, CreateRule, DeleteChannel, RetryNotification, SendTestMessage,
    SetChannelEnabled, list_channels, list_notifications, list_rules, notification_stats,
};
use crate::components::form::action_error;
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader, Pager,
};
use crate::model::notification::{
    ChannelStats, KINDS, NotificationFilter, RECIPIENTS, REMINDER, SECURITY, event_label,
};
use crate::model::page::parse_page;

fn health_tone(h: &str) -> &'static str {
    match h {
        "healthy" => "green",
        "degraded" | "quota_reached" => "amber",
        _ => "red",
    }
}

fn status_tone(s: &str) -> &'static str {
    match s {
        "sent" => "green",
        "pending" | "sending" => "amber",
        "failed" => "red",
        _ => "slate",
    }
}

/// Bumped after every action on the page, so each list loads again (an action's
/// redirect may lead to the very URL the page already shows).
#[derive(Clone, Copy)]
struct Refresh(RwSignal<u32>);

fn refresh() -> RwSignal<u32> {
    use_context::<Refresh>().map_or_else(|| RwSignal::new(0), |r| r.0)
}

fn reload_after(version: RwSignal<usize>) {
    let r = refresh();
    Effect::new(move |_| {
        if version.get() > 0 {
            r.update(|n| *n += 1);
        }
    });
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    provide_context(Refresh(RwSignal::new(0)));
    view! {
        <PageHeader title="Notifications" subtitle="Messages to your team on Slack or Discord, and to guests and clients by email and SMS, when something happens." />
        <Notice />
        <div class="mb-4 flex flex-wrap gap-2">
            <a class=BTN_SECONDARY href="/notifications/templates">"Edit message templates"</a>
            <a class=BTN_SECONDARY href="/notifications/log.csv">"Export log (CSV)"</a>
            <a class=BTN_SECONDARY href="/notifications/stats.csv">"Export statistics (CSV)"</a>
        </div>
        <Channels />
        <Rules />
        <Chart />
        <Log />
    }
}

#[component]
fn Channels() -> impl IntoView {
    let create = ServerAction::<CreateChannel>::new();
    let error = action_error(create);
    reload_after(create.version());
    let r = refresh();
    let channels = Resource::new(move || r.get(), |_| list_channels());
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6") id="channels">
            <h2 class="font-semibold">"Channels"</h2>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match channels.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <div class="mt-3"><Empty title="No channels yet" hint="Connect Slack, Discord, email or SMS below. Hitch adds sensible rules and ready-made messages for it." /></div>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-3 divide-y divide-slate-100">
                                {list.into_iter().map(|c| {
                                    let (id1, id2, id3) = (c.id.clone(), c.id.clone(), c.id.clone());
                                    let test = ServerAction::<SendTestMessage>::new();
                                    let toggle = ServerAction::<SetChannelEnabled>::new();
                                    let delete = ServerAction::<DeleteChannel>::new();
                                    for v in [test.version(), toggle.version(), delete.version()] {
                                        reload_after(v);
                                    }
                                    let quota = c.monthly_quota.map(|q| format!(" · {} of {q} this month", c.sent_this_month)).unwrap_or_else(|| format!(" · {} sent this month", c.sent_this_month));
                                    view! {
                                        <li class="flex flex-col gap-2 py-3 md:flex-row md:items-center md:justify-between">
                                            <div class="min-w-0">
                                                <div class="flex flex-wrap items-center gap-2">
                                                    <span class="font-medium">{c.name.clone()}</span>
                                                    <Badge text=c.health.replace('_', " ") tone=health_tone(&c.health) />
                                                    {(!c.enabled).then(|| view! { <Badge text="off" tone="slate" /> })}
                                                </div>
                                                <p class="text-sm text-slate-600">{format!("{} · {}{quota}", c.kind_label, c.secret_hint)}</p>
                                                <p class="text-xs text-slate-500">{c.health_detail.clone()}</p>
                                            </div>
                                            <div class="flex flex-wrap gap-2">
                                                <ActionForm action=test>
                                                    <input type="hidden" name="id" value=id1 />
                                                    <button class=BTN_SECONDARY type="submit">"Send a test"</button>
                                                </ActionForm>
                                                <ActionForm action=toggle>
                                                    <input type="hidden" name="id" value=id2 />
                                                    <input type="hidden" name="enabled" value=if c.enabled && c.health != "broken" { "false" } else { "true" } />
                                                    <button class=BTN_SECONDARY type="submit">{if c.health == "broken" { "Reconnect" } else if c.enabled { "Turn off" } else { "Turn on" }}</button>
                                                </ActionForm>
                                                <ActionForm action=delete>
                                                    <input type="hidden" name="id" value=id3 />
                                                    <button class=BTN_DANGER type="submit">"Delete"</button>
                                                </ActionForm>
                                            </div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
            <details class="mt-4 rounded-md border border-slate-200 p-3">
                <summary class="cursor-pointer font-medium text-indigo-700">"Connect a channel"</summary>
                <ActionForm action=create attr:class="mt-3 grid gap-3 md:grid-cols-2">
                    <div>
                        <label class=LABEL for="ch-kind">"Kind"</label>
                        <select class=INPUT id="ch-kind" name="input[kind]">
                            {KINDS.iter().map(|(k, l, _)| view! { <option value=*k>{*l}</option> }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label class=LABEL for="ch-name">"Name"</label>
                        <input class=INPUT id="ch-name" name="input[name]" placeholder="e.g. Front desk Slack" required=true maxlength="80" />
                    </div>
                    <div class="md:col-span-2">
                        <label class=LABEL for="ch-secret">"Webhook URL, password, API key or auth token"</label>
                        <input class=INPUT id="ch-secret" name="input[secret]" type="password" autocomplete="off" />
                        <p class="mt-1 text-xs text-slate-500">"Slack and Discord: the webhook URL. SMTP: the password. SendGrid: the API key. Twilio: the auth token. Stored encrypted; shown masked."</p>
                    </div>
                    <div>
                        <label class=LABEL for="ch-from">"Sender (email, or SMS number)"</label>
                        <input class=INPUT id="ch-from" name="input[from]" placeholder="desk@example.com or +14155550100" />
                    </div>
                    <div>
                        <label class=LABEL for="ch-from-name">"Sender name (email)"</label>
                        <input class=INPUT id="ch-from-name" name="input[from_name]" maxlength="80" />
                    </div>
                    <div>
                        <label class=LABEL for="ch-team">"Team address or number"</label>
                        <input class=INPUT id="ch-team" name="input[team_to]" placeholder="Where team messages go (email and SMS)" />
                    </div>
                    <div>
                        <label class=LABEL for="ch-quota">"Monthly quota (messages)"</label>
                        <input class=INPUT id="ch-quota" name="input[monthly_quota]" inputmode="numeric" placeholder="Empty: no limit" />
                    </div>
                    <div>
                        <label class=LABEL for="ch-host">"SMTP host"</label>
                        <input class=INPUT id="ch-host" name="input[host]" placeholder="smtp.example.com" />
                    </div>
                    <div class="grid grid-cols-2 gap-3">
                        <div>
                            <label class=LABEL for="ch-port">"Port"</label>
                            <input class=INPUT id="ch-port" name="input[port]" inputmode="numeric" placeholder="587" />
                        </div>
                        <div>
                            <label class=LABEL for="ch-security">"Security"</label>
                            <select class=INPUT id="ch-security" name="input[security]">
                                {SECURITY.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                            </select>
                        </div>
                    </div>
                    <div>
                        <label class=LABEL for="ch-user">"SMTP user"</label>
                        <input class=INPUT id="ch-user" name="input[username]" autocomplete="off" />
                    </div>
                    <div>
                        <label class=LABEL for="ch-sid">"Twilio account SID"</label>
                        <input class=INPUT id="ch-sid" name="input[account_sid]" placeholder="AC…" />
                    </div>
                    <div class="md:col-span-2"><ErrorBox error /></div>
                    <div class="md:col-span-2"><button class=BTN type="submit">"Connect"</button></div>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn Rules() -> impl IntoView {
    let create = ServerAction::<CreateRule>::new();
    let error = action_error(create);
    reload_after(create.version());
    let r = refresh();
    let rules = Resource::new(move || r.get(), |_| list_rules());
    let channels = Resource::new(move || r.get(), |_| list_channels());
    let types = crate::model::notification::event_types_for_rules();
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6") id="rules">
            <h2 class="font-semibold">"Rules"</h2>
            <p class="mt-1 text-sm text-slate-600">"When an event happens, which channel sends its message, and to whom. Reminders go the given hours before a booking starts."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match rules.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="mt-3 text-sm text-slate-500">"No rules yet: connecting a channel adds a first set."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-3 divide-y divide-slate-100 text-sm">
                                {list.into_iter().map(|r| {
                                    let what = match r.remind_hours {
                                        Some(h) if r.event_type == REMINDER => format!("Reminder {h} h before a booking"),
                                        _ => event_label(&r.event_type).to_string(),
                                    };
                                    let op = if r.enabled { "disable" } else { "enable" };
                                    let pause = ServerAction::<ChangeRule>::new();
                                    let remove = ServerAction::<ChangeRule>::new();
                                    let (rid1, rid2) = (r.id.clone(), r.id.clone());
                                    reload_after(pause.version());
                                    reload_after(remove.version());
                                    view! {
                                        <li class="flex flex-wrap items-center justify-between gap-2 py-2">
                                            <span class=if r.enabled { "" } else { "text-slate-400" }>
                                                <span class="font-medium">{what}</span>
                                                {format!(" → {} · to {}", r.channel_name, r.recipient)}
                                            </span>
                                            <span class="flex gap-2">
                                                <ActionForm action=pause>
                                                    <input type="hidden" name="id" value=rid1 />
                                                    <input type="hidden" name="op" value=op />
                                                    <button class=BTN_SECONDARY type="submit">{if r.enabled { "Pause" } else { "Resume" }}</button>
                                                </ActionForm>
                                                <ActionForm action=remove>
                                                    <input type="hidden" name="id" value=rid2 />
                                                    <input type="hidden" name="op" value="delete" />
                                                    <button class=BTN_DANGER type="submit">"Remove"</button>
                                                </ActionForm>
                                            </span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || { let types = types.clone(); Suspend::new(async move {
                    let Ok(chs) = channels.await else { return ().into_any() };
                    if chs.is_empty() {
                        return ().into_any();
                    }
                    view! {
                        <ActionForm action=create attr:class="mt-4 grid gap-3 md:grid-cols-5 md:items-end">
                            <div class="md:col-span-2">
                                <label class=LABEL for="rule-event">"When"</label>
                                <select class=INPUT id="rule-event" name="input[event_type]">
                                    {types.into_iter().map(|t| view! { <option value=t>{event_label(t)}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="rule-channel">"Channel"</label>
                                <select class=INPUT id="rule-channel" name="input[channel_id]">
                                    {chs.into_iter().map(|c| view! { <option value=c.id>{c.name}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="rule-to">"To"</label>
                                <select class=INPUT id="rule-to" name="input[recipient]">
                                    {RECIPIENTS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="rule-hours">"Hours before (reminders)"</label>
                                <input class=INPUT id="rule-hours" name="input[remind_hours]" inputmode="numeric" placeholder="24" />
                            </div>
                            <div class="md:col-span-5"><ErrorBox error /></div>
                            <div><button class=BTN type="submit">"Add rule"</button></div>
                        </ActionForm>
                    }.into_any()
                })}}
            </Suspense>
        </section>
    }
}

/// Sent, failed and skipped per day, all channels together, as server-drawn SVG bars.
#[component]
fn Chart() -> impl IntoView {
    let r = refresh();
    let stats = Resource::new(move || r.get(), |_| notification_stats());
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6") id="chart">
            <h2 class="font-semibold">"Last 14 days"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match stats.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(s) => chart(&s).into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn chart(stats: &[ChannelStats]) -> impl IntoView + use<> {
    let days = stats.first().map_or(0, |c| c.days.len());
    let totals: Vec<(String, u64, u64, u64)> = (0..days)
        .map(|i| {
            let day = stats[0].days[i].day.clone();
            let (s, f, k) = stats.iter().fold((0, 0, 0), |(s, f, k), c| {
                (
                    s + c.days[i].sent,
                    f + c.days[i].failed,
                    k + c.days[i].skipped,
                )
            });
            (day, s, f, k)
        })
        .collect();
    let max = totals
        .iter()
        .map(|t| t.1 + t.2 + t.3)
        .max()
        .unwrap_or(0)
        .max(1);
    let sum: u64 = totals.iter().map(|t| t.1 + t.2 + t.3).sum();
    let bar_w = 24.0;
    let gap = 8.0;
    let h = 120.0;
    let width = (bar_w + gap) * days as f64;
    let label = format!(
        "{} sent, {} failed, {} skipped in {days} days",
        totals.iter().map(|t| t.1).sum::<u64>(),
        totals.iter().map(|t| t.2).sum::<u64>(),
        totals.iter().map(|t| t.3).sum::<u64>()
    );
    view! {
        <p class="mt-1 text-sm text-slate-600">{label.clone()}</p>
        {(sum > 0).then(|| view! {
            <svg class="mt-3 h-auto w-full max-w-2xl" viewBox=format!("0 0 {width} {}", h + 16.0) role="img" aria-label=label.clone()>
                {totals.iter().enumerate().map(|(i, (day, s, f, k))| {
                    let x = i as f64 * (bar_w + gap);
                    let scale = |n: u64| n as f64 / max as f64 * h;
                    let (hs, hf, hk) = (scale(*s), scale(*f), scale(*k));
                    view! {
                        <g>
                            <title>{format!("{day}: {s} sent, {f} failed, {k} skipped")}</title>
                            <rect x=x y=h - hs width=bar_w height=hs fill="#16a34a" />
                            <rect x=x y=h - hs - hf width=bar_w height=hf fill="#dc2626" />
                            <rect x=x y=h - hs - hf - hk width=bar_w height=hk fill="#94a3b8" />
                            <text x=x + bar_w / 2.0 y=h + 12.0 font-size="9" text-anchor="middle" fill="#64748b">{day.get(8..).unwrap_or_default().to_string()}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <p class="mt-1 flex gap-4 text-xs text-slate-600">
                <span><span class="mr-1 inline-block h-2 w-2 bg-green-600"></span>"sent"</span>
                <span><span class="mr-1 inline-block h-2 w-2 bg-red-600"></span>"failed"</span>
                <span><span class="mr-1 inline-block h-2 w-2 bg-slate-400"></span>"skipped"</span>
            </p>
        })}
    }
}

#[component]
fn Log() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| NotificationFilter {
            status: q.get("status").filter(|s| !s.is_empty()),
            channel_id: q.get("channel").filter(|s| !s.is_empty()),
            page: parse_page(q.get("page").as_deref()),
        })
    };
    let r = refresh();
    let log = Resource::new(move || (filter(), r.get()), |(f, _)| list_notifications(f));
    view! {
        <section class=format!("{CARD} p-4 md:p-6") id="log">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 class="font-semibold">"Log"</h2>
                <nav class="flex flex-wrap gap-2 text-sm" aria-label="Filter by status">
                    {[("", "All"), ("sent", "Sent"), ("failed", "Failed"), ("pending", "Waiting"), ("skipped", "Skipped")].into_iter().map(|(s, l)| {
                        view! { <a class="rounded px-2 py-1 text-indigo-700 hover:bg-indigo-50" href=format!("/notifications?status={s}#log")>{l}</a> }
                    }).collect_view()}
                </nav>
            </div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match log.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => view! {
                            <div class="mt-3"><Empty title="Nothing sent yet" hint="Messages appear here as events happen, with what was sent and what the provider answered." /></div>
                        }.into_any(),
                        Ok(page) => {
                            let base = filter().status.map(|s| format!("/notifications?status={s}")).unwrap_or_else(|| "/notifications".into());
                            view! {
                                <ul class="mt-3 divide-y divide-slate-100">
                                    {page.items.clone().into_iter().map(|n| { let retry = ServerAction::<RetryNotification>::new(); reload_after(retry.version()); view! {
                                        <li class="py-3">
                                            <details>
                                                <summary class="flex cursor-pointer flex-wrap items-center gap-x-3 gap-y-1">
                                                    <span class="w-40 shrink-0 text-xs tabular-nums text-slate-500">{n.created.clone()}</span>
                                                    <span class="text-sm font-medium">{event_label(&n.event_type)}</span>
                                                    <span class="min-w-0 flex-1 truncate text-sm text-slate-600">{format!("{} · {} · {} send(s)", n.channel_name, n.recipient, n.attempts)}</span>
                                                    <Badge text=n.status.clone() tone=status_tone(&n.status) />
                                                </summary>
                                                <div class="mt-2 space-y-2 text-sm">
                                                    {(!n.detail.is_empty()).then(|| view! { <p class="text-slate-700">{n.detail.clone()}</p> })}
                                                    {n.subject.clone().filter(|s| !s.is_empty()).map(|s| view! { <p class="font-medium">{s}</p> })}
                                                    {n.body.clone().map(|b| view! { <pre class="whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs">{b}</pre> })}
                                                    {n.provider_status.map(|s| view! { <p class="text-xs text-slate-500">{format!("Provider answered {s}: {}", n.provider_response.clone().unwrap_or_default())}</p> })}
                                                    {(n.status == "failed").then(|| view! {
                                                        <ActionForm action=retry>
                                                            <input type="hidden" name="id" value=n.id.clone() />
                                                            <button class=BTN_SECONDARY type="submit">"Retry"</button>
                                                        </ActionForm>
                                                    })}
                                                </div>
                                            </details>
                                        </li>
                                    }}).collect_view()}
                                </ul>
                                <Pager page=page base=base />
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
