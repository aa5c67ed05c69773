//! Several relays on one name, each run as leader-or-standby under a
//! PostgreSQL lease ([`Leader::serve`]): only the lease holder publishes, a
//! standby takes over when the leader shuts down, is cut off from PostgreSQL
//! or is killed, and no relay ever stops on the checkpoint fence.
//!
//! Deliveries are counted raw, on a queue bound to everything the relays
//! publish (no deduplication), so a second relay publishing would show.

use std::{collections::HashMap, time::Duration};

use es_amqp::{
    lapin::{
        options::{BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
        types::FieldTable,
        Connection, ConnectionProperties, ExchangeKind,
    },
    Relay,
};
use es_core::{CheckpointStore, InMemoryStore, Position};
use es_lease::{Leader, LeaderConfig, LeaderExit, Role};
use es_postgres::{
    PostgresCheckpoints, PostgresConfig, PostgresLeaseConfig, PostgresLeases, SchemaName,
};
use es_test_support::FaultProxy;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::harness::{amqp_url, append_events, spawn, within, Harness, Task};

const TIMEOUT: Duration = Duration::from_secs(60);

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Leases whose heartbeat notices a cut connection within a second.
fn leases(url: &str) -> PostgresLeases {
    let config = PostgresLeaseConfig::new()
        .with_heartbeat(Duration::from_millis(200), Duration::from_millis(800))
        .expect("heartbeat");
    PostgresLeases::new(PostgresConfig::new(url), config).expect("lease settings")
}

/// The relay checkpoints in a schema of their own, dropped at the end.
struct Checkpoints {
    store: PostgresCheckpoints,
    schema: String,
}

impl Checkpoints {
    async fn new() -> Self {
        let schema = format!("es_relay_lease_{}", Uuid::new_v4().simple());
        let store = PostgresCheckpoints::connect_with(
            PostgresConfig::new(database_url())
                .with_schema_name(SchemaName::new(&schema).expect("schema"))
                .with_pool_size(4),
        )
        .await
        .expect("checkpoints");
        store.migrate().await.expect("migrate");
        Self { store, schema }
    }

    /// Waits (bounded) until relay `name`'s stored checkpoint reaches `last`.
    async fn wait_for(&self, name: &str, last: Position) {
        within(
            TIMEOUT,
            "the relay checkpoint to reach the last event",
            async {
                while self.store.load_checkpoint(name).await.expect("load") < last {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        )
        .await;
    }

    async fn drop_schema(self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(self.store.pool())
            .await
            .expect("drop schema");
    }
}

/// One instance's relay competing for the lease.
struct Instance {
    role: watch::Receiver<Role>,
    stop: Option<oneshot::Sender<()>>,
    task: Task<LeaderExit>,
}

impl Instance {
    fn start(
        leases: PostgresLeases,
        name: &str,
        holder: &str,
        relay: Relay<InMemoryStore, PostgresCheckpoints>,
    ) -> Self {
        let config = LeaderConfig::new()
            .with_retry_interval(Duration::from_millis(100))
            .and_then(|c| c.with_stop_grace(Duration::from_secs(5)))
            .expect("leader config");
        let leader = Leader::new(leases, name, holder, config).expect("leader");
        let role = leader.role();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = spawn(async move {
            leader
                .serve(
                    async {
                        let _ = stopped.await;
                    },
                    &relay,
                )
                .await
        });
        Self {
            role,
            stop: Some(stop),
            task,
        }
    }

    async fn wait_until(&mut self, what: &str, leads: bool) {
        within(
            TIMEOUT,
            what,
            self.role.wait_for(|r| r.is_leader() == leads),
        )
        .await
        .expect("the leader is alive");
    }

    fn leads(&self) -> bool {
        self.role.borrow().is_leader()
    }

    /// Graceful shutdown: the relay saves its checkpoint, the lease is released.
    async fn shut_down(mut self) -> LeaderExit {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(TIMEOUT, "the leader to shut down", self.task.join()).await
    }
}

/// A queue bound to everything on the exchange: every delivery, undeduplicated.
struct DeliveryCounter {
    connection: Connection,
    queue: String,
}

impl DeliveryCounter {
    async fn bind(exchange: &str, queue: &str) -> Self {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("connect");
        let channel = connection.create_channel().await.expect("channel");
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .expect("exchange");
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("queue");
        channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        Self {
            connection,
            queue: queue.to_owned(),
        }
    }

    /// Takes every message on the queue: how many times each event id came.
    async fn drain(&self) -> HashMap<Uuid, u32> {
        let channel = self.connection.create_channel().await.expect("channel");
        let mut times = HashMap::new();
        let options = BasicGetOptions { no_ack: true };
        while let Some(message) = channel
            .basic_get(self.queue.as_str().into(), options)
            .await
            .expect("basic.get")
        {
            let id = message
                .delivery
                .properties
                .message_id()
                .as_ref()
                .and_then(|id| Uuid::parse_str(id.as_str()).ok())
                .expect("every message carries its event id");
            *times.entry(id).or_insert(0) += 1;
        }
        times
    }
}

/// Two relays, one lease: the standby publishes nothing while the leader
/// lives; the leader's graceful shutdown saves its checkpoint and hands over,
/// so 200 events make exactly 200 deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_under_one_lease_deliver_each_event_once_across_a_handover() {
    let h = Harness::new("lease-handover");
    let counter = DeliveryCounter::bind(&h.names.exchange, &h.names.queue).await;
    let checkpoints = Checkpoints::new().await;
    let name = format!("relay-{}", h.names.suffix);
    let relay = || h.relay_with(checkpoints.store.clone(), h.relay_config());
    let url = database_url();

    let (mut ids, last) = append_events(&h.store, "booking", 10, 100, 5).await;
    let mut a = Instance::start(leases(&url), &name, "a", relay());
    a.wait_until("a to lead", true).await;
    let b = Instance::start(leases(&url), &name, "b", relay());
    checkpoints.wait_for(&name, last).await;
    assert!(!b.leads(), "the standby never leads while the leader lives");

    assert_eq!(a.shut_down().await, LeaderExit::Shutdown);
    let mut b = b;
    b.wait_until("b to take over", true).await;
    let (more, last) = append_events(&h.store, "booking", 10, 100, 5).await;
    ids.extend(more);
    checkpoints.wait_for(&name, last).await;
    assert_eq!(b.shut_down().await, LeaderExit::Shutdown);

    let times = counter.drain().await;
    assert_eq!(times.len(), 200, "every event delivered");
    assert!(ids.iter().all(|id| times.contains_key(id)), "no event lost");
    assert_eq!(
        times.values().sum::<u32>(),
        200,
        "200 events: 200 deliveries"
    );
    checkpoints.drop_schema().await;
}

/// Three relays, one lease: the leader cut off from PostgreSQL (its lease
/// connection goes through a proxy) steps down, the next leader's task is
/// aborted, and the last standby finishes. No event is lost; the only
/// repeats are what a dying leader had published but not yet saved — far
/// from the 400 deliveries of two unleased relays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_under_one_lease_survive_a_cut_off_leader_and_a_killed_one() {
    let h = Harness::new("lease-takeover");
    let counter = DeliveryCounter::bind(&h.names.exchange, &h.names.queue).await;
    let checkpoints = Checkpoints::new().await;
    let name = format!("relay-{}", h.names.suffix);
    let relay = || {
        h.relay_with(
            checkpoints.store.clone(),
            h.relay_config()
                .with_checkpoint_every(1, Duration::from_millis(50))
                .with_max_in_flight(8),
        )
    };
    let url = database_url();
    let proxy = FaultProxy::start("127.0.0.1:5432").expect("proxy");

    let (mut ids, last) = append_events(&h.store, "booking", 10, 70, 5).await;
    let mut a = Instance::start(
        leases(&proxy.redirect(&url).expect("proxied URL")),
        &name,
        "a",
        relay(),
    );
    a.wait_until("a to lead", true).await;
    let mut b = Instance::start(leases(&url), &name, "b", relay());
    checkpoints.wait_for(&name, last).await;

    // Cut the leader off from its lease; appends keep coming.
    proxy.refuse_new(true);
    proxy.cut_all();
    let (more, _) = append_events(&h.store, "booking", 10, 60, 5).await;
    ids.extend(more);
    b.wait_until("b to take over from the cut-off leader", true)
        .await;
    a.wait_until("the cut-off leader to step down", false).await;

    // Kill the new leader mid-stream; the cut-off one (now standby) or a
    // third instance takes over.
    let c = Instance::start(leases(&url), &name, "c", relay());
    let (more, last) = append_events(&h.store, "booking", 10, 70, 5).await;
    ids.extend(more);
    let killed_at = std::time::Instant::now();
    b.task.kill().await;
    proxy.refuse_new(false);
    let mut c = c;
    within(TIMEOUT, "a standby to take over after the kill", async {
        while !a.leads() && !c.leads() {
            tokio::select! {
                _ = a.role.changed() => {}
                _ = c.role.changed() => {}
            }
        }
    })
    .await;
    println!(
        "relay lease: a standby led {:?} after the leader's task was aborted",
        killed_at.elapsed()
    );
    checkpoints.wait_for(&name, last).await;
    assert!(!(a.leads() && c.leads()), "one leader at a time");
    a.shut_down().await;
    c.shut_down().await;

    let times = counter.drain().await;
    let deliveries: u32 = times.values().sum();
    println!(
        "relay lease: 200 events, {deliveries} deliveries after a cut-off and a killed leader"
    );
    assert_eq!(times.len(), 200, "every event delivered");
    assert!(ids.iter().all(|id| times.contains_key(id)), "no event lost");
    assert!(
        deliveries < 300,
        "only a dying leader's unsaved publishes repeat: {deliveries} deliveries"
    );
    checkpoints.drop_schema().await;
}
