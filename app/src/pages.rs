//! The application's pages.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::domain::ListQuery;

use crate::api::{
    get_capacity, get_catalog, get_dashboard, get_quota, get_session, get_workstation, CreateWorkstation,
    SessionUser, SignIn, SignOut,
};
use crate::components::{
    CreateWorkstationForm, ErrorNotice, LiveWorkstationList, QuotaPanel, WorkstationView,
};

/// Renders `children` for a signed-in user under the top bar; sends anyone
/// else to the sign-in page.
#[component]
fn Authenticated(children: ChildrenFn) -> impl IntoView {
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

/// The home page: the user's workstations and the form for a new one.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Workstations · Atelier"/>
        <Authenticated>
            <Dashboard/>
        </Authenticated>
    }
}

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

#[component]
fn Dashboard() -> impl IntoView {
    let create = ServerAction::<CreateWorkstation>::new();
    let catalog = Resource::new(|| (), |_| get_catalog());
    let query_map = use_query_map();
    let query = move || {
        query_map.with(|q| ListQuery {
            status: q.get("status").unwrap_or_default(),
            region: q.get("region").unwrap_or_default(),
            gpu: q.get("gpu").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
        })
    };
    let dashboard = Resource::new(move || (create.version().get(), query()), |(_, q)| get_dashboard(q));
    // Workstations the list does not show yet (made elsewhere, or matching
    // the filters now): read the list again, at most twice a second however
    // many of their events arrive.
    let refetch_due = StoredValue::new(false);
    let refetch_soon = move || {
        if !refetch_due.get_value() {
            refetch_due.set_value(true);
            set_timeout(
                move || {
                    refetch_due.set_value(false);
                    dashboard.refetch();
                },
                std::time::Duration::from_millis(500),
            );
        }
    };
    let quota = Resource::new(move || create.version().get(), |_| get_quota());
    let capacity = Resource::new(move || create.version().get(), |_| get_capacity());
    view! {
        <main class="page dashboard">
            <section class="panel create" aria-labelledby="create-heading">
                <h2 id="create-heading">"New workstation"</h2>
                <Suspense fallback=|| view! { <div class="skeleton form-skeleton"></div> }>
                    {move || Suspend::new(async move {
                        match catalog.await {
                            Ok(catalog) => view! { <CreateWorkstationForm catalog action=create capacity/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Suspense>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        quota.await.ok().map(|status| view! { <QuotaPanel status/> })
                    })}
                </Transition>
            </section>
            <section class="panel list" aria-labelledby="list-heading">
                <h2 id="list-heading">"Your workstations"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        catalog.await.ok().map(|catalog| view! { <ListFilters catalog query=query()/> })
                    })}
                </Suspense>
                <Transition fallback=|| view! { <div class="skeleton list-skeleton"></div> }>
                    {move || Suspend::new(async move {
                        match dashboard.await {
                            Ok(data) => {
                                let next = data.next_page_token.clone();
                                let q = query();
                                let first_page = q.page.is_empty();
                                let filtered = !(first_page
                                    && q.status.is_empty()
                                    && q.region.is_empty()
                                    && q.gpu.is_empty()
                                    && q.q.is_empty());
                                view! {
                                    <LiveWorkstationList data on_unknown=refetch_soon filtered/>
                                    <Pager query=query() next first_page/>
                                }
                                .into_any()
                            }
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </main>
    }
}

/// One workstation: live status, progress, and its history.
#[component]
pub fn WorkstationPage() -> impl IntoView {
    view! {
        <Title text="Workstation · Atelier"/>
        <Authenticated>
            <WorkstationDetailPanel/>
        </Authenticated>
    }
}

#[component]
fn WorkstationDetailPanel() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_workstation);
    let catalog = Resource::new(|| (), |_| get_catalog());
    view! {
        <main class="page detail">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <Transition fallback=|| view! { <div class="skeleton list-skeleton"></div> }>
                {move || Suspend::new(async move {
                    match (detail.await, catalog.await) {
                        (Ok(Some(detail)), Ok(catalog)) => {
                            EitherOf3::A(view! { <WorkstationView detail catalog/> })
                        }
                        (Ok(None), Ok(_)) => EitherOf3::B(view! { <MissingWorkstation/> }),
                        (Err(error), _) | (_, Err(error)) => EitherOf3::C(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn MissingWorkstation() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="panel">
            <h1>"No such workstation"</h1>
            <p>"You have no workstation with this id. It may have been deleted, or belong to someone else."</p>
        </section>
    }
}

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

/// Shown for any path the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
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
fn ServerErrorPage(error: crate::domain::AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    }
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

/// The list's filters: a GET form, so the URL holds them and it works without JavaScript.
#[component]
fn ListFilters(catalog: crate::domain::Catalog, query: ListQuery) -> impl IntoView {
    let selected = |current: &str, value: &str| current == value;
    let statuses = ["provisioning", "stopped", "running", "error"];
    view! {
        <Form method="GET" action="/" attr:class="filters" attr:aria-label="Filter workstations">
            <label>
                "Status"
                <select name="status">
                    <option value="">"Any"</option>
                    {statuses
                        .into_iter()
                        .map(|s| view! { <option value=s selected=selected(&query.status, s)>{s}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Region"
                <select name="region">
                    <option value="">"Any"</option>
                    {catalog
                        .regions
                        .into_iter()
                        .map(|r| {
                            let sel = selected(&query.region, &r.id);
                            view! { <option value=r.id selected=sel>{r.name}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "GPU"
                <select name="gpu">
                    <option value="">"Any"</option>
                    {catalog
                        .gpus
                        .into_iter()
                        .map(|g| {
                            let sel = selected(&query.gpu, &g.id);
                            let label = g.id.clone();
                            view! { <option value=g.id selected=sel>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Name starts with"
                <input type="search" name="q" value=query.q.clone() autocomplete="off"/>
            </label>
            <button type="submit" class="button">"Filter"</button>
        </Form>
    }
}

/// Links to older workstations and back to the newest.
#[component]
fn Pager(query: ListQuery, next: Option<String>, first_page: bool) -> impl IntoView {
    let href = |page: &str| {
        let mut parts = Vec::new();
        for (key, value) in
            [("status", &query.status), ("region", &query.region), ("gpu", &query.gpu), ("q", &query.q)]
        {
            if !value.is_empty() {
                parts.push(format!("{key}={}", encode(value)));
            }
        }
        if !page.is_empty() {
            parts.push(format!("page={}", encode(page)));
        }
        if parts.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", parts.join("&"))
        }
    };
    let newest = (!first_page).then(|| view! { <a class="button" href=href("")>"← Newest"</a> });
    let older = next.map(|token| view! { <a class="button" href=href(&token)>"Older →"</a> });
    view! { <nav class="pager" aria-label="Pages">{newest}{older}</nav> }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
