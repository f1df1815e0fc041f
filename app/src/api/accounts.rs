//! The account page's and the admin page's server functions: a user's own
//! API tokens, and the instance's users and everyone's tokens for its
//! admins. Each change is recorded in the audit log like the API's.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;
use crate::domain::{AccountPage, AdminPage, AppError, CreatedToken};

/// The signed-in user's account: their tokens and the projects a new one
/// may be limited to.
#[server(output = crate::codec::Json)]
pub async fn get_account() -> Result<AccountPage, AppError> {
    use crate::backend::{accounts, auth, auth::Principal, projects};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let pool = &state.pool;
    let caller = Principal::from(user.clone());
    let (admin, tokens, projects) = tokio::try_join!(
        accounts::is_admin(pool, &user),
        accounts::token_views(pool, Some(&user.name)),
        projects::list(pool, &caller),
    )
    .map_err(ssr::internal)?;
    // A token made by a form posted without JavaScript, shown this once.
    let carried = ssr::cookie(CREATED_COOKIE);
    if carried.is_some() {
        ssr::set_cookie(&created_cookie("", 0, state.settings.secure_cookies))?;
    }
    let created = carried.filter(|t| auth::looks_like_token(t)).and_then(|token| {
        let prefix = token.get(..auth::SHOWN_PREFIX_LEN)?.to_owned();
        tokens.iter().any(|t| t.prefix == prefix).then_some(CreatedToken { token, prefix })
    });
    Ok(AccountPage { name: user.name, admin, tokens, projects, created })
}

/// Carries a token made without JavaScript to the account page it is sent
/// back to (the server function's answer goes nowhere then): for a minute,
/// to this browser and that page only, and cleared once shown.
#[cfg(feature = "ssr")]
const CREATED_COOKIE: &str = "atelier_new_token";

