//! `es projection watch NAME` follows a checkpoint until it reaches the head
//! of the log, showing its progress, and exits 0 then.

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::ChildStdout,
};

use es_core::{CheckpointStore, Position};
use serde_json::Value;

use crate::support::{append, assert_one_error_line, command, es, es_ok, with, PgSchema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_exits_once_the_checkpoint_reaches_the_head() {
    let pg = PgSchema::new().await;
    let mut positions = Vec::new();
    for n in 0..4 {
        positions.push(append(&pg.store, &format!("room-{n}"), &["Booked", "Cancelled"]).await);
    }
    let checkpoints = pg.store.checkpoints();
    let commit = |from: Position, to: Position| {
        let checkpoints = checkpoints.clone();
        async move {
            let tx = checkpoints.begin().await.expect("begin");
            checkpoints
                .commit(tx, "rooms-view", from, to)
                .await
                .expect("commit checkpoint");
        }
    };
    commit(Position::START, positions[0]).await;
    let args = pg.args();

    let mut watch = command(&with(
        &args,
        &[
            "--json",
            "projection",
            "watch",
            "rooms-view",
            "--interval",
            "0.1",
        ],
    ));
    let mut child = watch
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start es projection watch");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // The first look, before anything moved.
    let first = next_sample(&mut stdout).await.expect("a first sample");
    assert_eq!(
        (first["done"].as_u64(), first["remaining"].as_u64()),
        (Some(0), Some(6)),
        "{first}"
    );
    assert_eq!(first["caught_up"], false);

    // The "runner" moves the checkpoint along while es watches.
    let mut samples = vec![first];
    for (step, pair) in positions.windows(2).enumerate() {
        commit(pair[0], pair[1]).await;
        // Wait until es has seen this step: two more events done.
        let done = 2 * (step as u64 + 1);
        loop {
            let sample = next_sample(&mut stdout)
                .await
                .expect("watch runs until caught up");
            let seen = sample["done"].as_u64().expect("done");
            samples.push(sample);
            if seen >= done {
                break;
            }
        }
    }
    assert!(
        next_sample(&mut stdout).await.is_none(),
        "nothing after caught up"
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("watch exits once caught up")
        .expect("es ran");
    assert!(status.success(), "{samples:?}");
    let last = samples.last().expect("a last sample");
    assert_eq!(last["caught_up"], true, "{samples:?}");
    assert_eq!(
        (last["done"].as_u64(), last["remaining"].as_u64()),
        (Some(6), Some(0))
    );
    assert!(
        last["events_per_second"].as_f64().expect("a rate") > 0.0,
        "{last}"
    );
    assert!(
        samples
            .iter()
            .any(|s| s["done"] == 2 && s["seconds_left"].as_f64().is_some()),
        "it saw the checkpoint part of the way, with a time left: {samples:?}"
    );

    // Already caught up: one line for people, exit 0 at once.
    let human = es_ok(&with(&args, &["projection", "watch", "rooms-view"])).await;
    assert!(
        human.starts_with("rooms-view: caught up, 0 events"),
        "{human}"
    );

    let unknown = es(&with(&args, &["projection", "watch", "nope"])).await;
    let line = assert_one_error_line(&unknown, 1);
    assert!(line.contains("rooms-view"), "names the known ones: {line}");
}

/// The next JSON line of `es --json projection watch`, `None` once it closed stdout.
async fn next_sample(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<Value> {
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a sample within 30 s")
        .expect("read stdout")?;
    Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
}
