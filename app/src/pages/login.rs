use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::Login;
use crate::components::form::{TextField, action_error};
use crate::components::ui::{BTN, ErrorBox};
use crate::error::AppError;

#[component]
pub fn LoginPage() -> impl IntoView {
    // Set by the sign-in guard: the page to return to.
    let next = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("next"))
        .unwrap_or_default();
    view! {
        <Title text="Sign in" />
        <main class="flex min-h-screen items-center justify-center px-4">
            <div class="w-full max-w-sm">
                <h1 class="text-center text-3xl font-bold text-indigo-700">"Hitch"</h1>
                <p class="mt-1 text-center text-sm text-slate-600">"Sign in to manage bookings and invoices"</p>
                <div class="mt-8 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                    <LoginForm next />
                </div>
            </div>
        </main>
    }
}

/// An island, so a wrong password keeps the email as typed.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = action_error(login);
    // Field errors show under their field; anything else goes in the box above.
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Validation { .. }))
    });
    view! {
        <ErrorBox error=general />
        <ActionForm action=login attr:class="space-y-4">
            <input type="hidden" name="next" value=next />
            <TextField label="Email" name="email" field="email" error kind="email" required=true autocomplete="username" />
            <TextField label="Password" name="password" field="password" error kind="password" required=true autocomplete="current-password" />
            <button type="submit" class=format!("{BTN} w-full") disabled=move || login.pending().get()>
                {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}
