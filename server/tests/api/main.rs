//! API integration tests: the real router on 127.0.0.1:0 with a fresh
//! database per test (a SQLite file; a PostgreSQL database when
//! `ATELIER_TEST_POSTGRES` names a server), driven over HTTP.

mod admission;
mod audit;
mod auth;
mod authz;
mod auto_stop;
mod cancellation;
mod docker;
mod events;
mod group_commit;
mod helpers;
mod idempotency;
mod instances;
mod leases;
mod lifecycle;
mod listing;
mod openapi;
mod ops;
mod pages;
mod pool;
mod projects;
mod provisioners;
mod quota;
mod schema;
mod sign_on;
mod terminal;
mod usage;
mod workstations;
