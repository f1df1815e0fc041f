//! The pages for what cannot be shown: an unknown address, a server failure.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ErrorNotice;
use crate::domain::AppError;

/// Answers the page with `status` instead of 200.
#[cfg(feature = "ssr")]
pub(super) fn set_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Shown for any path the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_status(http::StatusCode::NOT_FOUND);
    view! {
        <Title text="Not found · Atelier"/>
        <main class="auth">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a class="button primary" href="/">"Go to your workstations"</a></p>
        </main>
    }
}

/// Shown when a page cannot be put together because the server failed.
#[component]
pub(super) fn ServerErrorPage(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    view! {
        <Title text="Something went wrong · Atelier"/>
        <main class="auth" data-testid="server-error">
            <h1>"Something went wrong on our side"</h1>
            <ErrorNotice error/>
            <p>"Nothing you entered was lost. Try again in a moment."</p>
            <p><a class="button primary" href="/">"Try again"</a></p>
        </main>
    }
}
