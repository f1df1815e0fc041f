//! The server's message for one field of a small form (the account, admin
//! and project pages' forms), shown under its input.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::domain::AppError;

/// The message for the field at `pointer` in the last answer to `action`,
/// while there is one.
pub(super) fn field_error<S>(
    action: ServerAction<S>,
    pointer: &'static str,
) -> impl Fn() -> Option<String> + Copy
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    move || {
        action.value().with(|answer| match answer {
            Some(Err(AppError::Invalid { errors, .. })) => {
                errors.iter().find(|e| e.pointer == pointer).map(|e| e.detail.clone())
            }
            _ => None,
        })
    }
}
