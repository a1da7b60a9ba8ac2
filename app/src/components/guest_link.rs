//! The "Guest link" card on a booking: the private address where the guest sees,
//! moves, cancels and pays their booking, with re-issue and revoke. Each button is a
//! plain form that comes back to the booking with a notice.
use leptos::prelude::*;

use crate::api::portal::{IssueGuestLink, RevokeGuestLink, guest_link};
use crate::components::form::action_error;
use crate::components::ui::{BTN, BTN_DANGER, BTN_SECONDARY, CARD, ErrorBox, INPUT, LoadError};

#[component]
pub fn GuestLinkCard(booking_id: String) -> impl IntoView {
    let issue = ServerAction::<IssueGuestLink>::new();
    let revoke = ServerAction::<RevokeGuestLink>::new();
    // Server-rendered: each action is a form post that reloads the page, so the link
    // loads once per render.
    let link = Resource::new(
        {
            let id = booking_id.clone();
            move || id.clone()
        },
        guest_link,
    );
    let errors = [action_error(issue), action_error(revoke)];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    view! {
        <section class=format!("{CARD} mt-6 p-4 md:p-6")>
            <h2 class="font-semibold">"Guest link"</h2>
            <p class="mt-1 text-sm text-slate-600">"A private page where the guest sees this booking, moves or cancels it (until the cancellation cutoff) and pays the deposit. Send it in your confirmation message."</p>
            <div class="mt-3"><ErrorBox error /></div>
            <Transition fallback=|| ()>
                {move || {
                    let id = booking_id.clone();
                    Suspend::new(async move {
                    match link.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(None) => view! {
                            <ActionForm action=issue>
                                <input type="hidden" name="booking_id" value=id />
                                <button class=BTN type="submit">"Create guest link"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(Some(l)) => {
                            let (issue_id, revoke_id) = (id.clone(), id);
                            view! {
                            <input class=format!("{INPUT} font-mono text-sm") id="guest-link" readonly=true value=l.url.clone() aria-label="Guest link" data-select-all="on" />
                            <p class="mt-1 text-xs text-slate-500">{format!("Created {}{}", l.created, l.last_used.map(|t| format!(" · last opened {t}")).unwrap_or_else(|| " · not opened yet".into()))}</p>
                            <div class="mt-3 flex flex-wrap gap-2">
                                <ActionForm action=issue>
                                    <input type="hidden" name="booking_id" value=issue_id />
                                    <button class=BTN_SECONDARY type="submit">"Replace link"</button>
                                </ActionForm>
                                <ActionForm action=revoke>
                                    <input type="hidden" name="booking_id" value=revoke_id />
                                    <button class=BTN_DANGER type="submit">"Revoke"</button>
                                </ActionForm>
                            </div>
                            <p class="mt-2 text-xs text-slate-500">"Replacing or revoking stops the old link at once."</p>
                            }.into_any()
                        }
                    }
                    })
                }}
            </Transition>
        </section>
    }
}
