//! Stripe set-up (`/integrations/stripe`), and the two public pages Stripe sends payers
//! back to (`/payment/thanks`, `/payment/cancelled`).
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::payments::{RemoveStripe, SaveStripeSettings, TestStripe, stripe_settings};
use crate::components::form::action_error;
use crate::components::ui::{
    BTN, BTN_DANGER, BTN_SECONDARY, Badge, CARD, ErrorBox, INPUT, LABEL, LoadError, Notice,
    PageHeader,
};
use crate::model::payment::StripeSettingsView;

/// The Stripe events Hitch acts on: what to tick in Stripe's dashboard.
pub const STRIPE_EVENTS: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.payment_failed",
    "charge.refunded",
];

#[component]
pub fn StripeSettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveStripeSettings>::new();
    let test = ServerAction::<TestStripe>::new();
    let remove = ServerAction::<RemoveStripe>::new();
    // Server-rendered: each action is a form post that reloads the page.
    let settings = Resource::new(|| (), |_| stripe_settings());
    let error = action_error(save);
    let test_error = action_error(test);
    view! {
        <PageHeader title="Stripe" subtitle="Take card payments for invoices and booking deposits through your own Stripe account." />
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(s) => view! {
                        <Status s=s.clone() test test_error />
                        <KeysForm s=s.clone() save error />
                        <WebhookHelp url=s.webhook_url.clone() />
                        {s.configured.then(|| view! {
                            <ActionForm action=remove attr:class=format!("{CARD} mt-6 flex flex-wrap items-center justify-between gap-3 p-4 md:p-6")>
                                <div>
                                    <h2 class="font-semibold">"Disconnect Stripe"</h2>
                                    <p class="text-sm text-slate-600">"Deletes both keys from Hitch. Links already sent stay payable on Stripe until they expire."</p>
                                </div>
                                <button class=BTN_DANGER type="submit">"Remove keys"</button>
                            </ActionForm>
                        })}
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Status(
    s: StripeSettingsView,
    test: ServerAction<TestStripe>,
    test_error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let mode = match s.livemode {
        Some(true) => view! { <Badge text="Live mode: real payments" tone="green" /> }.into_any(),
        Some(false) => {
            view! { <Badge text="Test mode: no real money moves" tone="amber" /> }.into_any()
        }
        None => ().into_any(),
    };
    let (headline, detail) = match (&s.configured, &s.check_error, &s.account_id) {
        (false, _, _) => (
            "Not connected".to_string(),
            "Add your secret key and the webhook signing secret below.".to_string(),
        ),
        (true, Some(err), _) => ("Connection problem".to_string(), err.clone()),
        (true, None, Some(id)) => (
            format!(
                "Connected to {}",
                s.account_name.clone().unwrap_or_else(|| id.clone())
            ),
            s.checked_at
                .clone()
                .map(|t| format!("Account {id}, checked {t}."))
                .unwrap_or_default(),
        ),
        (true, None, None) => ("Keys saved".to_string(), "Not checked yet.".to_string()),
    };
    let bad = s.check_error.is_some();
    view! {
        <section class=format!("{CARD} mb-6 p-4 md:p-6")>
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div>
                    <div class="flex flex-wrap items-center gap-2">
                        <h2 class=if bad { "font-semibold text-rose-800" } else { "font-semibold" }>{headline}</h2>
                        {mode}
                    </div>
                    <p class="mt-1 text-sm text-slate-600">{detail}</p>
                </div>
                {s.configured.then(|| view! {
                    <ActionForm action=test>
                        <button class=BTN_SECONDARY type="submit" disabled=move || test.pending().get()>
                            {move || if test.pending().get() { "Checking…" } else { "Test connection" }}
                        </button>
                    </ActionForm>
                })}
            </div>
            <div class="mt-3"><ErrorBox error=test_error /></div>
        </section>
    }
}

#[component]
fn KeysForm(
    s: StripeSettingsView,
    save: ServerAction<SaveStripeSettings>,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let field = move |name: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.field_message(name)))
    };
    let (key_error, secret_error) = (field("secret_key"), field("webhook_secret"));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e, crate::error::AppError::Validation { .. }))
    });
    let keep = |hint: &Option<String>, fallback: &str| {
        hint.clone()
            .map(|h| format!("{h} (saved; leave empty to keep)"))
            .unwrap_or_else(|| fallback.to_string())
    };
    view! {
        <ActionForm action=save attr:class=format!("{CARD} space-y-4 p-4 md:p-6")>
            <h2 class="font-semibold">"Keys"</h2>
            <ErrorBox error=general />
            <div>
                <label class=LABEL for="stripe-secret-key">"Secret key"</label>
                <input class=INPUT id="stripe-secret-key" name="input[secret_key]" type="password" autocomplete="off" spellcheck="false"
                    placeholder=keep(&s.secret_key_hint, "sk_live_… or sk_test_…")
                    aria-invalid=move || key_error.get().is_some().to_string() aria-describedby="stripe-secret-key-help" />
                <p id="stripe-secret-key-help" class="mt-1 text-sm text-slate-500">
                    {move || key_error.get().map(|m| view! { <span class="text-rose-700">{m}</span> }.into_any())
                        .unwrap_or_else(|| "In Stripe: Developers → API keys. A restricted key (rk_…) with Checkout Sessions, Refunds and Account read access also works.".into_any())}
                </p>
            </div>
            <div>
                <label class=LABEL for="stripe-webhook-secret">"Webhook signing secret"</label>
                <input class=INPUT id="stripe-webhook-secret" name="input[webhook_secret]" type="password" autocomplete="off" spellcheck="false"
                    placeholder=keep(&s.webhook_secret_hint, "whsec_…")
                    aria-invalid=move || secret_error.get().is_some().to_string() aria-describedby="stripe-webhook-secret-help" />
                <p id="stripe-webhook-secret-help" class="mt-1 text-sm text-slate-500">
                    {move || secret_error.get().map(|m| view! { <span class="text-rose-700">{m}</span> }.into_any())
                        .unwrap_or_else(|| "Shown on the webhook endpoint's page in Stripe, after you add the endpoint below.".into_any())}
                </p>
            </div>
            <p class="text-xs text-slate-500">"Keys are encrypted before they are stored and are never shown again."</p>
            <button class=BTN type="submit" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving and checking…" } else { "Save and check" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn WebhookHelp(url: String) -> impl IntoView {
    view! {
        <section class=format!("{CARD} mt-6 p-4 md:p-6")>
            <h2 class="font-semibold">"Tell Stripe where to report payments"</h2>
            <ol class="mt-2 list-decimal space-y-1 pl-5 text-sm text-slate-700">
                <li>"In Stripe, open Developers → Webhooks → Add endpoint."</li>
                <li>"Paste this address as the endpoint URL:"</li>
            </ol>
            <input class=format!("{INPUT} font-mono text-sm") readonly=true value=url aria-label="Webhook endpoint URL" data-select-all="on" />
            <ol start="3" class="mt-3 list-decimal space-y-1 pl-5 text-sm text-slate-700">
                <li>"Select these events:"
                    <ul class="mt-1 flex flex-wrap gap-1">
                        {STRIPE_EVENTS.iter().map(|e| view! { <li><code class="rounded bg-slate-100 px-1 text-xs">{*e}</code></li> }).collect_view()}
                    </ul>
                </li>
                <li>"Save, reveal the endpoint's signing secret, and paste it in the form above."</li>
            </ol>
            <p class="mt-3 text-xs text-slate-500">"If an event is ever missed, Hitch asks Stripe about unsettled links every few minutes, so payments still show up."</p>
        </section>
    }
}

/// Where Stripe sends a payer after paying. Says nothing about the invoice: the page is
/// public, and the session id in its address is not proof of anything.
#[component]
pub fn PaymentThanksPage() -> impl IntoView {
    view! {
        <Title text="Payment received" />
        <PublicNote
            title="Thank you: your payment went through"
            text="You will receive a receipt from Stripe by email. You can close this page."
        />
    }
}

#[component]
pub fn PaymentCancelledPage() -> impl IntoView {
    view! {
        <Title text="Payment not completed" />
        <PublicNote
            title="No payment was taken"
            text="You left the payment page before paying. The link you received still works until it expires: open it again whenever you are ready."
        />
    }
}

#[component]
fn PublicNote(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <main class="flex min-h-screen items-center justify-center px-4">
            <div class="w-full max-w-md rounded-lg border border-slate-200 bg-white p-6 text-center shadow-sm">
                <h1 class="text-xl font-semibold text-slate-900">{title}</h1>
                <p class="mt-2 text-slate-600">{text}</p>
            </div>
        </main>
    }
}
