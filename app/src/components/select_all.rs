//! Read-only fields holding something to copy (a guest link, a payment link, a new
//! key) select their whole value on click. One listener for the page, set up by an
//! island, rather than an inline `onclick=`: the page's script policy runs no inline
//! handler.
use leptos::prelude::*;

/// Put on an `<input readonly>`: `data-select-all="on"`.
pub const ATTR: &str = "data-select-all";

#[island]
pub fn SelectAllOnClick() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, closure::Closure};
        let on_click = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
            if let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .filter(|i| i.has_attribute(ATTR))
            {
                input.select();
            }
        });
        let _ =
            document().add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        on_click.forget();
    }
}