#[cfg(feature = "ssr")]
fn created_cookie(value: &str, max_age: u32, secure: bool) -> String {
    format!(
        "{CREATED_COOKIE}={value}; Path=/account; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Creates an API token for the signed-in user, shown this once: read-only
/// if `read_only` is set, limited to one of their projects if `project`
/// names one, expiring after `lifetime` days unless it is empty.
#[server(output = crate::codec::Json)]
pub async fn create_token(
    #[server(default)] label: String,
    #[server(default)] read_only: String,
    #[server(default)] project: String,
    #[server(default)] lifetime: String,
) -> Result<CreatedToken, AppError> {
    use crate::backend::auth;
    use crate::domain::account::{parse_label, parse_lifetime_days};
    use crate::domain::{AuditAction, FieldError, Permission};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let mut account = None;
    let result = async {
        let mut errors = Vec::new();
        let label = parse_label(&label).map_err(|e| errors.push(FieldError::new("#/label", e)));
        let days = parse_lifetime_days(&lifetime).map_err(|e| errors.push(FieldError::new("#/lifetime", e)));
        let (Ok(label), Ok(days)) = (label, days) else {
            return Err(AppError::Invalid { errors, submitted: None });
        };
        let project = if project.trim().is_empty() {
            None
        } else {
            Some(ssr::project_account(&state, &user, &project, Permission::Read).await?.0.id)
        };
        account = project.map(|id| (id, true));
        let scope = if read_only.is_empty() { auth::Scope::Full } else { auth::Scope::Read };
        let expires_in = days.map(|d| std::time::Duration::from_secs(u64::from(d) * 86_400));
        let issued = auth::issue_token_in(&state.pool, &user, label.as_deref(), scope, expires_in, project)
            .await
            .map_err(ssr::internal)?;
        if ssr::posted_without_js() {
            ssr::set_cookie(&created_cookie(&issued.token, 60, state.settings.secure_cookies))?;
        }
        Ok(CreatedToken { token: issued.token, prefix: issued.prefix })
    }
    .await;
    let object = result.as_ref().ok().map(|t| t.prefix.clone());
    ssr::record(&state, Some(&user), None, AuditAction::TokenCreate, object, account, &result).await;
    result
}

/// Revokes a token by its prefix: one of the signed-in user's own, or
/// anyone's for an admin of the instance.
#[server(output = crate::codec::Json)]
pub async fn revoke_token(prefix: String) -> Result<(), AppError> {
    use crate::backend::{accounts, auth};
    use crate::domain::AuditAction;
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let prefix = prefix.trim().to_owned();
    let result = async {
        let admin = accounts::is_admin(&state.pool, &user).await.map_err(ssr::internal)?;
        let owner = (!admin).then_some(&user);
        match auth::revoke_token_of(&state.pool, owner, &prefix).await.map_err(ssr::internal)? {
            Some(n) if n > 0 => Ok(()),
            _ => Err(AppError::ActionRefused(format!("No active token of yours starts with {prefix:?}."))),
        }
    }
    .await;
    let object = Some(prefix.chars().take(auth::SHOWN_PREFIX_LEN).collect());
    ssr::record(&state, Some(&user), None, AuditAction::TokenRevoke, object, None, &result).await;
    result
}

/// The admin page: every user and everyone's tokens, for an admin of the
/// instance only.
#[server(output = crate::codec::Json)]
pub async fn get_admin() -> Result<AdminPage, AppError> {
    use crate::backend::accounts;
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    ssr::require_admin(&state, &user).await?;
    let users = accounts::users(&state.pool).await.map_err(ssr::internal)?;
    let tokens = accounts::token_views(&state.pool, None).await.map_err(ssr::internal)?;
    let projects = accounts::project_quotas(&state.pool).await.map_err(ssr::internal)?;
    Ok(AdminPage { users, tokens, default_quota: state.settings.default_quota, projects })
}

/// Sets a user's or a project's own limits (`name` is theirs), all four at
/// once; an empty field is the server's default.
#[server(output = crate::codec::Json)]
pub async fn set_user_quota(
    name: String,
    #[server(default)] cpu_cores: String,
    #[server(default)] memory_gb: String,
    #[server(default)] gpus: String,
    #[server(default)] storage_gb: String,
) -> Result<(), AppError> {
    use crate::backend::accounts;
    use crate::domain::account::parse_limit;
    use crate::domain::{AuditAction, FieldError, QuotaOverrides};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let mut account = None;
    let result = async {
        ssr::require_admin(&state, &user).await?;
        let mut errors = Vec::new();
        let mut limit = |pointer: &str, value: &str| {
            parse_limit(value).map_err(|e| errors.push(FieldError::new(pointer, e))).ok().flatten()
        };
        let limits = QuotaOverrides {
            cpu_cores: limit("#/cpuCores", &cpu_cores),
            memory_gb: limit("#/memoryGB", &memory_gb),
            gpus: limit("#/gpus", &gpus),
            storage_gb: limit("#/storageGB", &storage_gb),
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid { errors, submitted: None });
        }
        let user = accounts::find_user(&state.pool, &name).await.map_err(ssr::internal)?;
        let target = match user {
            Some(user) => (user, false),
            None => crate::backend::projects::find_for_operator(&state.pool, &name)
                .await
                .map_err(ssr::internal)?
                .map(|project| (project, true))
                .ok_or_else(|| {
                    AppError::ActionRefused(format!("There is no user or project named {name:?}."))
                })?,
        };
        account = Some((target.0.id, target.1));
        let target = target.0;
        accounts::replace_quota(&state.pool, &target, limits).await.map_err(ssr::internal)
    }
    .await;
    ssr::record(&state, Some(&user), None, AuditAction::QuotaSet, Some(name), account, &result).await;
    result
}

/// Creates a user (an admin of the instance too if `admin` is set); they
/// sign in with a token made for them.
#[server(output = crate::codec::Json)]
pub async fn create_user(name: String, #[server(default)] admin: String) -> Result<(), AppError> {
    use crate::backend::{accounts, auth, Error};
    use crate::domain::{AuditAction, FieldError};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let name = name.trim().to_owned();
    let mut account = None;
    let result = async {
        ssr::require_admin(&state, &user).await?;
        auth::check_user_name(&name).map_err(|e| AppError::Invalid {
            errors: vec![FieldError::new("#/name", format!("The name {e}."))],
            submitted: None,
        })?;
        let created =
            accounts::create_user(&state.pool, &name, !admin.is_empty()).await.map_err(|e| match e {
                Error::Conflict(error) => AppError::Invalid { errors: vec![error], submitted: None },
                e => ssr::internal(e),
            })?;
        account = Some((created.id, false));
        Ok(())
    }
    .await;
    ssr::record(&state, Some(&user), None, AuditAction::UserCreate, Some(name), account, &result).await;
    result
}

/// Disables (`disabled` = `yes`) or enables (`no`) a user; an admin cannot
/// disable themselves.
#[server(output = crate::codec::Json)]
pub async fn set_user_disabled(name: String, disabled: String) -> Result<(), AppError> {
    use crate::backend::accounts;
    use crate::domain::AuditAction;
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let disable = disabled == "yes";
    let recorded = if disable { AuditAction::UserDisable } else { AuditAction::UserEnable };
    let mut account = None;
    let result = async {
        ssr::require_admin(&state, &user).await?;
        if disabled != "yes" && disabled != "no" {
            return Err(AppError::ActionRefused("Choose to disable or to enable the user.".into()));
        }
        let target = accounts::find_user(&state.pool, &name)
            .await
            .map_err(ssr::internal)?
            .ok_or_else(|| AppError::ActionRefused(format!("There is no user named {name:?}.")))?;
        if disable && target.id == user.id {
            return Err(AppError::ActionRefused("You cannot disable yourself.".into()));
        }
        account = Some((target.id, false));
        accounts::set_disabled(&state.pool, &target, disable).await.map_err(ssr::internal)
    }
    .await;
    ssr::record(&state, Some(&user), None, recorded, Some(name), account, &result).await;
    result
}
