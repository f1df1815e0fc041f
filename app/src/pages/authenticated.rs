//! What every signed-in page is framed by: the session check and the top bar.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::components::{Form, Redirect};
use leptos_router::hooks::use_query_map;

use super::errors::ServerErrorPage;
use crate::api::{get_session, SessionUser, SignOut};

/// Renders `children` for a signed-in user under the top bar; sends anyone
/// else to the sign-in page.
///
/// The `<Suspense>` here walks its children again on the server until no
/// read in them is pending, so `children` runs up to three times for one
/// request: pages make their resources (and actions) before it and pass
/// them in. Made inside, each resource would be made, and its server
/// function called and its result sent in the page, once per walk. Made
/// before it, they also load alongside the session rather than after it.
#[component]
pub(super) fn Authenticated(children: ChildrenFn) -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
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

/// The brand, the project switcher, a link to the API docs, who is signed
/// in, and signing out.
#[component]
fn TopBar(user: SessionUser) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let switcher = (!user.projects.is_empty()).then(|| view! { <ProjectSwitcher projects=user.projects/> });
    let admin = user.admin.then(|| view! { <a class="docs" href="/admin">"Admin"</a> });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Atelier"</a>
            {switcher}
            <div class="account">
                {admin}
                <a class="docs" href="/audit">"Audit log"</a>
                <a class="docs" href="/docs/api/" rel="external">"API"</a>
                <a class="user" href="/account" data-testid="signed-in-user" title="Your account and API tokens">{user.name}</a>
                <ActionForm action=sign_out>
                    <button type="submit" class="button ghost">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}

/// Whose workstations the home page shows: the user's own, or one of their
/// projects'. A GET form to the home page, so it works without JavaScript.
#[component]
fn ProjectSwitcher(projects: Vec<crate::domain::Project>) -> impl IntoView {
    let query = use_query_map();
    let current = move || query.with(|q| q.get("project").unwrap_or_default());
    view! {
        <Form method="GET" action="/" attr:class="project-switcher" attr:aria-label="Switch project">
            <label>
                <span class="visually-hidden">"Project"</span>
                <select name="project" data-testid="project-switcher">
                    <option value="" selected=move || current().is_empty()>"Your account"</option>
                    {projects
                        .into_iter()
                        .map(|p| {
                            let value = p.name.clone();
                            let selected = move || current() == value || current() == p.id.to_string();
                            view! { <option value=p.name.clone() selected=selected>{p.name.clone()} " (" {p.role.as_str()} ")"</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button ghost">"Switch"</button>
        </Form>
    }
}
