//! `es queues` surveys a consumer's queues with passive declares (no
//! management plugin): the single queue, the partition queues and the
//! dead-letter queue that exist, their messages and consumers, and a
//! warning where an operator must act: a single queue left beside
//! partitions, a queue nobody consumes, dead letters waiting.

use es_amqp::lapin::{
    options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties, Channel, Connection, ConnectionProperties,
};

use crate::support::{amqp_url, es_json, es_ok, unique};

/// Declares `name` (gone two minutes after its last use even if the test
/// dies) and publishes `messages` messages to it.
async fn queue_with(channel: &Channel, name: &str, messages: usize) {
    let mut args = FieldTable::default();
    args.insert("x-expires".into(), AMQPValue::LongInt(120_000));
    channel
        .queue_declare(name.into(), QueueDeclareOptions::default(), args)
        .await
        .expect("declare");
    for _ in 0..messages {
        channel
            .basic_publish(
                "".into(),
                name.into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await
            .expect("publish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_shows_counts_and_warns_where_an_operator_must_act() {
    let queue = unique("es-cli-queues");
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ must be running (AMQP_URL)");
    let channel = connection.create_channel().await.expect("channel");
    let (p0, p1, dlq) = (
        format!("{queue}.p0"),
        format!("{queue}.p1"),
        format!("{queue}.dlq"),
    );
    queue_with(&channel, &queue, 2).await;
    queue_with(&channel, &p0, 0).await;
    queue_with(&channel, &p1, 0).await;
    queue_with(&channel, &dlq, 1).await;
    let _consumer = channel
        .basic_consume(
            p0.as_str().into(),
            "es-cli-test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume p0");
    // The publishes are in once a round trip after them has answered.
    channel
        .queue_declare(
            dlq.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("passive declare");
    let url = amqp_url();
    let args = [
        "--amqp-url",
        url.as_str(),
        "queues",
        "--queue",
        queue.as_str(),
    ];

    let report = es_json(&args).await;
    let queues = report["queues"].as_array().expect("queues");
    let names: Vec<&str> = queues.iter().filter_map(|q| q["name"].as_str()).collect();
    assert_eq!(names, [queue.as_str(), &p0, &p1, &dlq], "{report}");
    let (single, first, second, dead) = (&queues[0], &queues[1], &queues[2], &queues[3]);
    assert_eq!(single["role"], "single");
    assert_eq!(single["messages"], 2);
    assert!(
        single["warning"]
            .as_str()
            .is_some_and(|w| w.contains("beside partition")
                && w.contains(&format!("rabbitmqctl delete_queue {queue}"))),
        "{single}"
    );
    assert_eq!(first["role"], "partition");
    assert_eq!(first["partition"], 0);
    assert_eq!(first["consumers"], 1);
    assert_eq!(first["warning"], serde_json::Value::Null, "{first}");
    assert!(
        second["warning"]
            .as_str()
            .is_some_and(|w| w.starts_with("no consumer")),
        "{second}"
    );
    assert_eq!(dead["role"], "dead_letters");
    assert_eq!(dead["messages"], 1);
    assert!(
        dead["warning"]
            .as_str()
            .is_some_and(|w| w.contains("es dead-letters list")),
        "{dead}"
    );

    let human = es_ok(&args).await;
    assert!(
        human.contains("partition 1") && human.contains("dead letters"),
        "{human}"
    );
    assert_eq!(human.matches("warning: ").count(), 3, "{human}");

    // A consumer with no queue at all says so.
    let none = es_ok(&[
        "--amqp-url",
        url.as_str(),
        "queues",
        "--queue",
        &unique("none"),
    ])
    .await;
    assert!(none.contains("no queue of consumer"), "{none}");

    for name in [&queue, &p0, &p1, &dlq] {
        let _ = channel
            .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "done".into()).await;
}
