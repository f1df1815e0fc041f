//! The two backends' schemas hold the same tables, columns (and whether
//! each may be null), indexes and triggers, so a column added to one
//! backend's migrations fails here until it is added to the other's. Runs
//! where PostgreSQL is there to compare with (`make test-postgres`, CI).

use std::collections::BTreeSet;

use app::backend::store::{self, Db};

/// What only PostgreSQL has, by design: rate-limit windows shared by
/// several instances (SQLite's one instance counts in memory), and the
/// trigger that tells the other instances of a new event.
const ONLY_ON_POSTGRES: [&str; 4] = [
    "table rate_limits",
    "index rate_limits.rate_limits_window",
    "trigger events.events_notify",
    // New workstations' totals and storage intervals, once per statement (migration postgres 0012)…
    "trigger workstations.workstations_inserted",
];

/// …which SQLite, having only per-row triggers, keeps with these.
const ONLY_ON_SQLITE: [&str; 2] =
    ["trigger workstations.usage_storage_insert", "trigger workstations.workstations_usage_insert"];

/// Every table, `table.column` (with `NOT NULL`), `index table.name` and
/// `trigger table.name` of the schema, as comparable lines.
async fn schema(db: &Db) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    match db {
        Db::Sqlite(pool, _) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for table in tables {
                lines.insert(format!("table {table}"));
                let columns: Vec<(String, bool, i64)> =
                    sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info(?)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                for (column, not_null, pk) in columns {
                    // A primary key is never null, whatever SQLite's pragma says.
                    let null = if not_null || pk > 0 { "NOT NULL" } else { "NULL" };
                    lines.insert(format!("column {table}.{column} {null}"));
                }
            }
            // Indexes written in the migrations (not those behind UNIQUE constraints).
            let objects: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT type, tbl_name, name FROM sqlite_master
                 WHERE type IN ('index', 'trigger') AND sql IS NOT NULL",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (kind, table, name) in objects {
                lines.insert(format!("{kind} {table}.{name}"));
            }
        }
        Db::Postgres(pool) => {
            let columns: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name != '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (table, column, nullable) in columns {
                lines.insert(format!("table {table}"));
                let null = if nullable == "NO" { "NOT NULL" } else { "NULL" };
                lines.insert(format!("column {table}.{column} {null}"));
            }
            let indexes: Vec<(String, String)> = sqlx::query_as(
                "SELECT tablename::text, indexname::text FROM pg_indexes i
                 WHERE schemaname = 'public' AND tablename != '_sqlx_migrations'
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (table, name) in indexes {
                lines.insert(format!("index {table}.{name}"));
            }
            let triggers: Vec<(String, String)> = sqlx::query_as(
                "SELECT DISTINCT event_object_table::text, trigger_name::text FROM information_schema.triggers
                 WHERE trigger_schema = 'public'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (table, name) in triggers {
                lines.insert(format!("trigger {table}.{name}"));
            }
        }
    }
    lines
}

#[tokio::test]
async fn both_backends_have_the_same_schema() {
    let Some(admin) = std::env::var("ATELIER_TEST_POSTGRES").ok().filter(|url| !url.is_empty()) else {
        eprintln!("no PostgreSQL (ATELIER_TEST_POSTGRES): the schemas are compared under make test-postgres");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        store::connect(&format!("sqlite://{}", dir.path().join("schema.db").display())).await.unwrap();
    let postgres = store::connect(&crate::helpers::fresh_postgres_database(&admin).await).await.unwrap();
    let (on_sqlite, on_postgres) = (schema(&sqlite).await, schema(&postgres).await);
    assert!(on_sqlite.len() > 50, "the SQLite schema was not read: {on_sqlite:#?}");
    let by_design: BTreeSet<String> = ONLY_ON_POSTGRES.iter().map(|s| s.to_string()).collect();
    // The table's columns go with it.
    let expected_on_postgres: BTreeSet<String> = on_postgres
        .iter()
        .filter(|line| !by_design.contains(*line) && !line.starts_with("column rate_limits."))
        .cloned()
        .collect();
    let only_on_sqlite: BTreeSet<String> = ONLY_ON_SQLITE.iter().map(|s| s.to_string()).collect();
    let expected_on_sqlite: BTreeSet<String> = on_sqlite.difference(&only_on_sqlite).cloned().collect();
    let missing_on_postgres: Vec<_> = expected_on_sqlite.difference(&expected_on_postgres).collect();
    let missing_on_sqlite: Vec<_> = expected_on_postgres.difference(&expected_on_sqlite).collect();
    assert!(
        missing_on_postgres.is_empty() && missing_on_sqlite.is_empty(),
        "the schemas differ:\nonly on SQLite: {missing_on_postgres:#?}\nonly on PostgreSQL: {missing_on_sqlite:#?}"
    );
    for line in &by_design {
        assert!(on_postgres.contains(line), "{line} is gone from PostgreSQL: update ONLY_ON_POSTGRES");
    }
    for line in &only_on_sqlite {
        assert!(on_sqlite.contains(line), "{line} is gone from SQLite: update ONLY_ON_SQLITE");
    }
}
