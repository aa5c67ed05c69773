//! `amqps://` through the crate's default `rustls` feature, proven against a
//! TLS-terminating proxy in front of the plain broker (no broker
//! reconfiguration): the relay and a consumer both connect over TLS, trusting
//! the proxy's certificate through `SSL_CERT_FILE`, and deliver every event
//! exactly once.

use std::time::Duration;

use es_test_support::{TlsMode, TlsProxy};
use uuid::Uuid;

use crate::harness::{
    amqp_addr, append_events, confirmed_everything, spawn_consumer, spawn_relay, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_consumer_deliver_over_amqps_trusting_a_private_ca() {
    let proxy = TlsProxy::start(&amqp_addr(), TlsMode::Direct).expect("TLS proxy");
    let ca = std::env::temp_dir().join(format!("es-amqp-ca-{}.pem", Uuid::new_v4().simple()));
    proxy.write_ca_pem(&ca).expect("write CA file");
    // rustls-native-certs reads the roots from SSL_CERT_FILE when it is set;
    // no other test of this binary connects over TLS.
    std::env::set_var("SSL_CERT_FILE", &ca);

    let h = Harness::via_tls("amqps", &proxy);
    let consumer = h.consumer().await;
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "tls", 5, 200, 10).await;
    let _relay_task = spawn_relay(&relay);
    let _consumer_task = spawn_consumer(&consumer);

    confirmed_everything(&relay, last).await;
    h.side.wait_for(ids.len(), TIMEOUT).await;
    h.side.assert_exactly_once(&ids);
    h.side.assert_in_stream_order();
    let _ = std::fs::remove_file(&ca);
}
