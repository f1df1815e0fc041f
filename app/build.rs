// `sqlx::migrate!` embeds the files of `migrations/`: rebuild when one is added.
fn main() {
    println!("cargo:rerun-if-changed=migrations/sqlite");
    println!("cargo:rerun-if-changed=migrations/postgres");
}
