//! Form fields that show their own error from the last submission.
use leptos::prelude::*;

use crate::components::ui::{INPUT, LABEL};
use crate::error::AppError;

/// The message for `field` in the last error, if any.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field_message(field))))
}

/// The last error of a server action.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned()))
    })
}

#[component]
pub fn ErrorText(#[prop(into)] message: Signal<Option<String>>, id: String) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p id=id.clone() class="mt-1 text-sm text-rose-700">{m}</p> })
    }
}

/// A labelled input. `name` is the form name; `field` is the key errors use for it.
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    field: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] required: bool,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] attrs_min: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
) -> impl IntoView {
    let msg = field_error(error, field);
    let id = format!("f-{}", field.replace('.', "-"));
    let err_id = format!("{id}-error");
    view! {
        <div>
            <label class=LABEL for=id.clone()>{label}</label>
            <input
                class=INPUT
                id=id.clone()
                type=kind
                name=name
                value=value
                required=required
                placeholder=placeholder
                min=attrs_min
                autocomplete=autocomplete
                aria-invalid=move || msg.get().is_some().to_string()
                aria-describedby=err_id.clone()
            />
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{h}</p> })}
            <ErrorText message=msg id=err_id />
        </div>
    }
}

/// A labelled select; `options` are (value, label) pairs.
#[component]
pub fn SelectField(
    label: &'static str,
    name: &'static str,
    field: &'static str,
    error: Signal<Option<AppError>>,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: String,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let msg = field_error(error, field);
    let id = format!("f-{field}");
    let err_id = format!("{id}-error");
    view! {
        <div>
            <label class=LABEL for=id.clone()>{label}</label>
            <select class=INPUT id=id name=name aria-invalid=move || msg.get().is_some().to_string() aria-describedby=err_id.clone()>
                {placeholder.map(|p| view! { <option value="">{p}</option> })}
                {options
                    .into_iter()
                    .map(|(v, l)| {
                        let sel = v == selected;
                        view! { <option value=v selected=sel>{l}</option> }
                    })
                    .collect_view()}
            </select>
            <ErrorText message=msg id=err_id />
        </div>
    }
}
