//! TLS through the crate's default `rustls` feature, proven against a
//! TLS-terminating proxy in front of the plain server (no server
//! reconfiguration): `sslmode=verify-full` with the proxy's certificate as
//! `sslrootcert=` connects, appends and reads; with a CA that did not sign
//! the proxy's certificate, connecting fails with a TLS error.

use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use es_postgres::{sqlx, PostgresConfig, PostgresError, PostgresStore};
use es_test_support::{TlsMode, TlsProxy};
use futures::TryStreamExt;
use uuid::Uuid;

use crate::common::{database_url, fresh_schema};

/// A PEM file in the temporary directory, removed on drop.
struct CaFile(std::path::PathBuf);

impl CaFile {
    fn of(proxy: &TlsProxy) -> Self {
        let path = std::env::temp_dir().join(format!("es-pg-ca-{}.pem", Uuid::new_v4().simple()));
        proxy.write_ca_pem(&path).expect("write CA file");
        Self(path)
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The test server's URL through `proxy`, verifying its certificate against `ca`.
fn verify_full_url(proxy: &TlsProxy, ca: &CaFile) -> String {
    let base = proxy.redirect(&database_url()).expect("redirect");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{separator}sslmode=verify-full&sslrootcert={}",
        ca.0.display()
    )
}

fn upstream() -> String {
    let url = url::Url::parse(&database_url()).expect("DATABASE_URL");
    format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    )
}

#[tokio::test]
async fn verify_full_with_the_proxys_ca_appends_and_reads_over_tls() {
    let proxy = TlsProxy::start(&upstream(), TlsMode::PostgresSslRequest).expect("proxy");
    let ca = CaFile::of(&proxy);
    let schema = fresh_schema("tls");
    let config = PostgresConfig::new(verify_full_url(&proxy, &ca))
        .with_schema_name(schema.clone())
        .with_pool_size(1);
    let store = PostgresStore::connect_with(config)
        .await
        .expect("connect with sslmode=verify-full through the TLS proxy");
    store.migrate().await.expect("migrate over TLS");

    // verify-full never falls back to plain text: being connected means the
    // handshake completed and the proxy's certificate was verified.
    let stream = StreamId::new(format!("tls-{}", Uuid::new_v4().simple())).expect("stream id");
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::raw(
                "Sealed",
                serde_json::json!({ "over": "tls" }),
            )],
        )
        .await
        .expect("append over TLS");
    let read: Vec<_> = store
        .read_stream(&stream, 1)
        .try_collect()
        .await
        .expect("read over TLS");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].event_type, "Sealed");
    assert_eq!(read[0].payload, serde_json::json!({ "over": "tls" }));

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA {} CASCADE",
        schema.quoted()
    )))
    .execute(store.pool())
    .await
    .expect("drop schema");
}

#[tokio::test]
async fn verify_full_with_a_foreign_ca_is_refused_with_a_tls_error() {
    let proxy = TlsProxy::start(&upstream(), TlsMode::PostgresSslRequest).expect("proxy");
    // Another proxy's certificate: a valid CA file that did not sign this proxy's.
    let stranger = TlsProxy::start(&upstream(), TlsMode::PostgresSslRequest).expect("proxy");
    let wrong_ca = CaFile::of(&stranger);
    let config = PostgresConfig::new(verify_full_url(&proxy, &wrong_ca))
        .with_schema_name(fresh_schema("tls_refused"))
        .with_pool_size(1);
    let Err(error) = PostgresStore::connect_with(config).await else {
        panic!("a certificate from an untrusted CA must be refused");
    };
    let text = format!("{error} / {error:?}").to_lowercase();
    assert!(
        matches!(error, PostgresError::Connect { .. }),
        "expected a connect error, got {text}"
    );
    assert!(
        text.contains("certificate") || text.contains("tls"),
        "the error does not name TLS or the certificate: {text}"
    );
}
