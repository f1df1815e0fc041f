//! Projects and their members: each change checked against the caller's
//! role (`access`) and the membership rules (`domain::access`) in one write
//! transaction, so two concurrent changes cannot both remove the last owner.

use super::access;
use super::auth::Principal;
use super::store::{self, Db, User};
use super::Error;
use crate::domain::access::{check_owners_left, membership_change_needs, MembershipRule};
use crate::domain::{Member, Permission, Project, ProjectName, ProjectRef, QuotaStatus, Role};

/// Makes a project; its creator is its first owner.
#[tracing::instrument(skip_all, fields(user = %user.name, project = name.as_str()))]
pub async fn create(db: &Db, user: &Principal, name: &ProjectName) -> Result<Project, Error> {
    if user.project.is_some() {
        return Err(Error::TokenLimited("a token limited to one project cannot create projects".into()));
    }
    let mut tx = store::begin_write(db).await?;
    let project = store::insert_project(&mut tx, name.as_str(), user.id).await?;
    tx.commit().await?;
    Ok(project.shown(Role::Owner))
}

/// The projects the user is a member of, by name, with their role.
pub async fn list(db: &Db, user: &Principal) -> Result<Vec<Project>, Error> {
    Ok(store::projects_of(db, user.id)
        .await?
        .into_iter()
        .filter(|p| user.project.is_none_or(|only| only == p.account.id))
        .filter_map(|p| p.role.map(|role| p.shown(role)))
        .collect())
}

/// One of the user's projects.
pub async fn get(db: &Db, user: &Principal, reference: &ProjectRef) -> Result<Project, Error> {
    let project = access::project(db, user, reference, Permission::Read).await?;
    let role = project.role.unwrap_or(Role::Viewer);
    Ok(project.shown(role))
}

/// Renames a project (admins and owners).
#[tracing::instrument(skip_all, fields(user = %user.name, project = %reference))]
pub async fn rename(
    db: &Db,
    user: &Principal,
    reference: &ProjectRef,
    name: &ProjectName,
) -> Result<Project, Error> {
    let mut project = access::project(db, user, reference, Permission::Manage).await?;
    let mut tx = store::begin_write(db).await?;
    store::rename_project(&mut tx, project.account.id, name.as_str()).await?;
    tx.commit().await?;
    project.account.name = name.as_str().to_owned();
    let role = project.role.unwrap_or(Role::Viewer);
    Ok(project.shown(role))
}

/// Deletes a project (owners), refused while it holds workstations.
#[tracing::instrument(skip_all, fields(user = %user.name, project = %reference))]
pub async fn delete(db: &Db, user: &Principal, reference: &ProjectRef) -> Result<(), Error> {
    let project = access::project(db, user, reference, Permission::Own).await?;
    let mut tx = store::begin_write(db).await?;
    let held = store::count_owned_workstations(&mut tx, project.account.id).await?;
    if held > 0 {
        return Err(Error::Refused(format!(
            "project {:?} still holds {held} workstation(s); delete them first",
            project.account.name
        )));
    }
    store::delete_project(&mut tx, project.account.id).await?;
    tx.commit().await?;
    // Tokens limited to the project went with it.
    super::credentials::changed();
    Ok(())
}

/// A project's members (anyone in it may see them).
pub async fn members(db: &Db, user: &Principal, reference: &ProjectRef) -> Result<Vec<Member>, Error> {
    let project = access::project(db, user, reference, Permission::Read).await?;
    store::members(db, project.account.id).await
}

/// Adds `member` with `role`, or changes their role (`None`: removes them).
/// Admins manage members below owner; only owners make, change or remove
/// owners; anyone may leave; the last owner can neither leave nor be demoted.
#[tracing::instrument(skip_all, fields(user = %user.name, project = %reference, member = member))]
pub async fn set_member(
    db: &Db,
    user: &Principal,
    reference: &ProjectRef,
    member: &str,
    role: Option<Role>,
) -> Result<Vec<Member>, Error> {
    let project = access::project(db, user, reference, Permission::Read).await?;
    let target = store::find_user(db, member)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no user named {member:?}")))?;
    let mut tx = store::begin_write(db).await?;
    // Read again under the write lock: the caller's role, and the target's.
    let mine = store::member_role(&mut tx, project.account.id, user.id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("you are in no project {:?}", reference.to_string())))?;
    let current = store::member_role(&mut tx, project.account.id, target.id).await?;
    if current.is_none() && role.is_none() {
        return Err(Error::NotFound(format!(
            "{member:?} is not a member of project {:?}",
            project.account.name
        )));
    }
    if let Some(needed) = membership_change_needs(current, role, target.id == user.id) {
        if !mine.allows(needed) {
            return Err(Error::Forbidden {
                detail: format!(
                    "you are {} {mine} of project {:?}; it takes the {} role to {}",
                    if matches!(mine, Role::Admin | Role::Owner) { "an" } else { "a" },
                    project.account.name,
                    needed.role_needed(),
                    if needed == Permission::Own {
                        "make, change or remove owners"
                    } else {
                        "manage members"
                    }
                ),
                role_needed: needed.role_needed(),
                role: mine,
            });
        }
    }
    let owners = store::count_owners(&mut tx, project.account.id).await?;
    if let Err(MembershipRule::LastOwner) = check_owners_left(current, role, owners) {
        return Err(Error::Refused(format!(
            "{member:?} is the last owner of project {:?}; make another owner first",
            project.account.name
        )));
    }
    match role {
        Some(role) => store::set_member(&mut tx, project.account.id, target.id, role).await?,
        None => store::remove_member(&mut tx, project.account.id, target.id).await?,
    }
    tx.commit().await?;
    store::members(db, project.account.id).await
}

/// A project's quota: its limits and what its workstations use, counted
/// apart from its members' own.
pub async fn quota(
    state: &super::AppState,
    user: &Principal,
    reference: &ProjectRef,
) -> Result<QuotaStatus, Error> {
    let project = access::project(&state.pool, user, reference, Permission::Read).await?;
    super::quota::status(state, &project.account).await
}

/// The project named `name`, for an operator (the CLI), whoever its members.
pub async fn find_for_operator(db: &Db, name: &str) -> Result<Option<User>, Error> {
    Ok(store::find_project(db, 0, &ProjectRef::parse(name)).await?.map(|p| p.account))
}
