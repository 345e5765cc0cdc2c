//! The test harness's database servers: a private MariaDB and a private PostgreSQL start, take
//! the application user's connections over TCP with its password, hold data, and are gone when
//! dropped.

mod common;
use common::db::*;

fn server_round_trip(kind: DbKind) {
    let s = DbServer::start(kind);
    s.fill(APP_DB, 3, 50);
    assert_eq!(
        s.tables(APP_DB),
        vec!["wp_table_0", "wp_table_1", "wp_table_2"]
    );
    let sums = s.table_checksums(APP_DB);
    assert_eq!(sums.len(), 3);
    assert!(sums.values().all(|v| v.contains("/50")), "{sums:?}");
    // A second database with the same tables but other data sums differently.
    s.create_app_database("nother01n");
    s.fill("nother01n", 3, 49);
    assert_ne!(s.table_checksums("nother01n"), sums);
    let port = s.port;
    let dir = s.dir.path().to_path_buf();
    drop(s);
    assert!(!dir.exists(), "the server's directory outlived it");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after drop"
    );
}

#[test]
fn mariadb_server_starts_holds_data_and_stops() {
    server_round_trip(DbKind::Maria);
}

#[test]
fn postgres_server_starts_holds_data_and_stops() {
    server_round_trip(DbKind::Postgres);
}
