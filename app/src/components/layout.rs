//! The signed-in frame: navigation, the user, sign-out. Signed-out visitors go to /login.
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::api::auth::{Logout, me};
use crate::components::ui::LoadError;
use crate::error::AppError;
use crate::model::auth::CurrentUser;

const NAV: [(&str, &str); 5] = [
    ("/bookings", "Bookings"),
    ("/clients", "Clients"),
    ("/invoices", "Invoices"),
    ("/integrations", "Integrations"),
    ("/settings", "Settings"),
];

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) => view! { <Frame user=u /> }.into_any(),
                    Ok(None) | Err(AppError::Unauthenticated) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => view! { <main class="p-6"><LoadError error=e /></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let org = user.org_name.clone();
    let who = format!("{} · {}", user.name, user.role.as_str());
    provide_context(user);
    view! {
        <div class="min-h-screen md:flex">
            <aside class="border-b border-slate-200 bg-white md:min-h-screen md:w-56 md:border-b-0 md:border-r">
                <div class="flex items-center justify-between px-4 py-3 md:block md:py-5">
                    <a href="/bookings" class="block">
                        <span class="text-lg font-bold text-indigo-700">"Hitch"</span>
                        <span class="block truncate text-xs text-slate-500">{org}</span>
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
                    <p class="truncate text-slate-600">{who}</p>
                    <ActionForm action=logout>
                        <button type="submit" class="mt-2 text-sm font-medium text-indigo-700 hover:underline">"Sign out"</button>
                    </ActionForm>
                </div>
            </aside>
            <main class="mx-auto w-full max-w-5xl flex-1 px-4 py-6 md:px-8">
                <Outlet />
                <ActionForm action=logout attr:class="mt-10 border-t border-slate-200 pt-4 md:hidden">
                    <button type="submit" class="text-sm font-medium text-indigo-700">"Sign out"</button>
                </ActionForm>
            </main>
        </div>
    }
}

/// The signed-in user, provided by the dashboard frame.
pub fn use_user() -> Option<CurrentUser> {
    use_context::<CurrentUser>()
}
