//! Checkpoints kept apart from the log: a projection whose read model lives
//! in a database of its own keeps its checkpoint there (the examples'
//! `PROJECTOR_DATABASE_URL`, Booking's `booking-projection.db`). `es` lists
//! them beside the log's own (the relay's), measures their lag against the
//! log and moves them, given `--checkpoints` or, as the services run, their
//! own variables; a database without a checkpoint table, or a file that does
//! not exist, is refused and never created.

use std::path::Path;

use es_core::{CheckpointStore, Position};
use es_sqlite::{SqliteCheckpoints, SqliteStore};

use crate::support::{append, assert_one_error_line, command, es, es_json};

/// Saves `position` as checkpoint `name` in `checkpoints`.
async fn save(checkpoints: &impl CheckpointStore, name: &str, position: Position) {
    let previous = checkpoints.load_checkpoint(name).await.expect("load");
    let tx = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(tx, name, previous, position)
        .await
        .expect("commit");
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// `es --json args` with the services' variables set as the README's
/// server setup sets them.
async fn es_as_the_services(events: &str, projector: &str, args: &[&str]) -> serde_json::Value {
    let output = command(&[&["--json"], args].concat())
        .env("EVENT_STORE_DATABASE_URL", events)
        .env("PROJECTOR_DATABASE_URL", projector)
        .output()
        .await
        .expect("run es");
    assert!(
        output.status.success(),
        "es {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_in_a_database_of_their_own_are_listed_measured_and_reset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events_path = dir.path().join("events.db");
    let projector_path = dir.path().join("projector.db");
    let store = SqliteStore::open(&events_path).await.expect("open store");
    let first = append(&store, "booking-1", &["BookingCreated"]).await;
    append(&store, "booking-2", &["BookingCreated", "BookingReserved"]).await;
    save(&store.checkpoints(), "booking-relay", first).await;
    let projector = SqliteCheckpoints::open(&projector_path)
        .await
        .expect("open projector database");
    save(&projector, "bookings", first).await;
    let (events, projector_url) = (sqlite_url(&events_path), sqlite_url(&projector_path));

    // The services' variables alone: both checkpoints, each where it is kept.
    let report = es_as_the_services(&events, &projector_url, &["projections"]).await;
    let rows = report["projections"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{report}");
    assert_eq!(rows[0]["name"], "booking-relay");
    assert_eq!(rows[0]["stored_in"], "log");
    assert_eq!(rows[1]["name"], "bookings");
    assert_eq!(rows[1]["stored_in"], "checkpoints");
    assert_eq!(rows[1]["events_behind"], 2);
    assert!(rows[1]["seconds_behind"].as_f64().is_some(), "{report}");

    // `--store` naming the same database counts as the services' setup.
    let output = command(&["--json", "--store", &events, "projections"])
        .env("EVENT_STORE_DATABASE_URL", &events)
        .env("PROJECTOR_DATABASE_URL", &projector_url)
        .output()
        .await
        .expect("run es");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["projections"].as_array().map(Vec::len), Some(2));

    // Another store: the services' projector database is not mixed in.
    let other_path = dir.path().join("other.db");
    SqliteStore::open(&other_path).await.expect("open other");
    let output = command(&["--json", "--store", &sqlite_url(&other_path), "projections"])
        .env("EVENT_STORE_DATABASE_URL", &events)
        .env("PROJECTOR_DATABASE_URL", &projector_url)
        .output()
        .await
        .expect("run es");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["projections"], serde_json::json!([]), "{report}");

    // Reset and watch find it; the move happens in the projector database.
    let reset = es_as_the_services(
        &events,
        &projector_url,
        &["projection", "reset", "bookings"],
    )
    .await;
    assert_eq!(reset["events_to_process"], 3, "{reset}");
    assert_eq!(
        projector.load_checkpoint("bookings").await.expect("load"),
        Position::START
    );
    assert_eq!(
        store
            .checkpoints()
            .load_checkpoint("booking-relay")
            .await
            .expect("load"),
        first,
        "the relay's checkpoint did not move"
    );

    // The same with --checkpoints and no service variables.
    let flag = es_json(&[
        "--store",
        &events,
        "--checkpoints",
        &projector_url,
        "relay",
        "status",
        "bookings",
    ])
    .await;
    assert_eq!(flag["relays"][0]["events_behind"], 3, "{flag}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_database_that_is_not_one_is_refused_and_never_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events_path = dir.path().join("events.db");
    SqliteStore::open(&events_path).await.expect("open store");
    let events = sqlite_url(&events_path);

    let missing = dir.path().join("typo.db");
    let output = es(&[
        "--store",
        &events,
        "--checkpoints",
        &sqlite_url(&missing),
        "projections",
    ])
    .await;
    let line = assert_one_error_line(&output, 1);
    assert!(
        line.contains("typo.db") && line.contains("no such file"),
        "{line}"
    );
    assert!(!missing.exists(), "es created {}", missing.display());

    // A store is not a checkpoint database of a projection... but it has the
    // table; a plain SQLite file has none.
    let plain = dir.path().join("plain.db");
    std::fs::write(&plain, b"").expect("create an empty file");
    let output = es(&[
        "--store",
        &events,
        "--checkpoints",
        &sqlite_url(&plain),
        "projections",
    ])
    .await;
    let line = assert_one_error_line(&output, 1);
    assert!(
        line.contains("no checkpoints in") && line.contains("es_checkpoints"),
        "{line}"
    );

    // A store file that does not exist is refused the same way.
    let output = es(&["--store", &sqlite_url(&missing), "streams"]).await;
    let line = assert_one_error_line(&output, 1);
    assert!(line.contains("no such file"), "{line}");
    assert!(!missing.exists(), "es created {}", missing.display());
}
