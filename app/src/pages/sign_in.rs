//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::SignIn;

/// Sign in by pasting an API token; the server swaps it for a session cookie.
#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || sign_in.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <Title text="Sign in · Atelier"/>
        <main class="auth">
            <h1 class="brand">"Atelier"</h1>
            <p class="lead">"Cloud workstations, ready when you are."</p>
            <ActionForm action=sign_in>
                <div class="field" class:invalid=move || error().is_some()>
                    <label for="token">"API token"</label>
                    <input
                        id="token"
                        name="token"
                        type="password"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="atl_…"
                        aria-invalid=move || error().is_some().to_string()
                        aria-describedby=move || error().map(|_| "token-error")
                    />
                    <p class="field-error" id="token-error">{error}</p>
                </div>
                <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="hint">
                "No token yet? An administrator can create one with "
                <code>"atelier token create --user NAME"</code> "."
            </p>
        </main>
    }
}
