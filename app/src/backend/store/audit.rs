//! The `audit_log` table, and who administers the instance (`users.admin`).

use sqlx::FromRow;

use super::{decode_error, Db, Tx};
use crate::backend::Error;
use crate::domain::{AuditAction, AuditActor, AuditObject, AuditRecord, Outcome};
use crate::{on_pool, on_tx};

/// A record to append.
#[derive(Debug, Clone, Default)]
pub struct NewAuditRecord {
    /// When it happened (stored form); now when it is written if not given.
    pub at: Option<String>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub credential: String,
    pub action: Option<AuditAction>,
    /// `(kind, id)` of what it was done to.
    pub object: Option<(String, String)>,
    /// The account (a user's or a project's) the object belongs to.
    pub account_id: Option<i64>,
    /// The same, when it is a project's.
    pub project_id: Option<i64>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub status: Option<u16>,
    pub detail: Option<String>,
}

/// Appends records, in their order, with one statement (on SQLite every
/// statement is a hand-off to the connection's thread, and the audit writer
/// shares the one write lock with every change it records).
pub async fn insert_audit_records(tx: &mut Tx, records: &[NewAuditRecord]) -> Result<(), Error> {
    if records.is_empty() {
        return Ok(());
    }
    let rows = records
        .iter()
        .map(|record| {
            let action = record.action.ok_or_else(|| decode_error("audit_log.action", "missing"))?;
            let outcome = record.outcome.ok_or_else(|| decode_error("audit_log.outcome", "missing"))?;
            let (kind, id) = match &record.object {
                Some((kind, id)) => (Some(kind.as_str()), Some(id.as_str())),
                None => (None, None),
            };
            Ok(serde_json::json!([
                record.at,
                record.actor_id,
                record.actor_name,
                record.credential,
                action.as_str(),
                kind,
                id,
                record.account_id,
                record.project_id,
                record.address,
                record.request_id,
                outcome.as_str(),
                record.status,
                record.detail,
            ]))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let input = serde_json::Value::Array(rows).to_string();
    on_tx!(tx, |conn, d| sqlx::query(&format!(
        "INSERT INTO audit_log (at, actor_id, actor_name, credential, action, object_kind, object_id,
                                account_id, project_id, address, request_id, outcome, status, detail)
         SELECT COALESCE(value->>0, {now}), CAST(value->>1 AS BIGINT), value->>2, value->>3, value->>4,
                value->>5, value->>6, CAST(value->>7 AS BIGINT), CAST(value->>8 AS BIGINT), value->>9,
                value->>10, value->>11, CAST(value->>12 AS BIGINT), value->>13
         FROM {rows} ORDER BY key",
        now = d.now,
        rows = d.json_rows("$1")
    ))
    .bind(&input)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whose records a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// Everyone's (the instance's admins).
    All,
    /// Their own (what they did, and what was done to their account) and
    /// those of the projects they administer.
    Reader { user_id: i64 },
    /// Within one project only (a project-limited token): what its user did
    /// there, and all of it when they administer the project.
    Project { user_id: i64, project_id: i64 },
}

/// What a listing keeps, all optional; `before_id` pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// The actor's user name.
    pub actor: Option<String>,
    /// The object's id.
    pub object: Option<String>,
    /// The account (a project's id) the objects belong to.
    pub account_id: Option<i64>,
    pub outcome: Option<Outcome>,
    /// From this time (stored form, included).
    pub from: Option<String>,
    /// Until this time (stored form, not included).
    pub to: Option<String>,
    pub before_id: Option<i64>,
}

#[derive(FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor_id: Option<i64>,
    actor_name: Option<String>,
    credential: String,
    action: String,
    object_kind: Option<String>,
    object_id: Option<String>,
    project_id: Option<i64>,
    address: Option<String>,
    request_id: Option<String>,
    outcome: String,
    status: Option<i64>,
    detail: Option<String>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = Error;

    fn try_from(row: AuditRow) -> Result<Self, Error> {
        let object = match (row.object_kind, row.object_id) {
            (Some(kind), Some(id)) => Some(AuditObject { kind, id }),
            _ => None,
        };
        Ok(Self {
            id: row.id,
            at: row.at,
            actor: AuditActor { id: row.actor_id, name: row.actor_name, credential: row.credential },
            action: row.action.parse().map_err(|e| decode_error("audit_log.action", e))?,
            object,
            project: row.project_id,
            address: row.address,
            request_id: row.request_id,
            outcome: row.outcome.parse().map_err(|e| decode_error("audit_log.outcome", e))?,
            status: row.status.and_then(|s| u16::try_from(s).ok()),
            detail: row.detail,
        })
    }
}

