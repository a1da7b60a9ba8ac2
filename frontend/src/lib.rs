//! The browser entry point. Pages are rendered on the server; this hydrates only the
//! islands on the page (forms that keep what was typed, one-time secrets, live
//! refresh).
use leptos::prelude::*;
use wasm_bindgen::{JsCast, closure::Closure, prelude::wasm_bindgen};

// The islands are exported from `app`; naming the crate links it into this WASM.
extern crate app;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A server function that redirects (a booking saved, a sign-in) moves the whole
    // page: there is no client-side router in islands mode.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = window().location().assign(to);
    });
    // Leptos' loader hydrates the islands right after this returns, in microtasks; a
    // timeout runs after them. Then mark the page for browser tests (and the curious).
    let mark = Closure::once_into_js(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let _ = window().set_timeout_with_callback(mark.unchecked_ref());
}
