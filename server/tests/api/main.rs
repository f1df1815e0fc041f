//! API integration tests: the real router on 127.0.0.1:0 with a fresh SQLite
//! file per test, driven over HTTP.

mod auth;
mod authz;
mod cancellation;
mod events;
mod group_commit;
mod helpers;
mod idempotency;
mod lifecycle;
mod listing;
mod openapi;
mod ops;
mod pages;
mod provisioners;
mod quota;
mod workstations;
