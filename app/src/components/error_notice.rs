//! A message for an error that is not tied to one field.

use leptos::prelude::*;

use crate::domain::AppError;

/// A message for an error that is not tied to one field.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let text = match &error {
        AppError::Unauthorized => "Your session has ended. Sign in again to continue.".to_owned(),
        other => other.to_string(),
    };
    view! { <p class="alert" role="alert">{text}</p> }
}
