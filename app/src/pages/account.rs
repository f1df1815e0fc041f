//! The signed-in user's account page: their API tokens, made (shown once)
//! and revoked here.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use super::authenticated::Authenticated;
use super::field_error::field_error;
use super::tokens::TokenTable;
use crate::api::{get_account, CreateProject, CreateToken, RevokeToken};
use crate::components::ErrorNotice;
use crate::domain::account::TOKEN_LIFETIMES_DAYS;
use crate::domain::{AccountPage, AppError, CreatedToken, Project};
use crate::refresh::refreshed;

/// The account page.
#[component]
pub fn AccountPage() -> impl IntoView {
    // Made before `Authenticated` (see there why).
    let account = Resource::new(|| (), |_| get_account());
    view! {
        <Title text="Your account · Atelier"/>
        <Authenticated>
            <Account account/>
        </Authenticated>
    }
}

#[component]
fn Account(account: Resource<Result<AccountPage, AppError>>) -> impl IntoView {
    view! {
        <main class="page account">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match account.await {
                        Ok(page) => Either::Left(view! { <AccountForms page/> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The account's tokens and projects with the forms that change them; the
/// page is read again after each change.
#[island]
fn AccountForms(page: AccountPage) -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let new_project = ServerAction::<CreateProject>::new();
    let changed = move || (create.version().get(), revoke.version().get(), new_project.version().get());
    let page = refreshed(page, changed, get_account);
    move || view! { <AccountView page=page.get() create revoke new_project/> }
}

#[component]
fn AccountView(
    page: AccountPage,
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeToken>,
    new_project: ServerAction<CreateProject>,
) -> impl IntoView {
    let revoke_error = move || match revoke.value().get() {
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
        _ => None,
    };
    let admin = page.admin.then(|| {
        view! { <p>"You are an admin of this instance: " <a href="/admin">"manage users and tokens"</a> "."</p> }
    });
    view! {
        <section class="panel" aria-labelledby="account-heading">
            <h1 id="account-heading">"Your account"</h1>
            <p>"Signed in as " <strong data-testid="account-name">{page.name}</strong> "."</p>
            {admin}
        </section>
        <section class="panel" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="muted">
                "A token lets a script, the " <code>"atelier"</code>
                " command line or the API act as you. Keep it secret; revoke it when it is no longer needed."
            </p>
            <NewTokenForm create projects=page.projects.clone() created=page.created/>
            {revoke_error}
            <TokenTable tokens=page.tokens owners=false revoke/>
        </section>
        <Projects projects=page.projects new_project/>
    }
}

/// The projects the user is in, with their role, and a form to make one.
#[component]
fn Projects(projects: Vec<Project>, new_project: ServerAction<CreateProject>) -> impl IntoView {
    let name_error = field_error(new_project, "#/name");
    let other_error = move || match new_project.value().get() {
        Some(Err(AppError::Invalid { .. })) | None => None,
        Some(Ok(project)) => {
            let href = format!("/projects/{}", project.id);
            Some(view! { <p class="notice" role="status">"Project " <a href=href>{project.name}</a> " created."</p> }.into_any())
        }
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
    };
    let list = if projects.is_empty() {
        Either::Left(view! { <p class="muted" data-testid="no-projects">"You are in no project yet."</p> })
    } else {
        Either::Right(view! {
            <ul class="project-list" data-testid="project-list">
                {projects
                    .into_iter()
                    .map(|p| {
                        let href = format!("/projects/{}", p.id);
                        view! { <li><a href=href>{p.name}</a> " — " {p.role.as_str()}</li> }
                    })
                    .collect_view()}
            </ul>
        })
    };
    view! {
        <section class="panel" aria-labelledby="projects-heading">
            <h2 id="projects-heading">"Your projects"</h2>
            <p class="muted">"A project shares workstations and a quota among its members, each with a role."</p>
            {list}
            <ActionForm action=new_project attr:class="ws-form project-form" attr:aria-label="New project">
                {other_error}
                <div class="field" class:invalid=move || name_error().is_some()>
                    <label for="project-name">"Project name"</label>
                    <input id="project-name" name="name" type="text" autocomplete="off" spellcheck="false"
                        aria-invalid=move || name_error().is_some().to_string()
                        aria-describedby="project-name-error"/>
                    <p class="field-error" id="project-name-error">{name_error}</p>
                </div>
                <button type="submit" class="button primary" disabled=move || new_project.pending().get()>
                    "Create project"
                </button>
            </ActionForm>
        </section>
    }
}

/// Makes a token; the new token is shown above the form, once.
#[component]
fn NewTokenForm(
    create: ServerAction<CreateToken>,
    projects: Vec<Project>,
    created: Option<CreatedToken>,
) -> impl IntoView {
    let other_error = move || match create.value().get() {
        Some(Err(AppError::Invalid { .. })) | Some(Ok(_)) | None => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
    };
    // Made just now: by this page's script, or by the form posted without it.
    let created = move || match create.value().get() {
        Some(Ok(made)) => Some(made),
        _ => created.clone(),
    };
    let created = move || match created() {
        Some(created) => Some(view! {
            <div class="notice created-token" role="status">
                <p><strong>"Your new token. Copy it now: it is not shown again."</strong></p>
                <p><code data-testid="new-token">{created.token}</code></p>
            </div>
        }),
        _ => None,
    };
    let label_error = field_error(create, "#/label");
    let lifetime_error = field_error(create, "#/lifetime");
    let project_field = (!projects.is_empty()).then(|| {
        view! {
            <div class="field">
                <label for="tok-project">"Limited to"</label>
                <select id="tok-project" name="project">
                    <option value="">"Nothing: everything you may do"</option>
                    {projects
                        .into_iter()
                        .map(|p| view! { <option value=p.name.clone()>"Project " {p.name.clone()}</option> })
                        .collect_view()}
                </select>
            </div>
        }
    });
    view! {
        {created}
        <ActionForm action=create attr:class="ws-form token-form" attr:aria-label="New API token">
            {other_error}
            <div class="field" class:invalid=move || label_error().is_some()>
                <label for="tok-label">"Label"</label>
                <input id="tok-label" name="label" type="text" maxlength="100" autocomplete="off"
                    placeholder="laptop, CI…"
                    aria-invalid=move || label_error().is_some().to_string()
                    aria-describedby="tok-label-error"/>
                <p class="field-error" id="tok-label-error">{label_error}</p>
            </div>
            <div class="field" class:invalid=move || lifetime_error().is_some()>
                <label for="tok-lifetime">"Expires"</label>
                <select id="tok-lifetime" name="lifetime" aria-describedby="tok-lifetime-error">
                    <option value="">"Never"</option>
                    {TOKEN_LIFETIMES_DAYS
                        .into_iter()
                        .map(|d| view! { <option value=d.to_string()>"In " {d} " days"</option> })
                        .collect_view()}
                </select>
                <p class="field-error" id="tok-lifetime-error">{lifetime_error}</p>
            </div>
            {project_field}
            <div class="field checkbox">
                <label><input type="checkbox" name="read_only" value="on"/> " Read-only (lists, details, streams)"</label>
            </div>
            <button type="submit" class="button primary" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create token" }}
            </button>
        </ActionForm>
    }
}
