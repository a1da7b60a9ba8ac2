//! Organization settings, resources and the audit log.
use leptos::prelude::*;

use crate::api::auth::ChangePassword;
use crate::api::settings::{SaveSettings, get_settings, list_audit};
use crate::components::form::{SelectField, TextField, action_error};
use crate::components::ui::{BTN, CARD, Empty, ErrorBox, LoadError, Notice, PageHeader};
use crate::model::booking::guests;
use crate::model::money::CURRENCIES;
use crate::model::org::OrgSettings;

/// Zones offered in the select; any valid IANA name is accepted by the server.
const ZONES: &[&str] = &[
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Zurich",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "Australia/Sydney",
    "Asia/Tokyo",
    "UTC",
];

#[component]
pub fn SettingsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_settings());
    let audit = Resource::new(|| (), |_| list_audit(1));
    view! {
        <PageHeader title="Settings" />
        <Notice />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok((s, resources)) => {
                        view! {
                            <SettingsForm s />
                            <section class=format!("{CARD} mt-6 p-4 md:p-6")>
                                <h2 class="font-semibold">"Resources"</h2>
                                <p class="text-sm text-slate-600">"What guests book. Capacity is the number of guests it holds at one time."</p>
                                <ul class="mt-3 divide-y divide-slate-100 text-sm">
                                    {resources.into_iter().map(|r| view! {
                                        <li class="flex flex-wrap justify-between gap-2 py-2">
                                            <span class="font-medium">{r.name}</span>
                                            <span class="text-slate-600">{format!("{} · {} min slots · {}", guests(r.capacity.into()), r.slot_minutes, r.opening_hours.summary())}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
        <PasswordForm />
        <section class=format!("{CARD} mt-6 p-4 md:p-6")>
            <h2 class="font-semibold">"Recent changes"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match audit.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => view! { <Empty title="No changes yet" hint="Every change to bookings, clients and invoices is recorded here." /> }.into_any(),
                        Ok(page) => view! {
                            <ul class="mt-3 divide-y divide-slate-100 text-sm">
                                {page.items.into_iter().map(|a| view! {
                                    <li class="flex flex-wrap gap-x-3 py-2">
                                        <span class="tabular-nums text-slate-500">{a.at}</span>
                                        <span class="font-medium">{a.action}</span>
                                        <span class="text-slate-600">{a.entity}</span>
                                        <span class="text-slate-500">{format!("by {}", a.actor)}</span>
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

/// An island, so a refused save keeps what was typed.
#[island]
fn SettingsForm(s: OrgSettings) -> impl IntoView {
    let action = ServerAction::<SaveSettings>::new();
    let error = action_error(action);
    let mut zones: Vec<(String, String)> = ZONES
        .iter()
        .map(|z| (z.to_string(), z.replace('_', " ")))
        .collect();
    if !ZONES.contains(&s.time_zone.as_str()) {
        zones.insert(0, (s.time_zone.clone(), s.time_zone.clone()));
    }
    let currencies = CURRENCIES
        .iter()
        .map(|(c, _, _)| (c.to_string(), c.to_string()))
        .collect();
    view! {
        <ActionForm action attr:class=format!("{CARD} space-y-4 p-4 md:p-6")>
            <h2 class="font-semibold">"Business"</h2>
            <ErrorBox error />
            <TextField label="Name" name="input[name]" field="name" error value=s.name.clone() required=true />
            <div class="grid gap-4 md:grid-cols-2">
                <SelectField label="Time zone" name="input[time_zone]" field="time_zone" error options=zones selected=s.time_zone.clone() />
                <SelectField label="Currency" name="input[currency]" field="currency" error options=currencies selected=s.currency.clone() />
            </div>
            <TextField label="Guests may cancel or move online until (hours before)" name="input[cancel_cutoff_hours]" field="cancel_cutoff_hours" error kind="number" value=s.cancel_cutoff_hours.to_string() attrs_min="0" hint="After that, the guest link asks them to contact you." />
            <p class="text-xs text-slate-500">{format!("Public address name: {}", s.slug)}</p>
            <button class=BTN type="submit">"Save settings"</button>
        </ActionForm>
    }
}

/// Your own password: every role can change it. Saving signs out every other place
/// this account is signed in.
#[island]
fn PasswordForm() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    view! {
        <ActionForm action attr:class=format!("{CARD} mt-6 space-y-4 p-4 md:p-6") attr:id="password-form">
            <div>
                <h2 class="font-semibold">"Your password"</h2>
                <p class="text-sm text-slate-600">"Changing it signs you out everywhere else (other browsers, phones, a shared tablet)."</p>
            </div>
            <ErrorBox error />
            <div class="grid gap-4 md:grid-cols-2">
                <TextField label="Current password" name="current_password" field="current_password" error kind="password" required=true autocomplete="current-password" />
                <TextField label="New password" name="new_password" field="new_password" error kind="password" required=true autocomplete="new-password" hint="At least 10 characters." />
            </div>
            <button class=BTN type="submit">"Change password"</button>
        </ActionForm>
    }
}
