//! Guests: searchable list and the add / edit form.
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::clients::{SaveClient, get_client, list_clients};
use crate::components::form::{TextField, action_error};
use crate::components::ui::{
    BTN, BTN_SECONDARY, CARD, Empty, ErrorBox, INPUT, LoadError, Notice, PageHeader, Pager,
};
use crate::model::client::ClientView;
use crate::model::page::parse_page;

#[component]
pub fn ClientsPage() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        query.with(|q| {
            (
                q.get("q").unwrap_or_default(),
                parse_page(q.get("page").as_deref()),
            )
        })
    };
    let data = Resource::new(args, |(q, p)| list_clients(q, p));
    view! {
        <PageHeader title="Clients">
            <a class=BTN href="/clients/new">"New client"</a>
        </PageHeader>
        <Notice />
        <form method="get" action="/clients" class="mb-4 flex gap-2">
            <input class=INPUT type="search" name="q" placeholder="Search by name, email or phone" value=move || args().0 aria-label="Search clients" />
            <button class=BTN_SECONDARY type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(page) if page.items.is_empty() => view! { <Empty title="No clients" hint="Add a guest, or try another search." /> }.into_any(),
                    Ok(page) => {
                        let base = format!("/clients?q={}", args().0);
                        let items = page.items.clone();
                        view! {
                            <ul class=format!("{CARD} divide-y divide-slate-100")>
                                {items
                                    .into_iter()
                                    .map(|c| view! {
                                        <li>
                                            <a href=format!("/clients/{}", c.id) class="flex flex-wrap justify-between gap-2 px-4 py-3 hover:bg-slate-50">
                                                <span class="font-medium">{c.name}</span>
                                                <span class="text-sm text-slate-600">{[c.email, c.phone].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")}</span>
                                            </a>
                                        </li>
                                    })
                                    .collect_view()}
                            </ul>
                            <Pager page base />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NewClientPage() -> impl IntoView {
    view! {
        <PageHeader title="New client" />
        <ClientForm client=None />
    }
}

#[component]
pub fn EditClientPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        get_client,
    );
    view! {
        <PageHeader title="Client" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(c) => view! { <ClientForm client=Some(c) /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An island, so a refused save keeps what was typed.
#[island]
fn ClientForm(client: Option<ClientView>) -> impl IntoView {
    let action = ServerAction::<SaveClient>::new();
    let error = action_error(action);
    let c = client.clone();
    let get = move |f: fn(&ClientView) -> String| c.as_ref().map(f).unwrap_or_default();
    view! {
        <ActionForm action attr:class=format!("{CARD} space-y-4 p-4 md:p-6")>
            <ErrorBox error />
            <input type="hidden" name="id" value=get(|c| c.id.clone()) />
            <TextField label="Name" name="input[name]" field="name" error required=true value=get(|c| c.name.clone()) />
            <div class="grid gap-4 md:grid-cols-2">
                <TextField label="Email" name="input[email]" field="email" error kind="email" value=get(|c| c.email.clone()) />
                <TextField label="Phone" name="input[phone]" field="phone" error kind="tel" value=get(|c| c.phone.clone()) />
            </div>
            <div class="flex gap-3">
                <button class=BTN type="submit">"Save client"</button>
                <a class=BTN_SECONDARY href="/clients">"Back"</a>
            </div>
        </ActionForm>
    }
}
