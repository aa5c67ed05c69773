//! The seed's transcript in server mode: `booking serve` and `parking serve`
//! run as processes against PostgreSQL (an event store database and a
//! projector database) and RabbitMQ, and the CLIs work against the same
//! stores. Parking learns about bookings only through RabbitMQ here, so its
//! assertions wait (with a bound) for the event to arrive.

use crate::support::{
    booking_details, booking_events, field,
    server::{eventually, free_port, ServerEnv},
    slot_details,
};

/// Waits until Parking shows `slot` with `status`.
fn slot_becomes(env: &ServerEnv, slot: &str, name: &str, status: &str) {
    let expected = slot_details(slot, name, status);
    eventually(&format!("slot {slot} to be {status}"), || {
        let shown = env.cli("parking", &["parking_slot_details", slot]).ok();
        (shown == expected).then_some(())
    });
}

#[test]
fn the_seed_transcript_runs_on_postgres_and_rabbitmq() {
    let env = ServerEnv::new();
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());
    let health = booking.health().expect("booking /health");
    assert!(
        health.contains("\"status\":\"ok\"") && health.contains("booking"),
        "{health}"
    );
    let health = parking.health().expect("parking /health");
    assert!(
        health.contains("\"status\":\"ok\"") && health.contains("parking"),
        "{health}"
    );

    let created = env.cli("parking", &["create_parking_slot", "Slot 1"]).ok();
    let slot = field(&created, "uuid");
    assert_eq!(created, slot_details(&slot, "Slot 1", "available"));

    let id = env.cli("booking", &["create_booking_request", &slot]).ok();
    assert_eq!(
        env.cli("booking", &["get_booking_events", &id]).ok(),
        booking_events(&id, &slot, 1)
    );
    // Read-your-writes on the same service, with the projector running too.
    assert_eq!(
        env.cli("booking", &["get_booking_details", &id]).ok(),
        booking_details(&id, "1", "created", &slot)
    );
    slot_becomes(&env, &slot, "Slot 1", "blocked");

    assert_eq!(env.cli("booking", &["reserve_booking", &id]).ok(), id);
    assert_eq!(
        env.cli("booking", &["get_booking_events", &id]).ok(),
        booking_events(&id, &slot, 2)
    );
    assert_eq!(
        env.cli("booking", &["get_booking_details", &id]).ok(),
        booking_details(&id, "1", "reserved", &slot)
    );
    slot_becomes(&env, &slot, "Slot 1", "reserved");

    assert_eq!(env.cli("booking", &["complete_booking", &id]).ok(), id);
    assert_eq!(
        env.cli("booking", &["get_booking_details", &id]).ok(),
        booking_details(&id, "1", "completed", &slot)
    );
    assert_eq!(
        env.cli("booking", &["get_booking_events", &id]).ok(),
        booking_events(&id, &slot, 3)
    );
    // The completion reaches Parking and leaves the slot reserved: wait for
    // the consumer to have handled all three events, then look.
    let list = env.cli("booking", &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(&id) && list.contains("completed"), "{list}");
    slot_becomes(&env, &slot, "Slot 1", "reserved");

    // Refusals are the same in server mode.
    let line = env.cli("booking", &["reserve_booking", &id]).fails(1);
    assert!(
        line.ends_with("the booking is completed; only a created booking can be reserved"),
        "{line}"
    );
    // Both stop cleanly when asked to.
    assert_eq!(booking.terminate(), Some(0));
    assert_eq!(parking.terminate(), Some(0));
}

