//! Users, their tokens and their own quota limits, as an operator manages
//! them (`atelier user|token|quota`) and as a fresh server sets up its demo
//! user.

use super::store::{self, Db, TokenInfo, User};
use super::Error;
use crate::domain::{QuotaOverrides, TokenState, TokenView, UserView};

/// Creates a user, an admin of the instance if `admin` (the name checked
/// by the caller, [`super::auth::check_user_name`]).
pub async fn create_user(db: &Db, name: &str, admin: bool) -> Result<User, Error> {
    store::create_user_as(db, name, admin).await
}

/// The user named `name`, if there is one.
pub async fn find_user(db: &Db, name: &str) -> Result<Option<User>, Error> {
    store::find_user(db, name).await
}

/// The user named `name`, created if missing; whether it was.
pub async fn find_or_create_user(db: &Db, name: &str) -> Result<(User, bool), Error> {
    match store::find_user(db, name).await? {
        Some(user) => Ok((user, false)),
        None => Ok((store::create_user(db, name).await?, true)),
    }
}

/// Whether any user exists yet.
pub async fn has_users(db: &Db) -> Result<bool, Error> {
    Ok(store::count_users(db).await? > 0)
}

/// Every token, or one user's, newest first.
pub async fn tokens(db: &Db, user: Option<&str>) -> Result<Vec<TokenInfo>, Error> {
    store::list_tokens(db, user).await
}

/// Sets some of a user's own limits, keeping the others.
pub async fn set_quota(db: &Db, user: &User, overrides: QuotaOverrides) -> Result<(), Error> {
    store::set_user_quota(db, user.id, overrides).await
}

/// Sets all of a user's own limits at once (`None`: the server's default).
pub async fn replace_quota(db: &Db, user: &User, limits: QuotaOverrides) -> Result<(), Error> {
    store::replace_user_quota(db, user.id, limits).await
}

/// A user's own limits (`None`: the server's default).
pub async fn quota_overrides(db: &Db, user: &User) -> Result<QuotaOverrides, Error> {
    let mut tx = store::begin_read(db).await?;
    let overrides = store::user_quota(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(overrides)
}

/// Disables a user: their tokens stop working and their sessions end at
/// once (open streams and terminals close within the second they recheck
/// credentials in); their workstations keep running. Enabling brings the
/// tokens back, not the sessions.
pub async fn set_disabled(db: &Db, user: &User, disabled: bool) -> Result<(), Error> {
    store::set_user_disabled(db, user.id, disabled).await?;
    if disabled {
        store::delete_user_sessions(db, user.id).await?;
    }
    Ok(())
}

/// Every user, by name, as the admin page shows them.
pub async fn users(db: &Db) -> Result<Vec<UserView>, Error> {
    Ok(store::list_users(db)
        .await?
        .into_iter()
        .map(|u| UserView {
            name: u.name,
            created_at: u.created_at,
            admin: u.admin,
            disabled_at: u.disabled_at,
            live_tokens: u.live_tokens,
            quota: limits([u.cpu_cores, u.memory_gb, u.gpus, u.storage_gb]),
        })
        .collect())
}

/// Every project's own limits, by name, as the admin page shows them.
pub async fn project_quotas(db: &Db) -> Result<Vec<(String, QuotaOverrides)>, Error> {
    Ok(store::list_project_quotas(db)
        .await?
        .into_iter()
        .map(|(name, stored)| (name, limits(stored)))
        .collect())
}

fn limits([cpu_cores, memory_gb, gpus, storage_gb]: [Option<i64>; 4]) -> QuotaOverrides {
    let limit = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    QuotaOverrides {
        cpu_cores: limit(cpu_cores),
        memory_gb: limit(memory_gb),
        gpus: limit(gpus),
        storage_gb: limit(storage_gb),
    }
}

/// Whether the user is an admin of the instance.
pub async fn is_admin(db: &Db, user: &User) -> Result<bool, Error> {
    store::is_admin(db, user.id).await
}

/// Every token, or one user's, newest first, as the pages show them.
pub async fn token_views(db: &Db, user: Option<&str>) -> Result<Vec<TokenView>, Error> {
    Ok(tokens(db, user).await?.into_iter().map(token_view).collect())
}

/// Whether a token is active, revoked or expired.
pub fn token_state(info: &TokenInfo) -> TokenState {
    if info.revoked_at.is_some() {
        TokenState::Revoked
    } else if info.expired {
        TokenState::Expired
    } else {
        TokenState::Active
    }
}

fn token_view(info: TokenInfo) -> TokenView {
    let state = token_state(&info);
    TokenView {
        prefix: info.prefix,
        user: info.user_name,
        label: info.label,
        read_only: info.scope != "full",
        project: info.project_name,
        created_at: info.created_at,
        last_used_at: info.last_used_at,
        expires_at: info.expires_at,
        state,
    }
}
