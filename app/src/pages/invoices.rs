//! Invoices: list by status, the new-invoice form with line items, and one invoice.
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::invoices::{
    CreateInvoice, SetInvoiceStatus, get_invoice, invoice_options, list_invoices,
};
use crate::components::form::{ErrorText, SelectField, TextField, action_error, field_error};
use crate::components::live::Live;
use crate::components::payment::PaymentPanel;
use crate::components::ui::{
    BTN, BTN_SECONDARY, Badge, CARD, Empty, ErrorBox, INPUT, LABEL, LoadError, Notice, PageHeader,
    Pager,
};
use crate::error::AppError;
use crate::model::invoice::{InvoiceFormOptions, InvoiceStatus, InvoiceView};
use crate::model::page::parse_page;
use crate::model::payment::Subject;

/// Empty line rows on the form; blank rows are ignored, so the form works without JS.
const LINE_ROWS: usize = 5;

pub fn invoice_tone(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Paid => "green",
        InvoiceStatus::Sent => "blue",
        InvoiceStatus::Overdue => "red",
        InvoiceStatus::Draft => "amber",
        InvoiceStatus::Void | InvoiceStatus::Refunded => "grey",
    }
}

#[component]
pub fn InvoicesPage() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        query.with(|q| {
            (
                q.get("status").unwrap_or_default(),
                parse_page(q.get("page").as_deref()),
            )
        })
    };
    let data = Resource::new(args, |(s, p)| list_invoices(s, p));
    view! {
        <Live watch=vec![("invoice", None)] />
        <PageHeader title="Invoices">
            <a class=BTN href="/invoices/new">"New invoice"</a>
        </PageHeader>
        <nav class="mb-4 flex flex-wrap gap-2 text-sm" aria-label="Filter by status">
            {move || {
                let current = args().0;
                std::iter::once(("", "All"))
                    .chain(InvoiceStatus::ALL.into_iter().map(|s| (s.as_str(), s.label())))
                    .map(|(v, l)| {
                        let active = current == v;
                        let class = if active { "rounded-full bg-indigo-600 px-3 py-1 text-white" } else { "rounded-full bg-white px-3 py-1 text-slate-700 ring-1 ring-slate-200 hover:bg-slate-50" };
                        view! { <a class=class href=format!("/invoices?status={v}")>{l}</a> }
                    })
                    .collect_view()
            }}
        </nav>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(page) if page.items.is_empty() => view! { <Empty title="No invoices" hint="Invoices you create appear here." /> }.into_any(),
                    Ok(page) => {
                        let base = format!("/invoices?status={}", args().0);
                        let items = page.items.clone();
                        view! {
                            <ul class=format!("{CARD} divide-y divide-slate-100")>
                                {items.into_iter().map(|i| view! { <InvoiceRow i /> }).collect_view()}
                            </ul>
                            <Pager page base />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn InvoiceRow(i: InvoiceView) -> impl IntoView {
    view! {
        <li>
            <a href=format!("/invoices/{}", i.id) class="flex flex-wrap items-center gap-x-4 gap-y-1 px-4 py-3 hover:bg-slate-50">
                <span class="w-24 font-mono text-sm">{i.number}</span>
                <span class="min-w-0 flex-1 truncate font-medium">{i.client_name}</span>
                <span class="text-sm text-slate-600">{format!("Due {}", i.due_on)}</span>
                <span class="w-24 text-right font-medium tabular-nums">{i.total_label}</span>
                <Badge text=i.status.label() tone=invoice_tone(i.status) />
            </a>
        </li>
    }
}

#[component]
pub fn NewInvoicePage() -> impl IntoView {
    let options = Resource::new(|| (), |_| invoice_options());
    view! {
        <PageHeader title="New invoice" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match options.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(opts) => view! { <NewInvoiceForm opts /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An island, so a refused invoice keeps its lines as typed.
#[island]
fn NewInvoiceForm(opts: InvoiceFormOptions) -> impl IntoView {
    let action = ServerAction::<CreateInvoice>::new();
    let error = action_error(action);
    let lines_error = field_error(error, "lines");
    let clients = opts
        .clients
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    view! {
        <ActionForm action attr:class=format!("{CARD} space-y-4 p-4 md:p-6")>
            <ErrorBox error />
            <div class="grid gap-4 md:grid-cols-2">
                <SelectField label="Client" name="input[client_id]" field="client_id" error options=clients placeholder="Choose…" />
                <TextField label="Due date" name="input[due_on]" field="due_on" error kind="date" value=opts.default_due_on.clone() required=true />
            </div>
            <fieldset>
                <legend class=LABEL>{format!("Lines (prices in {})", opts.currency)}</legend>
                <div class="mt-2 space-y-2">
                    {(0..LINE_ROWS).map(|i| view! { <LineRow i error /> }).collect_view()}
                </div>
                <ErrorText message=lines_error id="lines-error".to_string() />
            </fieldset>
            <div>
                <label class=LABEL for="f-notes">"Notes"</label>
                <textarea class=INPUT id="f-notes" name="input[notes]" rows="2"></textarea>
            </div>
            <div class="flex gap-3">
                <button class=BTN type="submit">"Create draft"</button>
                <a class=BTN_SECONDARY href="/invoices">"Back"</a>
            </div>
        </ActionForm>
    }
}

#[component]
fn LineRow(i: usize, error: Signal<Option<AppError>>) -> impl IntoView {
    let msg = move |f: &'static str| {
        let key = format!("lines.{i}.{f}");
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field_message(&key))))
    };
    let (d, q, a) = (msg("description"), msg("quantity"), msg("unit_amount"));
    view! {
        <div class="grid grid-cols-6 gap-2 rounded-md border border-slate-200 p-2 sm:border-0 sm:p-0">
            <div class="col-span-6 sm:col-span-3">
                <input class=INPUT name=format!("input[lines][{i}][description]") placeholder="Description" aria-label=format!("Line {} description", i + 1) />
                <ErrorText message=d id=format!("l{i}d") />
            </div>
            <div class="col-span-2 sm:col-span-1">
                <input class=INPUT name=format!("input[lines][{i}][quantity]") placeholder="Qty" inputmode="numeric" aria-label=format!("Line {} quantity", i + 1) />
                <ErrorText message=q id=format!("l{i}q") />
            </div>
            <div class="col-span-4 sm:col-span-2">
                <input class=INPUT name=format!("input[lines][{i}][unit_amount]") placeholder="Unit price" inputmode="decimal" aria-label=format!("Line {} unit price", i + 1) />
                <ErrorText message=a id=format!("l{i}a") />
            </div>
        </div>
    }
}

#[component]
pub fn InvoicePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, get_invoice);
    let action = ServerAction::<SetInvoiceStatus>::new();
    let error = action_error(action);
    view! {
        // Reloads when a payment (or anyone) changes the invoice.
        <Live watch=vec![("invoice", Some(id()))] />
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <PageHeader title="Invoice" /><LoadError error=e /> }.into_any(),
                    Ok(inv) => {
                        let subtitle = format!("{} · {} · due {}", inv.number, inv.client_name, inv.due_on);
                        let id = inv.id.clone();
                        view! {
                            <PageHeader title="Invoice" subtitle>
                                <Badge text=inv.status.label() tone=invoice_tone(inv.status) />
                            </PageHeader>
                            <ErrorBox error />
                            <div class=format!("{CARD} overflow-x-auto")>
                                <table class="w-full text-sm">
                                    <thead class="bg-slate-50 text-left text-slate-600">
                                        <tr><th class="px-4 py-2">"Description"</th><th class="px-4 py-2 text-right">"Qty"</th><th class="px-4 py-2 text-right">"Unit"</th><th class="px-4 py-2 text-right">"Amount"</th></tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {inv.lines.iter().map(|l| view! {
                                            <tr>
                                                <td class="px-4 py-2">{l.description.clone()}</td>
                                                <td class="px-4 py-2 text-right tabular-nums">{l.quantity}</td>
                                                <td class="px-4 py-2 text-right tabular-nums">{l.unit_label.clone()}</td>
                                                <td class="px-4 py-2 text-right tabular-nums">{l.amount_label.clone()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                    <tfoot>
                                        <tr class="font-semibold"><td class="px-4 py-2" colspan="3">"Total"</td><td class="px-4 py-2 text-right tabular-nums">{inv.total_label.clone()}</td></tr>
                                    </tfoot>
                                </table>
                            </div>
                            {(!inv.notes.is_empty()).then(|| view! { <p class="mt-4 whitespace-pre-line text-sm text-slate-700">{inv.notes.clone()}</p> })}
                            <div class="mt-6 flex flex-wrap gap-2">
                                {inv.status.next_states().iter().map(|next| {
                                    let id = id.clone();
                                    view! {
                                        <ActionForm action>
                                            <input type="hidden" name="id" value=id />
                                            <input type="hidden" name="status" value=next.as_str() />
                                            <button class=BTN_SECONDARY type="submit">{next.action_label()}</button>
                                        </ActionForm>
                                    }
                                }).collect_view()}
                                <a class="px-2 py-2 text-sm text-indigo-700 hover:underline" href="/invoices">"All invoices"</a>
                            </div>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
        <PaymentPanel subject=Subject::Invoice subject_id=id() />
    }
}
