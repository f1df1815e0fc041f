//! The pool after the database dropped its connections (a restart, a
//! failover): a connection that sat idle is tested before it is handed out,
//! so the next request gets a new one instead of an error. Runs where
//! PostgreSQL is there to drop them (`make test-postgres`, CI).

use std::time::Duration;

use app::backend::store;

#[tokio::test]
async fn connections_the_database_dropped_while_idle_are_replaced_not_handed_out() {
    let Some(admin) = std::env::var("ATELIER_TEST_POSTGRES").ok().filter(|url| !url.is_empty()) else {
        eprintln!("no PostgreSQL (ATELIER_TEST_POSTGRES): run under make test-postgres");
        return;
    };
    let url = crate::helpers::fresh_postgres_database(&admin).await;
    let db = store::connect(&url).await.unwrap();
    let Some(name) = url.rsplit('/').next().map(str::to_owned) else { panic!("{url}") };
    // Several connections open and back in the pool.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(store::begin_read(&db).await.unwrap());
    }
    for tx in held {
        tx.commit().await.unwrap();
    }
    let (open, _) = db.connections();
    assert!(open >= 4, "{open} connections open");
    // Idle past the test threshold, then every one of them is cut.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut admin_conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_all(&mut admin_conn)
    .await
    .unwrap();
    assert!(cut.len() >= 4, "{} connections cut", cut.len());
    // The server ends them a moment after it is asked to.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Every request after that is answered; none gets a dead connection.
    for _ in 0..8 {
        let tx = store::begin_write(&db).await.expect("a live connection");
        tx.commit().await.unwrap();
    }
}
