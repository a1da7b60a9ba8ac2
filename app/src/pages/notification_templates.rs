//! The template editor: pick an event and a channel family, edit subject and body, see
//! the variables beside it and a preview with sample data. The preview follows typing
//! once the WASM has loaded; without it, the Preview button reloads the page with the
//! draft and the server renders the preview.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::notifications::{SaveTemplate, get_template, preview_template};
use crate::components::form::action_error;
use crate::components::ui::{
    BTN, BTN_SECONDARY, Badge, CARD, ErrorBox, INPUT, LABEL, LoadError, Notice, PageHeader,
};
use crate::model::notification::{EVENT_TYPES, FAMILIES, TemplateInput, TemplateView, event_label};

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let query = use_query_map();
    let pick = move || {
        query.with(|q| {
            (
                q.get("event_type")
                    .or_else(|| q.get("input[event_type]"))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "booking.created".into()),
                q.get("family")
                    .or_else(|| q.get("input[family]"))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "email".into()),
                // A draft sent by the no-JavaScript Preview button.
                q.get("input[body]")
                    .map(|b| (q.get("input[subject]").unwrap_or_default(), b)),
            )
        })
    };
    let template = Resource::new(pick, |(e, f, _)| get_template(e, f));
    view! {
        <PageHeader title="Message templates" subtitle="What each notification says, per event and channel. Hitch's defaults apply until you save your own." />
        <Notice />
        <p class="mb-4 text-sm"><a class="text-indigo-700 hover:underline" href="/notifications">"← Notifications"</a></p>
        <form method="get" action="/notifications/templates" class=format!("{CARD} mb-6 flex flex-wrap items-end gap-3 p-4")>
            <div>
                <label class=LABEL for="pick-event">"Event"</label>
                <select class=INPUT id="pick-event" name="event_type">
                    {move || { let (e, _, _) = pick(); EVENT_TYPES.iter().map(|t| view! { <option value=*t selected=*t == e>{format!("{} ({t})", event_label(t))}</option> }).collect_view() }}
                </select>
            </div>
            <div>
                <label class=LABEL for="pick-family">"Channel"</label>
                <select class=INPUT id="pick-family" name="family">
                    {move || { let (_, f, _) = pick(); FAMILIES.iter().map(|(k, l)| view! { <option value=*k selected=*k == f>{*l}</option> }).collect_view() }}
                </select>
            </div>
            <button class=BTN_SECONDARY type="submit">"Open"</button>
        </form>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (_, _, draft) = pick();
                match template.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(t) => {
                        let (subject, body) = draft.unwrap_or_else(|| (t.subject.clone(), t.body.clone()));
                        view! { <Editor template=t subject body /> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// An island: the preview follows the text as it is typed.
#[island]
fn Editor(template: TemplateView, subject: String, body: String) -> impl IntoView {
    let save = ServerAction::<SaveTemplate>::new();
    let error = action_error(save);
    let subject = RwSignal::new(subject);
    let body = RwSignal::new(body);
    let (event_type, family) = (template.event_type.clone(), template.family.clone());
    let preview = Resource::new(move || (subject.get(), body.get()), {
        let (event_type, family) = (event_type.clone(), family.clone());
        move |(subject, body)| {
            preview_template(TemplateInput {
                event_type: event_type.clone(),
                family: family.clone(),
                subject,
                body,
            })
        }
    });
    let has_subject = family != "sms";
    view! {
        <div class="grid gap-6 lg:grid-cols-3">
            <section class=format!("{CARD} p-4 md:p-6 lg:col-span-2")>
                <div class="flex flex-wrap items-center gap-2">
                    <h2 class="font-semibold"><code>{event_type.clone()}</code>{format!(" · {family}")}</h2>
                    {if template.customized { view! { <Badge text="your template" tone="blue" /> } } else { view! { <Badge text="Hitch default" tone="slate" /> } }}
                </div>
                <ActionForm action=save attr:class="mt-3 space-y-3" attr:id="template-form">
                    <input type="hidden" name="input[event_type]" value=event_type.clone() />
                    <input type="hidden" name="input[family]" value=family.clone() />
                    {has_subject.then(|| view! {
                        <div>
                            <label class=LABEL for="tpl-subject">{if family == "email" { "Subject" } else { "Title" }}</label>
                            <input class=INPUT id="tpl-subject" name="input[subject]" prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev)) />
                        </div>
                    })}
                    {(!has_subject).then(|| view! { <input type="hidden" name="input[subject]" value="" /> })}
                    <div>
                        <label class=LABEL for="tpl-body">"Message"</label>
                        <textarea class=format!("{INPUT} font-mono text-sm") id="tpl-body" name="input[body]" rows="12" prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))>{body.get_untracked()}</textarea>
                    </div>
                    <ErrorBox error />
                    <div class="flex flex-wrap gap-2">
                        <button class=BTN type="submit" name="action" value="save">"Save"</button>
                        // Without JavaScript: reload with the draft; the server renders it.
                        <button class=BTN_SECONDARY type="submit" formmethod="get" formaction="/notifications/templates" formnovalidate=true name="action" value="preview">"Preview"</button>
                        {template.customized.then(|| view! { <button class=BTN_SECONDARY type="submit" name="action" value="reset">"Back to Hitch's default"</button> })}
                    </div>
                </ActionForm>
                <h3 class="mt-6 font-semibold">"Preview with sample data"</h3>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(p) if p.error.is_some() => view! {
                                <p role="alert" class="mt-2 whitespace-pre-wrap rounded-md border border-rose-300 bg-rose-50 p-3 text-sm text-rose-800" id="preview-error">{p.error.unwrap_or_default()}</p>
                            }.into_any(),
                            Ok(p) => view! {
                                <div class="mt-2 rounded-md border border-slate-200 bg-slate-50 p-3 text-sm" id="preview">
                                    {(!p.subject.is_empty()).then(|| view! { <p class="font-semibold">{p.subject.clone()}</p> })}
                                    <pre class="mt-1 whitespace-pre-wrap font-sans">{p.body.clone()}</pre>
                                    {p.segments.map(|s| view! { <p class="mt-2 text-xs text-slate-600" id="segments">{format!("{} SMS segment(s), {} ({} units)", s.count, s.encoding, s.units)}</p> })}
                                </div>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <aside class=format!("{CARD} p-4 text-sm")>
                <h2 class="font-semibold">"Variables"</h2>
                <p class="mt-1 text-slate-600">"Write "<code>"{{ guest.name }}"</code>". An unknown name is refused when you save, with its line and column."</p>
                <ul class="mt-2 space-y-1">
                    {template.variables.iter().map(|v| view! {
                        <li><code class="text-indigo-700">{v.name.clone()}</code><span class="text-slate-500">{format!(" · {} · e.g. {}", v.kind, v.example)}</span></li>
                    }).collect_view()}
                </ul>
                <h2 class="mt-4 font-semibold">"Filters"</h2>
                <ul class="mt-2 space-y-1">
                    {template.filters.iter().map(|v| view! {
                        <li><code class="text-indigo-700">{format!("|{}", v.name)}</code><span class="text-slate-500">{format!(" · {} · {}", v.kind, v.example)}</span></li>
                    }).collect_view()}
                </ul>
            </aside>
        </div>
    }
}
