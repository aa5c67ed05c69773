//! `projections`, `projection reset` and `relay status` read and move the
//! checkpoints that projection runners and es-amqp's relay keep.

use std::time::Duration;

use es_amqp::{Consumer, ConsumerConfig, Handler, Relay, RelayConfig};
use es_core::{async_trait, BoxError, CheckpointStore, Position, RecordedEvent};

use crate::support::{
    amqp_url, append, assert_one_error_line, es, es_json, es_ok, unique, with, BrokerNames,
    PgSchema,
};

/// Saves `position` as the checkpoint of `name`, as a projection runner does.
async fn save_checkpoint(pg: &PgSchema, name: &str, previous: Position, position: Position) {
    let checkpoints = pg.store.checkpoints();
    let tx = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(tx, name, previous, position)
        .await
        .expect("commit checkpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_show_lag_and_reset_moves_the_checkpoint() {
    let pg = PgSchema::new().await;
    let first = append(&pg.store, "room-1", &["Booked", "Cancelled"]).await;
    let last = append(&pg.store, "room-2", &["Booked", "Booked", "Booked"]).await;
    save_checkpoint(&pg, "rooms-view", Position::START, first).await;
    save_checkpoint(&pg, "audit", Position::START, last).await;
    let args = pg.args();

    let report = es_json(&with(&args, &["projections"])).await;
    let rows = report["projections"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    let (audit, rooms) = (&rows[0], &rows[1]);
    assert_eq!(audit["name"], "audit");
    assert_eq!(audit["events_behind"], 0);
    assert_eq!(audit["seconds_behind"], serde_json::Value::Null);
    assert_eq!(rooms["name"], "rooms-view");
    assert_eq!(rooms["events_behind"], 3);
    assert!(rooms["seconds_behind"].as_f64().expect("seconds") >= 0.0);
    assert_eq!(rooms["holder"], serde_json::Value::Null, "nobody holds it");
    assert_eq!(rooms["position"]["commit"], first.commit);
    assert_eq!(report["head"]["position"]["sequence"], last.sequence);

    let human = es_ok(&with(&args, &["projections"])).await;
    assert!(
        human.contains("rooms-view") && human.contains("HOLDER"),
        "{human}"
    );
    assert!(
        human.contains(&format!("head of the log: {last}")),
        "{human}"
    );

    // Reset to the start, then to a position.
    let reset = es_json(&with(&args, &["projection", "reset", "rooms-view"])).await;
    assert_eq!(reset["events_to_process"], 5);
    assert_eq!(reset["from"]["sequence"], first.sequence);
    assert_eq!(
        pg.store
            .checkpoints()
            .load_checkpoint("rooms-view")
            .await
            .expect("load"),
        Position::START
    );
    let to = first.to_string();
    let human = es_ok(&with(
        &args,
        &["projection", "reset", "rooms-view", "--to", &to],
    ))
    .await;
    assert!(
        human.contains(&format!("moved from 0/0 to {first}; 3 event(s)")),
        "{human}"
    );
    assert_eq!(
        pg.store
            .checkpoints()
            .load_checkpoint("rooms-view")
            .await
            .expect("load"),
        first
    );

    // An unknown projection is refused and nothing is created.
    let refused = es(&with(&args, &["projection", "reset", "no-such-view"])).await;
    let line = assert_one_error_line(&refused, 1);
    assert!(
        line.contains("no-such-view") && line.contains("audit, rooms-view"),
        "{line}"
    );
    let rows = es_json(&with(&args, &["projections"])).await;
    assert_eq!(rows["projections"].as_array().unwrap().len(), 2);
}

/// Accepts everything.
struct Accept;
#[async_trait]
impl Handler for Accept {
    async fn handle(&self, _: &RecordedEvent) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_status_shows_how_far_the_relay_is_behind() {
    let pg = PgSchema::new().await;
    let names = BrokerNames::new("relay");
    let (exchange, queue) = (&names.exchange, &names.queue);
    let relay_name = unique("relay");
    // A bound queue, so the relay's mandatory publishes are routable.
    let config = ConsumerConfig::builder(amqp_url(), exchange, queue)
        .build()
        .expect("consumer config");
    let consumer = Consumer::new(config, Accept);
    consumer
        .declare()
        .await
        .expect("RabbitMQ must be running for these tests");

    let published = append(&pg.store, "door-1", &["Opened", "Closed"]).await;
    let relay = Relay::new(
        pg.store.clone(),
        pg.store.checkpoints(),
        RelayConfig::builder(amqp_url(), &relay_name, exchange)
            .build()
            .expect("relay config"),
    );
    let task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run().await }
    });
    let mut saved = relay.saved();
    tokio::time::timeout(Duration::from_secs(60), saved.wait_for(|p| *p >= published))
        .await
        .expect("the relay saved its checkpoint")
        .expect("relay alive");
    task.abort();
    let _ = task.await;

    let args = pg.args();
    let status = es_json(&with(&args, &["relay", "status", &relay_name])).await;
    let relays = status["relays"].as_array().expect("relays");
    assert_eq!(relays.len(), 1);
    assert_eq!(relays[0]["name"], relay_name.as_str());
    assert_eq!(relays[0]["events_behind"], 0);
    assert_eq!(relays[0]["position"]["sequence"], published.sequence);

    // Two events the (stopped) relay has not published.
    append(&pg.store, "door-1", &["Opened", "Closed"]).await;
    let status = es_json(&with(&args, &["relay", "status", &relay_name])).await;
    assert_eq!(status["relays"][0]["events_behind"], 2);
    assert!(
        status["relays"][0]["seconds_behind"]
            .as_f64()
            .expect("seconds")
            >= 0.0
    );
    let human = es_ok(&with(&args, &["relay", "status"])).await;
    assert!(
        human.contains(&relay_name) && human.contains("EVENTS BEHIND"),
        "{human}"
    );

    let unknown = es(&with(&args, &["relay", "status", "no-such-relay"])).await;
    let line = assert_one_error_line(&unknown, 1);
    assert!(line.contains("no-such-relay"), "{line}");
}
