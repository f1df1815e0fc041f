//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{get_sign_on, SignIn};
use crate::domain::sso::SignOnError;

/// Sign in through the single sign-on provider when there is one, or by
/// pasting an API token; the server swaps either for a session cookie.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    // Why a sign-in through the provider came back here, in words.
    let sign_on_error = move || {
        query.with(|q| q.get("error")).and_then(|code| SignOnError::from_code(&code)).map(|e| {
            view! { <p class="alert" role="alert" data-testid="sign-on-error">{e.message()}</p> }
        })
    };
    let provider = Resource::new(|| (), |_| get_sign_on());
    view! {
        <Title text="Sign in · Atelier"/>
        <main class="auth">
            <h1 class="brand">"Atelier"</h1>
            <p class="lead">"Cloud workstations, ready when you are."</p>
            {sign_on_error}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    provider.await.ok().flatten().map(|name| view! {
                        <a class="button primary sign-on" href="/auth/oidc/start" rel="external">
                            {format!("Sign in with {name}")}
                        </a>
                        <p class="divider"><span>"or with an API token"</span></p>
                    })
                })}
            </Suspense>
            <SignInForm/>
            <p class="hint">
                "No token yet? An administrator can create one with "
                <code>"atelier token create --user NAME"</code> "."
            </p>
        </main>
    }
}

/// The token form; a wrong token is said under the field.
#[island]
fn SignInForm() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || sign_in.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
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
    }
}
