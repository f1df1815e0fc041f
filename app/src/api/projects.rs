//! The project page's server functions: a project's members and their
//! roles, and making projects. The same backend calls (and the same rules,
//! `domain::access`) as `/v1/projects`; each change is recorded in the audit
//! log.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;
use crate::domain::{AppError, Project, ProjectDetail};

/// The refusals of the project rules, in the pages' words.
#[cfg(feature = "ssr")]
fn project_refusal(e: crate::backend::Error) -> AppError {
    use crate::backend::Error;
    match e {
        Error::Refused(detail) | Error::TokenLimited(detail) => AppError::ActionRefused(format!("{detail}.")),
        Error::Conflict(error) => AppError::Invalid { errors: vec![error], submitted: None },
        e => ssr::refusal(e),
    }
}

/// A project (its name or id) the signed-in user is in, with its members.
#[server(output = crate::codec::Json)]
pub async fn get_project_page(project: String) -> Result<ProjectDetail, AppError> {
    use crate::backend::{auth::Principal, projects};
    use crate::domain::ProjectRef;
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let caller = Principal::from(user);
    let reference = ProjectRef::parse(project.trim());
    let shown = projects::get(&state.pool, &caller, &reference).await.map_err(project_refusal)?;
    let members = projects::members(&state.pool, &caller, &reference).await.map_err(project_refusal)?;
    Ok(ProjectDetail { project: shown, members })
}

/// Makes a project; the signed-in user becomes its owner.
#[server(output = crate::codec::Json)]
pub async fn create_project(name: String) -> Result<Project, AppError> {
    use crate::backend::{auth::Principal, projects};
    use crate::domain::{AuditAction, FieldError, ProjectName};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let result = async {
        let name = ProjectName::parse(name.trim()).map_err(|e| AppError::Invalid {
            errors: vec![FieldError::new("#/name", format!("The name {e}."))],
            submitted: None,
        })?;
        projects::create(&state.pool, &Principal::from(user.clone()), &name).await.map_err(project_refusal)
    }
    .await;
    let object = result.as_ref().ok().map(|p| p.id.to_string());
    let account = result.as_ref().ok().map(|p| (p.id, true));
    ssr::record(&state, Some(&user), None, AuditAction::ProjectCreate, object, account, &result).await;
    result
}

/// Adds a member with a role, or changes their role (`role` empty: removes them).
#[server(output = crate::codec::Json)]
pub async fn set_member(
    project: String,
    user: String,
    #[server(default)] role: String,
) -> Result<(), AppError> {
    use crate::backend::{auth::Principal, projects};
    use crate::domain::{AuditAction, FieldError, ProjectRef, Role};
    let state = ssr::state()?;
    let caller = ssr::require_user(&state).await?;
    let member = user.trim().to_owned();
    let reference = ProjectRef::parse(project.trim());
    let account = crate::backend::audit::project_id(&state.pool, &reference).await.ok().flatten();
    let action = if role.is_empty() { AuditAction::MemberRemove } else { AuditAction::MemberSet };
    let result = async {
        let role = match role.as_str() {
            "" => None,
            r => Some(r.parse::<Role>().map_err(|e| AppError::Invalid {
                errors: vec![FieldError::new("#/role", format!("The role {e}."))],
                submitted: None,
            })?),
        };
        if member.is_empty() {
            return Err(AppError::Invalid {
                errors: vec![FieldError::new("#/user", "Give the user's name.")],
                submitted: None,
            });
        }
        let principal = Principal::from(caller.clone());
        projects::set_member(&state.pool, &principal, &reference, &member, role)
            .await
            .map(|_| ())
            .map_err(project_refusal)
    }
    .await;
    let account = account.map(|id| (id, true));
    ssr::record(&state, Some(&caller), None, action, Some(member), account, &result).await;
    result
}
