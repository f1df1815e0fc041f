//! The instance's admin page: users (created, disabled, enabled) and
//! everyone's API tokens (revoked), for the instance's admins only.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use super::authenticated::Authenticated;
use super::field_error::field_error;
use super::tokens::TokenTable;
use crate::api::{get_admin, CreateUser, RevokeToken, SetUserDisabled, SetUserQuota};
use crate::components::ErrorNotice;
use crate::domain::time::exact;
use crate::domain::{AdminPage, AppError, Quota, QuotaOverrides, UserView};
use crate::refresh::refreshed;

/// The admin page.
#[component]
pub fn AdminPage() -> impl IntoView {
    // Made before `Authenticated` (see there why).
    let page = Resource::new(|| (), |_| get_admin());
    view! {
        <Title text="Administration · Atelier"/>
        <Authenticated>
            <Admin page/>
        </Authenticated>
    }
}

#[component]
fn Admin(page: Resource<Result<AdminPage, AppError>>) -> impl IntoView {
    view! {
        <main class="page admin">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <h1>"Administration"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => Either::Left(view! { <AdminForms page/> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The users, tokens and quotas with the forms that change them; the page
/// is read again after each change.
#[island]
fn AdminForms(page: AdminPage) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let quota = ServerAction::<SetUserQuota>::new();
    let changed = move || {
        (create.version().get(), disable.version().get(), revoke.version().get(), quota.version().get())
    };
    let page = refreshed(page, changed, get_admin);
    move || view! { <AdminView page=page.get() create disable revoke quota/> }
}

#[component]
fn AdminView(
    page: AdminPage,
    create: ServerAction<CreateUser>,
    disable: ServerAction<SetUserDisabled>,
    revoke: ServerAction<RevokeToken>,
    quota: ServerAction<SetUserQuota>,
) -> impl IntoView {
    let users: Vec<(String, QuotaOverrides)> = page.users.iter().map(|u| (u.name.clone(), u.quota)).collect();
    let projects = page.projects;
    let defaults = page.default_quota;
    let action_error = move || {
        let disable = disable.value().get().and_then(Result::err);
        let revoke = revoke.value().get().and_then(Result::err);
        disable.or(revoke).map(|error| view! { <ErrorNotice error/> })
    };
    view! {
        <section class="panel" aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            <p class="muted">
                "A disabled user's tokens stop working and their sessions end at once; "
                "their workstations keep running. Enabling them brings their tokens back."
            </p>
            <NewUserForm create/>
            {action_error}
            <div class="table-scroll">
                <table class="data-table" data-testid="user-table">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Live tokens"</th>
                            <th scope="col">"Own quota"</th>
                            <th scope="col">"State"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.users.into_iter().map(|user| view! { <UserRow user disable/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="panel" aria-labelledby="quota-heading">
            <h2 id="quota-heading">"Quotas"</h2>
            <p class="muted">
                "What one user's, or one project's, workstations may hold in all (a project's count apart from its members' own). "
                "A field left empty is the server's default (" {describe(defaults)} ")."
            </p>
            <QuotaForm users projects=projects.clone() defaults quota/>
            <ProjectQuotas projects/>
        </section>
        <section class="panel" aria-labelledby="all-tokens-heading">
            <h2 id="all-tokens-heading">"Everyone's API tokens"</h2>
            <TokenTable tokens=page.tokens owners=true revoke/>
        </section>
    }
}

#[component]
fn UserRow(user: UserView, disable: ServerAction<SetUserDisabled>) -> impl IntoView {
    let (state, disabled, button) = match &user.disabled_at {
        Some(at) => (format!("disabled since {}", exact(at)), "no", "Enable"),
        None => ("active".to_owned(), "yes", "Disable"),
    };
    let admin = user.admin.then(|| view! { " " <span class="badge">"admin"</span> });
    let label = format!("{button} {}", user.name);
    let name = user.name.clone();
    view! {
        <tr data-testid="user-row" data-name=user.name.clone() data-disabled=user.disabled_at.is_some().to_string()>
            <td>{user.name.clone()} {admin}</td>
            <td>{exact(&user.created_at)}</td>
            <td>{user.live_tokens}</td>
            <td data-testid="user-quota">{own_quota(user.quota)}</td>
            <td>{state}</td>
            <td>
                <ActionForm action=disable>
                    <input type="hidden" name="name" value=name/>
                    <input type="hidden" name="disabled" value=disabled/>
                    <button type="submit" class="button ghost" aria-label=label>{button}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// Creates a user; they sign in with a token an admin makes for them
/// (`atelier token create --user NAME`).
#[component]
fn NewUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let name_error = field_error(create, "#/name");
    let other_error = move || match create.value().get() {
        Some(Err(AppError::Invalid { .. })) | None => None,
        Some(Ok(())) => Some(view! { <p class="notice" role="status">"User created."</p> }.into_any()),
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
    };
    view! {
        <ActionForm action=create attr:class="ws-form user-form" attr:aria-label="New user">
            {other_error}
            <div class="field" class:invalid=move || name_error().is_some()>
                <label for="user-name">"Name"</label>
                <input id="user-name" name="name" type="text" autocomplete="off" spellcheck="false"
                    aria-invalid=move || name_error().is_some().to_string()
                    aria-describedby="user-name-error"/>
                <p class="field-error" id="user-name-error">{name_error}</p>
            </div>
            <div class="field checkbox">
                <label><input type="checkbox" name="admin" value="on"/> " Admin of this instance"</label>
            </div>
            <button type="submit" class="button primary" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create user" }}
            </button>
        </ActionForm>
    }
}

/// Limits in words.
fn describe(q: Quota) -> String {
    format!(
        "{} CPU cores, {} GB memory, {} GPUs, {} GB storage",
        q.cpu_cores, q.memory_gb, q.gpus, q.storage_gb
    )
}

/// A user's own limits, only those set.
fn own_quota(q: QuotaOverrides) -> String {
    let set: Vec<String> = [
        (q.cpu_cores, "CPU cores"),
        (q.memory_gb, "GB memory"),
        (q.gpus, "GPUs"),
        (q.storage_gb, "GB storage"),
    ]
    .into_iter()
    .filter_map(|(v, what)| v.map(|n| format!("{n} {what}")))
    .collect();
    if set.is_empty() {
        "default".to_owned()
    } else {
        set.join(", ")
    }
}

/// Every project's own limits.
#[component]
fn ProjectQuotas(projects: Vec<(String, QuotaOverrides)>) -> impl IntoView {
    (!projects.is_empty()).then(|| {
        view! {
            <div class="table-scroll">
                <table class="data-table" data-testid="project-quota-table">
                    <thead>
                        <tr>
                            <th scope="col">"Project"</th>
                            <th scope="col">"Own quota"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {projects
                            .into_iter()
                            .map(|(name, limits)| view! {
                                <tr data-testid="project-quota-row" data-name=name.clone()>
                                    <td>{name.clone()}</td>
                                    <td data-testid="project-quota">{own_quota(limits)}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
    })
}

/// Reads one of an account's own limits.
type OwnLimit = fn(&QuotaOverrides) -> Option<u64>;

/// Sets one user's or project's four limits at once. The fields hold the
/// chosen account's own limits, so changing one keeps the others.
#[component]
fn QuotaForm(
    users: Vec<(String, QuotaOverrides)>,
    projects: Vec<(String, QuotaOverrides)>,
    defaults: Quota,
    quota: ServerAction<SetUserQuota>,
) -> impl IntoView {
    let status = move || match quota.value().get() {
        Some(Ok(())) => Some(view! { <p class="notice" role="status">"Quota saved."</p> }.into_any()),
        Some(Err(AppError::Invalid { .. })) | None => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
    };
    let options = |accounts: &[(String, QuotaOverrides)]| {
        accounts.iter().map(|(n, _)| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()
    };
    let (user_options, project_options) = (options(&users), options(&projects));
    let selected = RwSignal::new(users.first().map(|(name, _)| name.clone()).unwrap_or_default());
    let accounts = StoredValue::new(users.into_iter().chain(projects).collect::<Vec<_>>());
    let own = move |limit: OwnLimit| {
        accounts
            .with_value(|all| {
                selected.with(|name| all.iter().find(|(n, _)| n == name).and_then(|(_, q)| limit(q)))
            })
            .map_or_else(String::new, |n| n.to_string())
    };
    let fields: [(&str, &str, &str, &str, u64, OwnLimit); 4] = [
        ("q-cpu", "cpu_cores", "#/cpuCores", "CPU cores", defaults.cpu_cores, |q| q.cpu_cores),
        ("q-memory", "memory_gb", "#/memoryGB", "Memory (GB)", defaults.memory_gb, |q| q.memory_gb),
        ("q-gpus", "gpus", "#/gpus", "GPUs", defaults.gpus, |q| q.gpus),
        ("q-storage", "storage_gb", "#/storageGB", "Storage (GB)", defaults.storage_gb, |q| q.storage_gb),
    ];
    let fields = fields
        .into_iter()
        .map(|(id, name, pointer, label, default, limit)| {
            let error = field_error(quota, pointer);
            let described = format!("{id}-error");
            view! {
                <div class="field" class:invalid=move || error().is_some()>
                    <label for=id>{label}</label>
                    <input id=id name=name type="text" inputmode="numeric" autocomplete="off"
                        placeholder=default.to_string()
                        value=own(limit) prop:value=move || own(limit)
                        aria-invalid=move || error().is_some().to_string()
                        aria-describedby=described.clone()/>
                    <p class="field-error" id=described>{error}</p>
                </div>
            }
        })
        .collect_view();
    view! {
        <ActionForm action=quota attr:class="ws-form quota-form" attr:aria-label="A user's quota">
            {status}
            <div class="field">
                <label for="q-user">"User or project"</label>
                <select id="q-user" name="name" on:change=move |ev| selected.set(event_target_value(&ev))>
                    <optgroup label="Users">{user_options}</optgroup>
                    <optgroup label="Projects">{project_options}</optgroup>
                </select>
            </div>
            {fields}
            <button type="submit" class="button primary" disabled=move || quota.pending().get()>"Save quota"</button>
        </ActionForm>
    }
}