#[test]
fn parking_catches_up_on_bookings_made_while_it_was_down() {
    let env = ServerEnv::new();
    // A first start declares Parking's durable queue; then Parking goes down.
    env.serve("parking", free_port()).kill();
    let booking = env.serve("booking", free_port());

    // A booking of a slot Parking does not know: recorded by Booking,
    // skipped by Parking, and it must not hold up the bookings behind it.
    let unknown = uuid::Uuid::new_v4().to_string();
    env.cli("booking", &["create_booking_request", &unknown])
        .ok();

    let slots: Vec<String> = (1..=3)
        .map(|n| {
            field(
                &env.cli("parking", &["create_parking_slot", &format!("Slot {n}")])
                    .ok(),
                "uuid",
            )
        })
        .collect();
    for slot in &slots {
        let id = env.cli("booking", &["create_booking_request", slot]).ok();
        assert_eq!(env.cli("booking", &["reserve_booking", &id]).ok(), id);
    }
    for (n, slot) in slots.iter().enumerate() {
        let shown = env.cli("parking", &["parking_slot_details", slot]).ok();
        assert_eq!(
            shown,
            slot_details(slot, &format!("Slot {}", n + 1), "available")
        );
    }

    let parking = env.serve("parking", free_port());
    for (n, slot) in slots.iter().enumerate() {
        slot_becomes(&env, slot, &format!("Slot {}", n + 1), "reserved");
    }
    assert!(
        parking
            .log()
            .contains(&format!("no parking slot {unknown}")),
        "Parking did not report the skipped event: {}",
        parking.log()
    );
    drop(parking);
    drop(booking);
}

#[test]
fn server_mode_failures_are_one_clear_line() {
    let env = ServerEnv::new();
    let unreachable_pg = "postgres://postgres@127.0.0.1:1/nowhere";
    let line = crate::support::run(
        crate::support::command("booking")
            .env("EVENT_STORE_DATABASE_URL", unreachable_pg)
            .arg("get_booking_list"),
    )
    .fails(1);
    assert!(line.contains("127.0.0.1:1"), "{line}");

    let unreachable_amqp = "amqp://guest:guest@127.0.0.1:1/%2f";
    let line = crate::support::run(
        crate::support::command("booking")
            .env("EVENT_STORE_DATABASE_URL", &env.event_store_url)
            .env("PROJECTOR_DATABASE_URL", &env.projector_url)
            .env("AMQP_URL", unreachable_amqp)
            .args(["serve", "--port", &free_port().to_string()]),
    )
    .fails_after_logging(1);
    assert!(
        line.starts_with("error: cannot connect to RabbitMQ at amqp://guest:***@127.0.0.1:1"),
        "{line}"
    );

    let line = crate::support::run(
        crate::support::command("parking")
            .env("PARKING_DATABASE_URL", &env.parking_url)
            .env("AMQP_URL", unreachable_amqp)
            .args(["serve", "--port", &free_port().to_string()]),
    )
    .fails_after_logging(1);
    assert!(line.starts_with("error: cannot declare queue"), "{line}");

    let line = crate::support::run(
        crate::support::command("parking")
            .env("PARKING_DATABASE_URL", unreachable_pg)
            .arg("parking_slot_list"),
    )
    .fails(1);
    assert!(line.contains("must be a SQLite URL"), "{line}");

    // Embedded serve checks the broker before it touches the data directory.
    let line = crate::support::run(
        crate::support::command("booking")
            .args(["serve"])
            .env("AMQP_URL", unreachable_amqp),
    )
    .fails_after_logging(1);
    assert!(
        line.starts_with("error: cannot connect to RabbitMQ"),
        "{line}"
    );
    let line = crate::support::run(
        crate::support::command("booking")
            .env("EVENT_STORE_DATABASE_URL", &env.event_store_url)
            .arg("serve"),
    )
    .fails(2);
    assert!(line.contains("--amqp-url <AMQP_URL>"), "{line}");
}

/// `amqps://` works in the example services: both reach RabbitMQ only through
/// a TLS-terminating proxy whose certificate they trust through
/// `SSL_CERT_FILE`, and a booking still reaches Parking.
#[test]
fn the_services_talk_to_rabbitmq_over_amqps() {
    let mut env = ServerEnv::new();
    let _tls = env.rabbitmq_over_tls();
    assert!(env.amqp_url.starts_with("amqps://"), "{}", env.amqp_url);
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());
    assert!(parking.health().is_some() && booking.health().is_some());

    let created = env
        .cli("parking", &["create_parking_slot", "Slot TLS"])
        .ok();
    let slot = field(&created, "uuid");
    let id = env.cli("booking", &["create_booking_request", &slot]).ok();
    assert_eq!(
        env.cli("booking", &["get_booking_events", &id]).ok(),
        booking_events(&id, &slot, 1)
    );
    slot_becomes(&env, &slot, "Slot TLS", "blocked");
}
