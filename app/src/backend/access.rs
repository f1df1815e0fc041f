//! Whose account a request acts on, and whether the caller's role there
//! allows it: the rules are the domain's (`domain::access`), the roles are
//! read here. A token limited to one project acts there only: everything
//! else is not there for it (404).

use super::auth::Principal;
use super::store::{self, Db, ProjectAccount, User};
use super::Error;
use crate::domain::{Permission, ProjectRef, Role};

/// The refusal for a member whose role falls short.
fn forbidden(project: &str, role: Role, what: Permission) -> Error {
    let needed = what.role_needed();
    Error::Forbidden {
        detail: format!(
            "you are {} {role} of project {project:?}; it takes the {needed} role to {}",
            if role == Role::Admin || role == Role::Owner { "an" } else { "a" },
            what.verb()
        ),
        role_needed: needed,
        role,
    }
}

fn no_workstation(id: &str) -> Error {
    Error::NotFound(format!("you have no workstation with id {id:?}"))
}

/// The account that holds workstation `id` when the caller may do `what` to
/// it. For the user's own workstation, and for one they cannot see (another
/// user's, a project they are not in, none), it is the user's own account,
/// where the service then finds nothing and answers its usual 404; a
/// project member whose role falls short is refused here.
pub async fn workstation_account(
    db: &Db,
    caller: &Principal,
    id: &str,
    what: Permission,
) -> Result<User, Error> {
    Ok(workstation_access(db, caller, id, what).await?.0)
}

/// The same, with the caller's role when the account is a project's (`None`: their own).
pub async fn workstation_access(
    db: &Db,
    caller: &Principal,
    id: &str,
    what: Permission,
) -> Result<(User, Option<Role>), Error> {
    match store::workstation_owner(db, caller.id, id).await? {
        Some((project, true, Some(role))) if caller.project.is_none_or(|p| p == project.id) => {
            if role.allows(what) {
                Ok((project, Some(role)))
            } else {
                Err(forbidden(&project.name, role, what))
            }
        }
        _ if caller.project.is_some() => Err(no_workstation(id)),
        _ => Ok((caller.user.clone(), None)),
    }
}

/// The project `reference` names when the caller is a member allowed to do `what`.
pub async fn project(
    db: &Db,
    caller: &Principal,
    reference: &ProjectRef,
    what: Permission,
) -> Result<ProjectAccount, Error> {
    let not_found = || Error::NotFound(format!("you are in no project {:?}", reference.to_string()));
    let project = store::find_project(db, caller.id, reference).await?.ok_or_else(not_found)?;
    let role = project.role.ok_or_else(not_found)?;
    if caller.project.is_some_and(|p| p != project.account.id) {
        return Err(not_found());
    }
    if !role.allows(what) {
        return Err(forbidden(&project.account.name, role, what));
    }
    Ok(project)
}

/// The account a request names: the user's own when it names no project
/// (a project-limited token's project), else the project's when the caller
/// may do `what` in it.
pub async fn account(
    db: &Db,
    caller: &Principal,
    project: Option<&ProjectRef>,
    what: Permission,
) -> Result<User, Error> {
    match (project, caller.project) {
        (Some(reference), _) => Ok(self::project(db, caller, reference, what).await?.account),
        (None, Some(limit)) => Ok(self::project(db, caller, &ProjectRef::Id(limit), what).await?.account),
        (None, None) => Ok(caller.user.clone()),
    }
}
