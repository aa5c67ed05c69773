//! Going from one `parking serve` to partitions: the single queue of the
//! earlier run stays bound to Booking's exchange and keeps what it held, so
//! `parking serve --partitions N` warns at start, naming the queue, what it
//! holds and how to move safely; once the queue is gone it starts quietly.
//! Its `/health` lists each partition with the process's role on it.

use es_amqp::lapin::{
    options::{BasicPublishOptions, QueueDeleteOptions},
    BasicProperties, Connection, ConnectionProperties,
};

use crate::support::{
    booking_plan::runtime,
    server::{eventually, free_port, ServerEnv},
};

const WARNING: &str = "of an earlier run without partitions still exists";

#[test]
fn parking_serve_on_partitions_warns_while_the_old_single_queue_still_exists() {
    let mut env = ServerEnv::new();
    let single = env.serve("parking", free_port());
    assert_eq!(single.terminate(), Some(0));
    // One message waits in the single queue when the switch happens.
    let runtime = runtime();
    runtime.block_on(async {
        let connection = Connection::connect(&env.amqp_url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .basic_publish(
                "".into(),
                env.queue.as_str().into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let _ = connection.close(200, "done".into()).await;
    });

    env.parking_partitions = Some(4);
    let partitioned = env.serve_parking_instance(free_port(), 0, 2);
    let log = partitioned.log();
    assert!(
        log.contains(WARNING) && log.contains("(1 message(s), 0 consumer(s))"),
        "{log}"
    );
    assert!(
        log.contains(&format!("rabbitmqctl delete_queue {}", env.queue)),
        "{log}"
    );
    // `/health` lists every partition with this process's role on it:
    // instance 0 of 2 prefers the even ones.
    let partition_prefix = format!("{}.p", env.queue);
    let workers = eventually("every partition subscribed in /health", || {
        let health: serde_json::Value = serde_json::from_str(&partitioned.health()?).ok()?;
        let partitions: serde_json::Map<_, _> = health["workers"]
            .as_object()?
            .iter()
            .filter(|(name, _)| name.starts_with(&partition_prefix))
            .map(|(name, role)| (name.clone(), role.clone()))
            .collect();
        (partitions.len() == 4 && !partitions.values().any(|role| role == "unsubscribed"))
            .then_some(partitions)
    });
    for (partition, role) in [
        (0, "preferred"),
        (1, "standby"),
        (2, "preferred"),
        (3, "standby"),
    ] {
        let queue = format!("{}.p{partition}", env.queue);
        assert_eq!(
            workers.get(&queue).and_then(|r| r.as_str()),
            Some(role),
            "{workers:?}"
        );
    }

    // Deleted as the warning says: the next instance starts without it.
    runtime.block_on(async {
        let connection = Connection::connect(&env.amqp_url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .queue_delete(env.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .expect("delete the old queue");
        let _ = connection.close(200, "done".into()).await;
    });
    let quiet = env.serve_parking_instance(free_port(), 1, 2);
    assert!(!quiet.log().contains(WARNING), "{}", quiet.log());
}
