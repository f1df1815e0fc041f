//! API integration tests: the real router on 127.0.0.1:0 with a fresh SQLite
//! file per test, driven over HTTP.

mod helpers;
mod auth;
mod pages;
mod workstations;
