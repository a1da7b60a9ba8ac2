//! The job queue: depth per kind, and the jobs that need a person (retrying or dead),
//! each with a retry button. Refreshes itself when jobs change.
use leptos::prelude::*;

use crate::api::platform::{RetryJob, load_jobs};
use crate::components::live::Live;
use crate::components::ui::{BTN_SECONDARY, Badge, CARD, Empty, LoadError, Notice, PageHeader};

#[component]
pub fn JobsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_jobs());
    let retry = ServerAction::<RetryJob>::new();
    view! {
        <Live watch=vec![("job", None)] />
        <PageHeader title="Jobs" subtitle="Background work: deliveries, syncs and notifications run here, retried until they succeed." />
        <Notice />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e /> }.into_any(),
                    Ok(o) if o.kinds.is_empty() => view! {
                        <Empty title="No jobs yet" hint="Jobs appear here when integrations have work to do." />
                    }.into_any(),
                    Ok(o) => view! {
                        <section class=format!("{CARD} overflow-x-auto")>
                            <table class="w-full text-left text-sm">
                                <thead class="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
                                    <tr>
                                        <th class="px-4 py-2">"Kind"</th>
                                        <th class="px-4 py-2 text-right">"Queued"</th>
                                        <th class="px-4 py-2 text-right">"Running"</th>
                                        <th class="px-4 py-2 text-right">"Retrying"</th>
                                        <th class="px-4 py-2 text-right">"Dead"</th>
                                        <th class="px-4 py-2 text-right">"Done"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100 tabular-nums">
                                    {o.kinds.into_iter().map(|k| view! {
                                        <tr>
                                            <td class="px-4 py-2 font-medium">{k.kind}</td>
                                            <td class="px-4 py-2 text-right">{k.queued}</td>
                                            <td class="px-4 py-2 text-right">{k.running}</td>
                                            <td class=move || format!("px-4 py-2 text-right {}", if k.retrying > 0 { "font-semibold text-amber-700" } else { "" })>{k.retrying}</td>
                                            <td class=move || format!("px-4 py-2 text-right {}", if k.dead > 0 { "font-semibold text-rose-700" } else { "" })>{k.dead}</td>
                                            <td class="px-4 py-2 text-right text-slate-500">{k.done}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <h2 class="mb-2 mt-6 font-semibold">"Needs attention"</h2>
                        {if o.attention.is_empty() {
                            view! { <Empty title="Nothing is failing" hint="Jobs that fail are retried with growing pauses; any still failing show up here." /> }.into_any()
                        } else {
                            view! {
                                <ul class=format!("{CARD} divide-y divide-slate-100")>
                                    {o.attention.into_iter().map(|j| {
                                        let dead = j.status == "dead";
                                        view! {
                                            <li class="flex flex-col gap-2 p-4 md:flex-row md:items-center md:justify-between">
                                                <div class="min-w-0">
                                                    <div class="flex flex-wrap items-center gap-2">
                                                        <span class="font-medium">{j.kind}</span>
                                                        <Badge text=if dead { "dead" } else { "retrying" } tone=if dead { "red" } else { "amber" } />
                                                        <span class="text-xs text-slate-500">{format!("attempt {} of {} · {} {}", j.attempts, j.max_attempts, if dead { "gave up" } else { "next try" }, j.when)}</span>
                                                    </div>
                                                    <p class="mt-1 break-words text-sm text-slate-600">{j.last_error}</p>
                                                </div>
                                                <ActionForm action=retry>
                                                    <input type="hidden" name="id" value=j.id />
                                                    <button class=BTN_SECONDARY type="submit">{if dead { "Retry" } else { "Retry now" }}</button>
                                                </ActionForm>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