/// The projects a user administers, as an SQL subquery on the user's id in `param`.
fn administered(param: &str) -> String {
    format!("SELECT project_id FROM project_members WHERE user_id = {param} AND role IN ('admin', 'owner')")
}

/// The records `scope` sees that `filter` keeps, newest first, at most `limit`.
pub async fn list_audit(
    db: &Db,
    scope: AuditScope,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRecord>, Error> {
    // One condition for every scope, so each binds the same parameters:
    // everything ($10), or what the user ($11) did, what was done to their
    // account and to the projects they administer; within one project ($12).
    let (all, user, project) = match scope {
        AuditScope::All => (true, None, None),
        AuditScope::Reader { user_id } => (false, Some(user_id), None),
        AuditScope::Project { user_id, project_id } => (false, Some(user_id), Some(project_id)),
    };
    let rows: Vec<AuditRow> = on_pool!(db, |pool, d| sqlx::query_as::<_, AuditRow>(&format!(
        "SELECT a.id, a.at, a.actor_id, a.actor_name, a.credential, a.action, a.object_kind, a.object_id,
                a.project_id, a.address, a.request_id, a.outcome, a.status, a.detail
         FROM audit_log a
         WHERE ($10 OR a.actor_id = $11 OR a.account_id = $11 OR a.account_id IN ({administered}))
           AND ($12 IS NULL OR a.account_id = $12)
           AND ($1 IS NULL OR a.action = $1)
           AND ($2 IS NULL OR a.actor_name = $2)
           AND ($3 IS NULL OR a.object_id = $3)
           AND ($4 IS NULL OR a.account_id = $4)
           AND ($5 IS NULL OR a.outcome = $5)
           AND ($6 IS NULL OR a.at >= $6)
           AND ($7 IS NULL OR a.at < $7)
           AND ($8 IS NULL OR a.id < $8)
         ORDER BY a.id DESC
         LIMIT $9",
        administered = administered("$11")
    ))
    .bind(filter.action.map(|a| a.as_str()))
    .bind(filter.actor.as_deref())
    .bind(filter.object.as_deref())
    .bind(filter.account_id)
    .bind(filter.outcome.map(|o| o.as_str()))
    .bind(filter.from.as_deref())
    .bind(filter.to.as_deref())
    .bind(filter.before_id)
    .bind(limit)
    .bind(all)
    .bind(user)
    .bind(project)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(AuditRecord::try_from).collect()
}

/// Removes the records older than `days` days; returns how many.
pub async fn trim_audit(db: &Db, days: u32) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query(&format!(
        "DELETE FROM audit_log WHERE at < {cutoff}",
        cutoff = d.now_plus("$1")
    ))
    .bind(-(i64::from(days) * 86_400))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Whether the user administers the instance.
pub async fn is_admin(db: &Db, user_id: i64) -> Result<bool, Error> {
    let admin: Option<bool> = on_pool!(db, |pool, d| sqlx::query_scalar(
        "SELECT admin FROM users WHERE id = $1 AND kind = 'user'"
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await)?;
    Ok(admin.unwrap_or(false))
}

/// Makes the user an admin of the instance, or not.
pub async fn set_admin(db: &Db, user_id: i64, admin: bool) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query("UPDATE users SET admin = $2 WHERE id = $1 AND kind = 'user'")
        .bind(user_id)
        .bind(admin)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The account that holds workstation `id` (also a deleted one's), and
/// whether it is a project's.
pub async fn workstation_account_id(db: &Db, id: &str) -> Result<Option<(i64, bool)>, Error> {
    let found: Option<(i64, String)> = on_pool!(db, |pool, d| sqlx::query_as(
        "SELECT w.owner_id, u.kind FROM workstations w JOIN users u ON u.id = w.owner_id WHERE w.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(found.map(|(owner, kind)| (owner, kind == "project")))
}

/// The id of the project `reference` names, whoever asks.
pub async fn project_id_of(db: &Db, reference: &crate::domain::ProjectRef) -> Result<Option<i64>, Error> {
    use crate::domain::ProjectRef;
    let (id, name) = match reference {
        ProjectRef::Id(id) => (Some(*id), None),
        ProjectRef::Name(name) => (None, Some(name.as_str())),
    };
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar(
        "SELECT id FROM users WHERE kind = 'project' AND (id = $1 OR name = $2)"
    )
    .bind(id)
    .bind(name)
    .fetch_optional(pool)
    .await)?)
}
