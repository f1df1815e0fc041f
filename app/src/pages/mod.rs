//! The application's pages, one a file, with the parts only they use.

mod account;
mod admin;
mod audit;
mod authenticated;
mod errors;
mod field_error;
mod home;
mod list_filters;
mod pager;
mod project;
mod sign_in;
mod tokens;
mod workstation;

pub use account::AccountPage;
pub use admin::AdminPage;
pub use audit::AuditPage;
pub use errors::NotFoundPage;
pub use home::HomePage;
pub use project::ProjectPage;
pub use sign_in::SignInPage;
pub use workstation::WorkstationPage;
