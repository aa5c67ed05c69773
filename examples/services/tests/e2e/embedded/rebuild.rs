//! `booking rebuild_projection` empties the booking projection, applies the
//! whole log again and reports its progress: with stderr piped (not a
//! terminal) as log lines, the last one saying it caught up.

use es_example_services::common::data_dir::BOOKING_PROJECTION_FILE;

use crate::support::{embedded, field};

#[tokio::test]
async fn rebuild_projection_restores_the_rows_and_logs_its_progress() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let mut ids = Vec::new();
    for n in 1..=3 {
        // One slot each: a slot holds one booking at a time.
        let slot = field(
            &embedded(
                "parking",
                data,
                &["create_parking_slot", &format!("Slot {n}")],
            )
            .ok(),
            "uuid",
        );
        ids.push(embedded("booking", data, &["create_booking_request", &slot]).ok());
    }
    embedded("booking", data, &["reserve_booking", &ids[0]]).ok();
    let before = embedded("booking", data, &["get_booking_list"]).ok();

    // Damage the read model behind the projection's back.
    let url = format!("sqlite:{}", data.join(BOOKING_PROJECTION_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the projection");
    sqlx::query("UPDATE bookings SET status = 'damaged'")
        .execute(&pool)
        .await
        .expect("damage");
    pool.close().await;

    let rebuilt = embedded(
        "booking",
        data,
        &["rebuild_projection", "--log-every", "0.001"],
    );
    assert_eq!(rebuilt.code, Some(0), "{rebuilt:?}");
    assert!(
        rebuilt
            .stdout
            .starts_with("rebuilt bookings: 4 events applied, checkpoint "),
        "{rebuilt:?}"
    );
    let lines: Vec<&str> = rebuilt.stderr.lines().collect();
    assert!(lines.len() >= 2, "a first and a last line: {rebuilt:?}");
    assert!(
        lines[0].starts_with("bookings: 0/4 events (0.0%)"),
        "the first line, before any batch: {rebuilt:?}"
    );
    assert!(
        lines[lines.len() - 1].starts_with("bookings: caught up, 4 events in "),
        "{rebuilt:?}"
    );
    assert!(
        lines.iter().all(|line| line.starts_with("bookings: ")),
        "only progress lines: {rebuilt:?}"
    );

    let after = embedded("booking", data, &["get_booking_list"]).ok();
    // The row ids are new (the table numbers rows on insert); the rest is back.
    assert_eq!(without_row_ids(&after), without_row_ids(&before));
    assert!(!after.contains("damaged"));
}

/// The lines of `get_booking_list` without their first column (the row id).
fn without_row_ids(list: &str) -> Vec<String> {
    list.lines()
        .map(|line| {
            line.split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
