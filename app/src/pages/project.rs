//! A project's page: its members and their roles, managed here by its
//! admins and owners (the same rules as `/v1/projects/{id}/members`).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::authenticated::Authenticated;
use super::field_error::field_error;
use super::pager::encode;
use crate::api::{get_project_page, SetMember};
use crate::components::ErrorNotice;
use crate::domain::time::exact;
use crate::domain::{AppError, Member, Permission, ProjectDetail, Role};
use crate::refresh::refreshed;

/// The project page.
#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || params.read().get("project").unwrap_or_default();
    // Made before `Authenticated` (see there why).
    let detail = Resource::new(reference, get_project_page);
    view! {
        <Title text="Project · Atelier"/>
        <Authenticated>
            <Project detail/>
        </Authenticated>
    }
}

#[component]
fn Project(detail: Resource<Result<ProjectDetail, AppError>>) -> impl IntoView {
    view! {
        <main class="page project">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(detail) => Either::Left(view! { <ProjectForms detail/> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The members with the forms that change them; the project is read again
/// after each change.
#[island]
fn ProjectForms(detail: ProjectDetail) -> impl IntoView {
    let change = ServerAction::<SetMember>::new();
    let reference = detail.project.id.to_string();
    let detail =
        refreshed(detail, move || change.version().get(), move || get_project_page(reference.clone()));
    move || view! { <ProjectView detail=detail.get() change/> }
}

#[component]
fn ProjectView(detail: ProjectDetail, change: ServerAction<SetMember>) -> impl IntoView {
    let ProjectDetail { project, members } = detail;
    let role = project.role;
    let manages = role.allows(Permission::Manage);
    let workstations = format!("/?project={}", encode(&project.name));
    let error = move || match change.value().get() {
        Some(Err(AppError::Invalid { .. })) | None | Some(Ok(())) => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
    };
    let name = project.name.clone();
    let add = manages.then(|| view! { <AddMemberForm project=name.clone() role change/> });
    view! {
        <section class="panel" aria-labelledby="project-heading">
            <h1 id="project-heading">"Project " {project.name.clone()}</h1>
            <p>
                "You are " <strong data-testid="project-role">{role.as_str()}</strong> " here. "
                <a href=workstations>"Its workstations"</a> "."
            </p>
        </section>
        <section class="panel" aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <p class="muted">
                "Viewers read its workstations; members also create, launch, stop and use them; "
                "admins also reconfigure and delete them and manage members; owners also delete the project and make owners."
            </p>
            {error}
            {add}
            <div class="table-scroll">
                <table class="data-table" data-testid="member-table">
                    <thead>
                        <tr>
                            <th scope="col">"User"</th>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Since"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {members
                            .into_iter()
                            .map(|member| view! { <MemberRow project=name.clone() member mine=role change/> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The roles `mine` may give: below owner for admins, any for owners.
fn grantable(mine: Role) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| mine == Role::Owner || (mine.allows(Permission::Manage) && *r < Role::Owner))
        .collect()
}

#[component]
fn MemberRow(project: String, member: Member, mine: Role, change: ServerAction<SetMember>) -> impl IntoView {
    // Admins manage members below owner; owners manage everyone.
    let may_change = mine.allows(Permission::Manage) && (member.role < Role::Owner || mine == Role::Owner);
    let controls = may_change.then(|| {
        let roles = grantable(mine);
        let current = member.role;
        let select_label = format!("Role of {}", member.user);
        let remove_label = format!("Remove {}", member.user);
        let (project_a, user_a) = (project.clone(), member.user.clone());
        let (project_b, user_b) = (project.clone(), member.user.clone());
        view! {
            <div class="member-actions">
                <ActionForm action=change>
                    <input type="hidden" name="project" value=project_a/>
                    <input type="hidden" name="user" value=user_a/>
                    <select name="role" aria-label=select_label>
                        {roles
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                    <button type="submit" class="button ghost">"Change"</button>
                </ActionForm>
                <ActionForm action=change>
                    <input type="hidden" name="project" value=project_b/>
                    <input type="hidden" name="user" value=user_b/>
                    <button type="submit" class="button ghost danger" aria-label=remove_label>"Remove"</button>
                </ActionForm>
            </div>
        }
    });
    view! {
        <tr data-testid="member-row" data-user=member.user.clone() data-role=member.role.as_str()>
            <td>{member.user.clone()}</td>
            <td>{member.role.as_str()}</td>
            <td>{exact(&member.added_at)}</td>
            <td>{controls}</td>
        </tr>
    }
}

/// Adds someone (by user name) with a role.
#[component]
fn AddMemberForm(project: String, role: Role, change: ServerAction<SetMember>) -> impl IntoView {
    let user_error = field_error(change, "#/user");
    view! {
        <ActionForm action=change attr:class="ws-form member-form" attr:aria-label="Add a member">
            <input type="hidden" name="project" value=project/>
            <div class="field" class:invalid=move || user_error().is_some()>
                <label for="member-user">"User"</label>
                <input id="member-user" name="user" type="text" autocomplete="off" spellcheck="false"
                    aria-invalid=move || user_error().is_some().to_string()
                    aria-describedby="member-user-error"/>
                <p class="field-error" id="member-user-error">{user_error}</p>
            </div>
            <div class="field">
                <label for="member-role">"Role"</label>
                <select id="member-role" name="role">
                    {grantable(role)
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == Role::Member>{r.as_str()}</option> })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="button primary" disabled=move || change.pending().get()>"Add member"</button>
        </ActionForm>
    }
}
