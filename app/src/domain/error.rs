//! Errors the pages' server functions return, in a shape the browser can
//! read back (also from the URL after a form post without JavaScript).

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use super::request::{FieldError, WorkstationForm};

/// What went wrong in a server function, as the page needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No signed-in session.
    #[error("sign in to continue")]
    Unauthorized,
    /// The sign-in token was not accepted.
    #[error("{0}")]
    SignInFailed(String),
    /// The input broke one or more rules. `submitted` carries the form back
    /// so that a form posted without JavaScript is shown again as it was.
    #[error("the request has invalid fields")]
    Invalid { errors: Vec<FieldError>, submitted: Option<Box<WorkstationForm>> },
    /// The action is not possible now (the message says why).
    #[error("{0}")]
    ActionRefused(String),
    /// Something failed on the server; the id finds the cause in the log.
    #[error("something went wrong on our side (request {request_id})")]
    Internal { request_id: String },
    /// The call itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    /// The field errors, if this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}
