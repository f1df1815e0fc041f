//! A labelled form field, and the aria attributes that tie an input to its
//! hint and its error message.

use leptos::prelude::*;

/// A labelled form field with a hint and a slot for its error message; the
/// input inside has the id `id`.
#[component]
pub(super) fn Field(
    label: &'static str,
    #[prop(into)] id: String,
    #[prop(into)] hint: String,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            {children()}
            <p class="hint" id=format!("{id}-hint")>{hint}</p>
            <p class="field-error" id=format!("{id}-error")>{move || error.get()}</p>
        </div>
    }
}

/// `aria-invalid` for an input whose error message is `error`.
pub(super) fn aria_invalid(error: Signal<Option<String>>) -> impl Fn() -> String + Send + Sync + 'static {
    move || error.get().is_some().to_string()
}

/// `aria-describedby` for the input `id` in a [`Field`]: its hint, and its
/// error when there is one.
pub(super) fn aria_describedby(
    id: String,
    error: Signal<Option<String>>,
) -> impl Fn() -> String + Send + Sync + 'static {
    move || {
        if error.get().is_some() {
            format!("{id}-hint {id}-error")
        } else {
            format!("{id}-hint")
        }
    }
}
