//! What every signed-in page is framed by: the session check and the top bar.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::errors::ServerErrorPage;
use crate::api::{get_session, SessionUser, SignOut};

/// Renders `children` for a signed-in user under the top bar; sends anyone
/// else to the sign-in page.
#[component]
pub(super) fn Authenticated(children: ChildrenFn) -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <div class="skeleton topbar-skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(user)) => EitherOf3::A(view! {
                        <TopBar user/>
                        {children.read_value()()}
                    }),
                    Ok(None) => EitherOf3::B(view! { <Redirect path="/sign-in"/> }),
                    Err(error) => EitherOf3::C(view! { <ServerErrorPage error/> }),
                }
            })}
        </Suspense>
    }
}

/// The brand, a link to the API docs, who is signed in, and signing out.
#[component]
fn TopBar(user: SessionUser) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Atelier"</a>
            <div class="account">
                <a class="docs" href="/docs/api/" rel="external">"API"</a>
                <span class="user" data-testid="signed-in-user">{user.name}</span>
                <ActionForm action=sign_out>
                    <button type="submit" class="button ghost">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}
