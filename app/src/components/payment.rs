//! The "Online payment" panel of an invoice or a booking's deposit: make a Stripe
//! payment link, copy it, expire it, see whether it was paid, refund. Rendered on the
//! server: every button is a plain form that comes back to the page with a notice, and
//! the page's live refresh shows a payment arriving.
use leptos::prelude::*;

use crate::api::payments::{CreatePaymentLink, ExpirePaymentLink, RefundPayment, load_payments};
use crate::components::form::action_error;
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, ErrorBox, INPUT, LABEL, LoadError,
};
use crate::error::AppError;
use crate::model::payment::{LinkStatus, PaymentLinkView, PaymentOverview, Subject};

fn tone(l: &PaymentLinkView) -> &'static str {
    match (l.status, l.paid) {
        (_, true) if l.refunded_minor >= l.amount_minor => "slate",
        (_, true) => "green",
        (LinkStatus::Active, _) => "blue",
        (LinkStatus::Completed, _) if l.payment_status == "failed" => "red",
        (LinkStatus::Completed, _) => "amber",
        _ => "slate",
    }
}

#[component]
pub fn PaymentPanel(subject: Subject, subject_id: String) -> impl IntoView {
    let create = ServerAction::<CreatePaymentLink>::new();
    let expire = ServerAction::<ExpirePaymentLink>::new();
    let refund = ServerAction::<RefundPayment>::new();
    // Server-rendered: each action is a form post that reloads the page.
    let links = Resource::new(
        {
            let id = subject_id.clone();
            move || id.clone()
        },
        move |id| load_payments(subject, id),
    );
    let errors = [action_error(create), action_error(expire)];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let refund_error = action_error(refund);
    let title = match subject {
        Subject::Invoice => "Online payment",
        Subject::Deposit => "Deposit payment",
    };
    view! {
        <section class=format!("{CARD} mt-6 p-4 md:p-6") aria-labelledby="payment-title">
            <h2 id="payment-title" class="font-semibold">{title}</h2>
            <div class="mt-3"><ErrorBox error /></div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || {
                    let subject_id = subject_id.clone();
                    Suspend::new(async move {
                        match links.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(o) => view! {
                                <Current o=o.clone() subject subject_id create expire refund refund_error />
                                <History list=o.links />
                            }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Current(
    o: PaymentOverview,
    subject: Subject,
    subject_id: String,
    create: ServerAction<CreatePaymentLink>,
    expire: ServerAction<ExpirePaymentLink>,
    refund: ServerAction<RefundPayment>,
    refund_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let list = &o.links;
    let paid = list.iter().find(|l| l.paid).cloned();
    let active = list
        .iter()
        .find(|l| l.status == LinkStatus::Active)
        .cloned();
    if let Some(l) = paid {
        let refundable = l.refundable_minor();
        let field_error = move || refund_error.get().and_then(|e| e.field_message("amount"));
        let general = move || {
            refund_error
                .get()
                .filter(|e| e.field_message("amount").is_none())
                .map(|e| e.to_string())
        };
        return view! {
            <div class="flex flex-wrap items-center gap-2">
                <Badge text=l.summary() tone=tone(&l) />
                <span class="text-sm text-slate-600">{l.completed_label.clone().map(|t| format!("through Stripe on {t}"))}</span>
            </div>
            {(!l.refunds.is_empty()).then(|| view! {
                <ul class="mt-3 space-y-1 text-sm text-slate-700">
                    {l.refunds.iter().map(|r| view! {
                        <li>{format!("Refunded {} on {}{}", r.amount_label, r.created_label, if r.reason.is_empty() { String::new() } else { format!(" — {}", r.reason) })}</li>
                    }).collect_view()}
                </ul>
            })}
            {(refundable > 0).then(|| view! {
                <details class="mt-4">
                    <summary class="cursor-pointer text-sm font-medium text-indigo-700">"Refund through Stripe…"</summary>
                    <ActionForm action=refund attr:class="mt-3 grid gap-3 md:grid-cols-[10rem_1fr_auto] md:items-end">
                        <input type="hidden" name="link_id" value=l.id.clone() />
                        <div>
                            <label class=LABEL for="refund-amount">"Amount"</label>
                            <input class=INPUT id="refund-amount" name="input[amount]" inputmode="decimal"
                                placeholder=format!("all: {}", crate::model::money::format_amount(refundable, &l.currency))
                                aria-invalid=move || field_error().is_some().to_string()
                                aria-describedby="refund-amount-error" />
                        </div>
                        <div>
                            <label class=LABEL for="refund-reason">"Reason (for your records)"</label>
                            <input class=INPUT id="refund-reason" name="input[reason]" maxlength="500" />
                        </div>
                        <button class=BTN_DANGER type="submit" disabled=move || refund.pending().get()>
                            {move || if refund.pending().get() { "Refunding…" } else { "Refund through Stripe" }}
                        </button>
                    </ActionForm>
                    <p id="refund-amount-error" class="mt-1 text-sm text-rose-700">{field_error}</p>
                    <p class="mt-1 text-sm text-rose-700">{general}</p>
                    <p class="mt-2 text-xs text-slate-500">"Leave the amount empty to refund everything that is left. Stripe returns the money to the payer's card in 5–10 days."</p>
                </details>
            })}
        }
        .into_any();
    }
    if let Some(l) = active {
        let url = l.url.clone();
        return view! {
            <div class="flex flex-wrap items-center gap-2">
                <Badge text=l.summary() tone=tone(&l) />
                <span class="text-sm text-slate-600">{format!("{} · payable until {}", l.amount_label, l.expires_label)}</span>
            </div>
            {l.last_error.clone().map(|e| view! {
                <p class="mt-2 text-sm text-amber-800">{format!("Last attempt failed: {e} The payer can try again with the same link.")}</p>
            })}
            <label class=format!("{LABEL} mt-4") for="payment-url">"Payment link: send it to the payer"</label>
            <div class="mt-1 flex flex-col gap-2 sm:flex-row">
                <input class=format!("{INPUT} mt-0 font-mono text-sm") id="payment-url" readonly=true value=url.clone() data-select-all="on" />
                <a class=BTN_SECONDARY href=url target="_blank" rel="noopener">"Open"</a>
            </div>
            <ActionForm action=expire attr:class="mt-4">
                <input type="hidden" name="link_id" value=l.id.clone() />
                <button class=BTN_DANGER type="submit" disabled=move || expire.pending().get()>"Expire link"</button>
                <span class="ml-3 text-xs text-slate-500">"Stops the link from taking payments, e.g. after the amount changed."</span>
            </ActionForm>
        }
        .into_any();
    }
    let unpaid_before = list.first().map(|l| l.summary());
    if let Some(why) = o.blocked {
        return view! { <p class="text-sm text-slate-600">{why}</p> }.into_any();
    }
    if !o.stripe_ready {
        return view! {
            <p class="text-sm text-slate-600">
                "Let clients pay by card through Stripe: "
                <a class="font-medium text-indigo-700 hover:underline" href="/integrations/stripe">"connect your Stripe account"</a>
                " first."
            </p>
        }
        .into_any();
    }
    let amount = o.amount_label.unwrap_or_default();
    view! {
        <p class="text-sm text-slate-600">
            {match subject {
                Subject::Invoice => format!("Create a Stripe payment link for {amount} and send it to the client: they pay by card, and this invoice is marked paid by itself."),
                Subject::Deposit => format!("Create a Stripe payment link for the {amount} deposit and send it to the guest: once paid, a pending booking is confirmed by itself."),
            }}
        </p>
        {unpaid_before.map(|s| view! { <p class="mt-1 text-sm text-slate-500">{format!("Last link: {s}.")}</p> })}
        <ActionForm action=create attr:class="mt-4">
            <input type="hidden" name="subject" value=subject.as_str() />
            <input type="hidden" name="subject_id" value=subject_id />
            <button class=BTN type="submit" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Asking Stripe…" } else { "Create payment link" }}
            </button>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn History(list: Vec<PaymentLinkView>) -> impl IntoView {
    (list.len() > 1).then(|| {
        view! {
            <details class="mt-4 text-sm">
                <summary class="cursor-pointer text-slate-600">{format!("All payment links ({})", list.len())}</summary>
                <ul class="mt-2 divide-y divide-slate-100">
                    {list.into_iter().map(|l| view! {
                        <li class="flex flex-wrap items-center justify-between gap-2 py-2">
                            <span>{format!("{} · created {}", l.amount_label, l.created_label)}</span>
                            <Badge text=l.summary() tone=tone(&l) />
                        </li>
                    }).collect_view()}
                </ul>
            </details>
        }
    })
}
