//! Users, their tokens and their own quota limits, as an operator manages
//! them (`atelier user|token|quota`) and as a fresh server sets up its demo
//! user.

use super::store::{self, Db, TokenInfo, User};
use super::Error;
use crate::domain::QuotaOverrides;

/// Creates a user (the name checked by the caller, [`super::auth::check_user_name`]).
pub async fn create_user(db: &Db, name: &str) -> Result<User, Error> {
    store::create_user(db, name).await
}

/// Makes the user an admin of the instance (or not).
pub async fn set_admin(db: &Db, user: &User, admin: bool) -> Result<(), Error> {
    store::set_admin(db, user.id, admin).await
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

/// A user's own limits (`None`: the server's default).
pub async fn quota_overrides(db: &Db, user: &User) -> Result<QuotaOverrides, Error> {
    let mut tx = store::begin_read(db).await?;
    let overrides = store::user_quota(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(overrides)
}
