//! The signed-in frame: navigation, the user, sign-out. Signed-out visitors go to /login.
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::api::auth::{Logout, me};
use crate::api::platform::integration_alerts;
use crate::components::ui::LoadError;
use crate::error::AppError;
use crate::model::platform::IntegrationAlert;

const NAV: [(&str, &str); 9] = [
    ("/bookings", "Bookings"),
    ("/calendar", "Calendar"),
    ("/clients", "Clients"),
    ("/invoices", "Invoices"),
    ("/notifications", "Notifications"),
    ("/webhooks", "Webhooks"),
    ("/integrations", "Integrations"),
    ("/jobs", "Jobs"),
    ("/settings", "Settings"),
];

/// The frame renders at once; only the user's name waits for the session. The
/// `<Outlet/>` must stay outside any `<Suspense>`: under one, a resolving resource
/// re-creates the page on the server, its first copy's resource is still serialized,
/// and the browser then hydrates the wrong result (leptos-rs/leptos#2188, #3726).
#[component]
pub fn DashboardLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let logout = ServerAction::<Logout>::new();
    // The org name's slot also guards the frame: signed-out visitors go to /login.
    let org_name = move || {
        Suspend::new(async move {
            match user.await {
                Ok(Some(u)) => view! { <span class="block truncate text-xs text-slate-500">{u.org_name}</span> }.into_any(),
                Ok(None) | Err(AppError::Unauthenticated) => view! { <Redirect path="/login" /> }.into_any(),
                Err(e) => view! { <LoadError error=e /> }.into_any(),
            }
        })
    };
    let who = move || {
        Suspend::new(async move {
            user.await.ok().flatten().map(|u| {
                view! { <p class="truncate text-slate-600">{format!("{} · {}", u.name, u.role.as_str())}</p> }
            })
        })
    };
    view! {
        <div class="min-h-screen md:flex">
            <aside class="border-b border-slate-200 bg-white md:min-h-screen md:w-56 md:border-b-0 md:border-r">
                <div class="flex items-center justify-between px-4 py-3 md:block md:py-5">
                    <a href="/bookings" class="block">
                        <span class="text-lg font-bold text-indigo-700">"Hitch"</span>
                        <Suspense fallback=|| ()>
                            {org_name}
                        </Suspense>
                    </a>
                </div>
                <nav class="flex gap-1 overflow-x-auto px-2 pb-2 md:flex-col md:px-3" aria-label="Main">
                    {NAV
                        .into_iter()
                        .map(|(href, label)| {
                            view! {
                                <A
                                    href=href
                                    attr:class="whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700"
                                >
                                    {label}
                                </A>
                            }
                        })
                        .collect_view()}
                </nav>
                <div class="hidden border-t border-slate-200 px-4 py-4 text-sm md:block">
                    <Suspense fallback=|| ()>
                        {who}
                    </Suspense>
                    <ActionForm action=logout>
                        <button type="submit" class="mt-2 text-sm font-medium text-indigo-700 hover:underline">"Sign out"</button>
                    </ActionForm>
                </div>
            </aside>
            <main class="mx-auto w-full max-w-5xl flex-1 px-4 py-6 md:px-8">
                <AlertsBanner />
                <Outlet />
                <crate::components::select_all::SelectAllOnClick />
                <ActionForm action=logout attr:class="mt-10 border-t border-slate-200 pt-4 md:hidden">
                    <button type="submit" class="text-sm font-medium text-indigo-700">"Sign out"</button>
                </ActionForm>
            </main>
        </div>
    }
}

/// Tells admins on every page what an integration needs them for (an endpoint Hitch
/// switched off, a channel that keeps failing), one box per kind of trouble.
#[component]
fn AlertsBanner() -> impl IntoView {
    let alerts = Resource::new(|| (), |_| integration_alerts());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let list = alerts.await.unwrap_or_default();
                group_by_title(list).into_iter().map(|(title, items)| {
                    view! {
                        <div role="alert" class="mb-4 rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-900">
                            <p class="font-semibold">{title}</p>
                            <ul class="mt-1 space-y-1">
                                {items.into_iter().map(|a| view! {
                                    <li>
                                        <a class="font-medium underline" href=a.href>{a.subject}</a>
                                        {format!(" {}", a.detail)}
                                    </li>
                                }).collect_view()}
                            </ul>
                        </div>
                    }
                }).collect_view()
            })}
        </Suspense>
    }
}

/// Alerts grouped under their titles, in the order the titles first appear.
fn group_by_title(list: Vec<IntegrationAlert>) -> Vec<(String, Vec<IntegrationAlert>)> {
    let mut groups: Vec<(String, Vec<IntegrationAlert>)> = Vec::new();
    for a in list {
        match groups.iter_mut().find(|(t, _)| *t == a.title) {
            Some((_, items)) => items.push(a),
            None => groups.push((a.title.clone(), vec![a])),
        }
    }
    groups
}
