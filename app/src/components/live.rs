//! Live refresh: the dashboard listens to `/live` (server-sent events fed by committed
//! domain events) and bumps a counter when something of `kind` changes; pages put the
//! counter in their resources' keys so they reload without a page refresh.
use leptos::prelude::*;

/// A counter that grows each time a `kind` (`booking`, `invoice`, `job`) changes.
pub fn use_live(kind: &'static str) -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, closure::Closure};
        if let Ok(source) = web_sys::EventSource::new("/live") {
            let needle = format!("\"entity_kind\":\"{kind}\"");
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |e: web_sys::MessageEvent| {
                    if e.data().as_string().is_some_and(|d| d.contains(&needle)) {
                        set_tick.update(|t| *t += 1);
                    }
                },
            );
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            // A change between the server's render and this connection would be missed:
            // reload once when the stream opens (and after each reconnect).
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                set_tick.update(|t| *t += 1);
            });
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (kind, set_tick);
    tick
}
