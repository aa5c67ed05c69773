//! TLS through sqlx's rustls: `sslmode=require` in the URL gives an encrypted
//! connection (the server of the development machines has `ssl = on`).

use es_postgres::{sqlx, PostgresConfig, PostgresStore};

#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    let base = crate::common::database_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}sslmode=require");
    let store = PostgresStore::connect_with(PostgresConfig::new(url).with_pool_size(1))
        .await
        .expect("connect with sslmode=require (is ssl = on on the server?)");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .expect("pg_stat_ssl");
    assert!(encrypted, "the connection is not encrypted");
}
