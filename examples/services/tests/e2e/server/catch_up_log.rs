//! `booking serve` logs its projector's catch-up when it takes the lead
//! with a backlog: the events to do, then a line once caught up.

use crate::support::server::{eventually, free_port, ServerEnv};

#[test]
fn serve_logs_the_projectors_catch_up_progress() {
    let env = ServerEnv::new();
    for _ in 0..4 {
        env.cli(
            "booking",
            &["create_booking_request", &uuid::Uuid::new_v4().to_string()],
        )
        .ok();
    }
    // Empty the projection and move its checkpoint back, as a rebuild does,
    // so the next leader has the whole log to apply.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&env.projector_url)
            .await
            .expect("projector database");
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("DELETE FROM bookings")
            .execute(&mut *tx)
            .await
            .expect("empty the projection");
        let moved = sqlx::query(
            "UPDATE es.es_checkpoints SET commit_key = 0, sequence = 0 WHERE projection = 'bookings'",
        )
        .execute(&mut *tx)
        .await
        .expect("move the checkpoint")
        .rows_affected();
        assert_eq!(moved, 1, "the CLI's catch-ups saved a checkpoint");
        tx.commit().await.expect("commit");
    });

    let _parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());
    let log = eventually("the catch-up's last line in the log", || {
        let log = booking.log();
        log.contains("catch-up: bookings: caught up, 4 events in ")
            .then_some(log)
    });
    assert!(
        log.contains("catch-up: bookings: 0/4 events (0.0%)"),
        "the first line names the target: {log}"
    );
    let list = env.cli("booking", &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 4, "{list}");
}
