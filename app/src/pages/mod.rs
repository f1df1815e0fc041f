//! The application's pages, one a file, with the parts only they use.

mod authenticated;
mod errors;
mod home;
mod list_filters;
mod pager;
mod sign_in;
mod workstation;

pub use errors::NotFoundPage;
pub use home::HomePage;
pub use sign_in::SignInPage;
pub use workstation::WorkstationPage;
