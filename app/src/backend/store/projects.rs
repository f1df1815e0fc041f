//! Projects (accounts of kind `project` in `users`) and `project_members`.

use sqlx::FromRow;

use super::users::User;
use super::{decode_error, is_unique_violation, Db, Tx};
use crate::backend::Error;
use crate::domain::{FieldError, Member, Project, ProjectRef, Role};
use crate::{on_pool, on_tx};

/// A project as stored, with the role in it of the user who asked (none
/// when they are not a member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAccount {
    /// The project's account: what its workstations, quota and usage hang on.
    pub account: User,
    pub created_at: String,
    pub role: Option<Role>,
}

impl ProjectAccount {
    /// As the API shows it, for a member.
    pub fn shown(&self, role: Role) -> Project {
        Project {
            id: self.account.id,
            name: self.account.name.clone(),
            role,
            created_at: self.created_at.clone(),
        }
    }
}

#[derive(FromRow)]
struct ProjectRow {
    id: i64,
    name: String,
    created_at: String,
    role: Option<String>,
}

fn role_of(stored: Option<String>) -> Result<Option<Role>, Error> {
    stored.map(|r| r.parse::<Role>().map_err(|e| decode_error("project_members.role", e))).transpose()
}

impl TryFrom<ProjectRow> for ProjectAccount {
    type Error = Error;

    fn try_from(row: ProjectRow) -> Result<Self, Error> {
        Ok(Self {
            account: User { id: row.id, name: row.name },
            created_at: row.created_at,
            role: role_of(row.role)?,
        })
    }
}

fn name_taken(e: sqlx::Error, name: &str) -> Error {
    if is_unique_violation(&e) {
        Error::Conflict(FieldError::new(
            "#/name",
            format!("the name {name:?} is taken by a user or a project"),
        ))
    } else {
        e.into()
    }
}

/// Makes a project with `creator` as its owner.
pub async fn insert_project(tx: &mut Tx, name: &str, creator: i64) -> Result<ProjectAccount, Error> {
    let (id, created_at): (i64, String) = on_tx!(tx, |conn, d| sqlx::query_as(
        "INSERT INTO users (name, kind) VALUES ($1, 'project') RETURNING id, created_at"
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await)
    .map_err(|e| name_taken(e, name))?;
    on_tx!(tx, |conn, d| sqlx::query(
        "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')"
    )
    .bind(id)
    .bind(creator)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(ProjectAccount { account: User { id, name: name.to_owned() }, created_at, role: Some(Role::Owner) })
}

/// The projects `user_id` is a member of, by name.
pub async fn projects_of(db: &Db, user_id: i64) -> Result<Vec<ProjectAccount>, Error> {
    let rows = on_pool!(db, |pool, d| {
        sqlx::query_as::<_, ProjectRow>(
        "SELECT p.id, p.name, p.created_at, m.role FROM project_members m JOIN users p ON p.id = m.project_id
         WHERE m.user_id = $1 AND p.kind = 'project' ORDER BY p.name"
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(ProjectAccount::try_from).collect()
}

/// The project a reference names, with `user_id`'s role in it.
pub async fn find_project(
    db: &Db,
    user_id: i64,
    project: &ProjectRef,
) -> Result<Option<ProjectAccount>, Error> {
    let (id, name) = match project {
        ProjectRef::Id(id) => (Some(*id), None),
        ProjectRef::Name(name) => (None, Some(name.as_str())),
    };
    on_pool!(db, |pool, d| sqlx::query_as::<_, ProjectRow>(
        "SELECT p.id, p.name, p.created_at, m.role FROM users p
         LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $1
         WHERE p.kind = 'project' AND (p.id = $2 OR p.name = $3)"
    )
    .bind(user_id)
    .bind(id)
    .bind(name)
    .fetch_optional(pool)
    .await)?
    .map(ProjectAccount::try_from)
    .transpose()
}

/// `user_id`'s role in the project, read inside a write transaction.
pub async fn member_role(tx: &mut Tx, project_id: i64, user_id: i64) -> Result<Option<Role>, Error> {
    let role: Option<String> = on_tx!(tx, |conn, d| sqlx::query_scalar(
        "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2"
    )
    .bind(project_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await)?;
    role_of(role)
}

/// How many owners the project has.
pub async fn count_owners(tx: &mut Tx, project_id: i64) -> Result<i64, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_scalar(
        "SELECT COUNT(*) FROM project_members WHERE project_id = $1 AND role = 'owner'"
    )
    .bind(project_id)
    .fetch_one(&mut *conn)
    .await)?)
}

/// Adds a member or changes their role.
pub async fn set_member(tx: &mut Tx, project_id: i64, user_id: i64, role: Role) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query(
        "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role"
    )
    .bind(project_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes a member.
pub async fn remove_member(tx: &mut Tx, project_id: i64, user_id: i64) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A project's members, owners first, then by name.
pub async fn members(db: &Db, project_id: i64) -> Result<Vec<Member>, Error> {
    let rows: Vec<(String, String, String)> = on_pool!(db, |pool, d| {
        sqlx::query_as(
        "SELECT u.name, m.role, m.added_at FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = $1
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END, u.name"
    )
    .bind(project_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter()
        .map(|(user, role, added_at)| {
            let role = role.parse::<Role>().map_err(|e| decode_error("project_members.role", e))?;
            Ok(Member { user, role, added_at })
        })
        .collect()
}

/// Renames a project; a taken name is a conflict.
pub async fn rename_project(tx: &mut Tx, project_id: i64, name: &str) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query("UPDATE users SET name = $2 WHERE id = $1 AND kind = 'project'")
        .bind(project_id)
        .bind(name)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
    .map_err(|e| name_taken(e, name))?;
    Ok(())
}

/// How many workstations the account holds.
pub async fn count_owned_workstations(tx: &mut Tx, owner_id: i64) -> Result<i64, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_scalar("SELECT COUNT(*) FROM workstations WHERE owner_id = $1")
        .bind(owner_id)
        .fetch_one(&mut *conn)
        .await)?)
}

/// Removes a project with its members, quota and usage records.
pub async fn delete_project(tx: &mut Tx, project_id: i64) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'project'")
        .bind(project_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Who owns a workstation (or owned it: a deleted one's history stays), and
/// `user_id`'s role in it when that is a project: `(owner account, is a
/// project, role)`.
pub async fn workstation_owner(
    db: &Db,
    user_id: i64,
    workstation_id: &str,
) -> Result<Option<(User, bool, Option<Role>)>, Error> {
    let row: Option<(i64, String, String, Option<String>)> = on_pool!(db, |pool, d| sqlx::query_as(
        "SELECT o.id, o.name, o.kind, m.role FROM users o
         LEFT JOIN project_members m ON m.project_id = o.id AND m.user_id = $1
         WHERE o.id = COALESCE(
            (SELECT w.owner_id FROM workstations w WHERE w.id = $2),
            (SELECT e.owner_id FROM events e WHERE e.workstation_id = $2 LIMIT 1))"
    )
    .bind(user_id)
    .bind(workstation_id)
    .fetch_optional(pool)
    .await)?;
    row.map(|(id, name, kind, role)| Ok((User { id, name }, kind == "project", role_of(role)?))).transpose()
}
