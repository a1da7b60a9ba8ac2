//! Live refresh: a dashboard page listens to `/live` (server-sent events fed by
//! committed domain events) and reloads itself when what it shows has changed, so
//! pages stay server-rendered and still follow changes made elsewhere (another tab,
//! the API, a guest, Stripe, the job runner).
use leptos::prelude::*;

/// When the server began answering this request (ms since the epoch), provided by
/// the server: the page's data is at least this fresh.
#[derive(Clone, Copy, Debug)]
pub struct RenderedAt(pub i64);

/// Keeps the page current: see [`LiveRefresh`]. `watch` lists what the page shows, as
/// (kind, id) pairs: an entity kind (`booking`, `invoice`, `job`, `webhook_endpoint`,
/// `webhook_delivery`) and one id, or `None` for any of that kind.
#[component]
pub fn Live(watch: Vec<(&'static str, Option<String>)>) -> impl IntoView {
    let since = use_context::<RenderedAt>().map(|r| r.0).unwrap_or_default();
    let watch = watch
        .into_iter()
        .map(|(k, id)| (k.to_string(), id))
        .collect();
    view! { <LiveRefresh watch since /> }
}

/// Reloads the page when something it watches changes. One connection per page,
/// however much it watches: browsers allow only six per server over HTTP/1.1.
///
/// A reload never takes away what the user is doing: once they have typed into a
/// field or sent a form from this page (an island shows its result in place), or
/// while something is marked `data-live-hold` (a secret shown once), a bar offers the
/// reload instead.
///
/// `since` is the page's render time: what changed between the render and the
/// connection is replayed first.
#[island]
fn LiveRefresh(watch: Vec<(String, Option<String>)>, since: i64) -> impl IntoView {
    let stale = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    listen(watch, since, stale);
    #[cfg(not(feature = "hydrate"))]
    let _ = (watch, since);
    view! {
        <Show when=move || stale.get()>
            <div role="status" class="fixed inset-x-4 bottom-4 z-10 mx-auto flex max-w-md items-center justify-between gap-3 rounded-lg bg-slate-900 px-4 py-3 text-sm text-white shadow-lg">
                <span>"Newer information is available."</span>
                <button type="button" class="font-semibold text-indigo-200 hover:underline" on:click=|_| reload()>"Reload"</button>
            </div>
        </Show>
    }
}

/// Loads the page again, without the notice or error of the action that led to it: they
/// described that moment, not the page after a later change.
#[cfg(feature = "hydrate")]
fn reload() {
    let location = window().location();
    let Ok(href) = location.href() else {
        return;
    };
    if let Ok(url) = web_sys::Url::new(&href) {
        let params = url.search_params();
        for p in ["notice", "queued", "__err", "__path"] {
            params.delete(p);
        }
        let fresh = url.href();
        if fresh != href {
            let _ = location.replace(&fresh);
            return;
        }
    }
    let _ = location.reload();
}

#[cfg(not(feature = "hydrate"))]
fn reload() {}

#[cfg(feature = "hydrate")]
fn listen(watch: Vec<(String, Option<String>)>, since: i64, stale: RwSignal<bool>) {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::{JsCast, closure::Closure};

    #[derive(serde::Deserialize)]
    struct Change {
        entity_kind: String,
        entity_id: String,
    }

    // Typing or submitting makes the page "busy": from then on, changes show the bar.
    let busy = Rc::new(Cell::new(false));
    let on_use = {
        let busy = busy.clone();
        Closure::<dyn FnMut()>::new(move || busy.set(true))
    };
    for event in ["input", "submit"] {
        let _ = document().add_event_listener_with_callback(event, on_use.as_ref().unchecked_ref());
    }
    on_use.forget();

    let Ok(source) = web_sys::EventSource::new(&format!("/live?since={since}")) else {
        return;
    };
    let scheduled = Rc::new(Cell::new(false));
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(change) = e
                .data()
                .as_string()
                .and_then(|d| serde_json::from_str::<Change>(&d).ok())
            else {
                return;
            };
            // `*`: the server lost track of what changed; assume this page did.
            let ours = change.entity_kind == "*"
                || watch.iter().any(|(kind, id)| {
                    *kind == change.entity_kind
                        && id.as_ref().is_none_or(|id| *id == change.entity_id)
                });
            if !ours {
                return;
            }
            let held = document()
                .query_selector("[data-live-hold]")
                .ok()
                .flatten()
                .is_some();
            if busy.get() || held {
                stale.set(true);
            } else if !scheduled.replace(true) {
                // A burst of changes (a replay, a busy job queue) costs one reload, and a
                // page stays up for a while before reloading again, so it can be read.
                let age = window().performance().map_or(0.0, |p| p.now());
                let wait = (MIN_PAGE_MS - age).max(RELOAD_DELAY_MS);
                set_timeout(reload, std::time::Duration::from_millis(wait as u64));
            }
        });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let source = send_wrapper::SendWrapper::new(source);
    on_cleanup(move || source.close());
}

/// How long after the first change a page reloads (ms).
#[cfg(feature = "hydrate")]
const RELOAD_DELAY_MS: f64 = 300.0;
/// How long a page stays up before live refresh reloads it (ms).
#[cfg(feature = "hydrate")]
const MIN_PAGE_MS: f64 = 2000.0;
