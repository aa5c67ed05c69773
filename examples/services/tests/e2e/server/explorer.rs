//! `es ui` in a real browser, on the data of a real run: `booking serve`
//! and `parking serve` run the workflow (a slot, bookings over HTTP with a
//! caller's trace, a reservation), one broken message ends as Parking's dead
//! letter, and then headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`) loads every page of `es ui`, the test checks what each shows,
//! and saves a screenshot of each under `target/tmp/es-ui-screenshots/`.
//! Writes: a read-only explorer refuses a redrive (403), a writable one
//! refuses it unconfirmed (400) and moves the dead letter back when
//! confirmed.
//!
//! `es` is the binary of package es-cli in the same target directory
//! (`cargo test --workspace` builds it; `cargo build -p es-cli` does too);
//! a missing `es` or `chromium` fails the test, it never skips.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use es_amqp::{
    lapin::{
        options::{BasicPublishOptions, QueueDeclareOptions},
        types::FieldTable,
        Connection, ConnectionProperties,
    },
    wire,
};
use es_core::{EventStore, StreamId};
use es_postgres::{PostgresConfig, PostgresStore};
use futures::TryStreamExt;

use crate::support::{
    binary,
    booking_plan::runtime,
    field,
    server::{eventually, free_port, ServerEnv},
};

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `es` beside the example binaries.
fn es_binary() -> PathBuf {
    let es = Path::new(binary("booking")).with_file_name("es");
    assert!(
        es.is_file(),
        "{} is missing: build it with `cargo build -p es-cli` (cargo test --workspace builds it)",
        es.display()
    );
    es
}

/// A running `es ui`, killed on drop.
struct Explorer {
    child: Child,
    port: u16,
}

impl Explorer {
    /// Starts `es ui` on the stores and broker of `env`, for Parking's queue.
    fn start(env: &ServerEnv, extra: &[&str]) -> Self {
        let port = free_port();
        let mut child = Command::new(es_binary())
            .args([
                "ui",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--queue",
                &env.queue,
            ])
            .args(extra)
            .env("EVENT_STORE_DATABASE_URL", &env.event_store_url)
            .env("PROJECTOR_DATABASE_URL", &env.projector_url)
            .env("AMQP_URL", &env.amqp_url)
            .env_remove("ES_STORE_URL")
            .env_remove("ES_CHECKPOINTS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn es ui");
        // Its first line says where it listens; it ends if it cannot start.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read");
        if !line.contains(&format!("http://127.0.0.1:{port}/")) {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("es ui did not start: {line:?} {stderr}");
        }
        Self { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `method path` with a form `body`: status and body.
    fn send(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response[9..12].parse().expect("status");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_owned())
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium, each run with a profile of its own.
struct Browser {
    profile: tempfile::TempDir,
    screenshots: PathBuf,
}

impl Browser {
    fn new() -> Self {
        let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("es-ui-screenshots");
        std::fs::create_dir_all(&screenshots).expect("screenshot directory");
        Self {
            profile: tempfile::tempdir().expect("profile"),
            screenshots,
        }
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let output = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--timeout=20000",
                &format!("--user-data-dir={}", self.profile.path().display()),
            ])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("chromium must be installed (apt-get install chromium; .ci/run does)");
        assert!(
            output.status.success(),
            "chromium {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Loads `url` and returns the page as the browser built it.
    fn load(&self, url: &str) -> String {
        String::from_utf8(self.run(&["--dump-dom", url])).expect("UTF-8 DOM")
    }

    /// Loads `url`, checks it shows each of `expected`, and saves its
    /// screenshot as `name.png`.
    fn check(&self, name: &str, url: &str, expected: &[&str]) -> String {
        let dom = self.load(url);
        for text in expected {
            assert!(dom.contains(text), "{name} ({url}) lacks {text:?}: {dom}");
        }
        let file = self.screenshots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        self.run(&[
            &format!("--screenshot={}", file.display()),
            "--window-size=1400,900",
            url,
        ]);
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{} is not a screenshot ({} bytes)",
            file.display(),
            png.len()
        );
        dom
    }
}

/// Messages in `queue`.
fn messages_in(env: &ServerEnv, queue: &str) -> u32 {
    runtime().block_on(async {
        let connection = Connection::connect(&env.amqp_url, ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let count = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .map_or(0, |q| q.message_count());
        let _ = connection.close(200, "done".into()).await;
        count
    })
}

#[test]
fn es_ui_shows_every_page_of_a_real_run_in_a_browser() {
    let env = ServerEnv::new();
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());

    // The workflow: a slot, a booking over HTTP in the caller's trace, reserved.
    let slot = field(
        &env.cli("parking", &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let (status, created) = booking
        .post(
            "/bookings",
            &[("traceparent", CALLER)],
            &format!(r#"{{"parking_slot_ref_no":"{slot}"}}"#),
        )
        .expect("POST /bookings");
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, body) = booking
        .post(&format!("/bookings/{id}/reserve"), &[], "")
        .expect("reserve");
    assert_eq!(status, 200, "{body}");
    // A second booking, of another slot (a held slot takes no other booking).
    let other_slot = field(
        &env.cli("parking", &["create_parking_slot", "Slot 2"]).ok(),
        "uuid",
    );
    let second = env
        .cli("booking", &["create_booking_request", &other_slot])
        .ok();
    eventually("Parking to see the reservation", || {
        let (_, slots) = parking.get("/slots")?;
        slots.contains("reserved").then_some(())
    });

    // One message Parking cannot read: it ends as a dead letter.
    runtime().block_on(async {
        let store = PostgresStore::connect_with(PostgresConfig::new(env.event_store_url.clone()))
            .await
            .expect("event store");
        let stream = StreamId::new(format!("booking-{id}")).expect("stream");
        let events: Vec<_> = store
            .read_stream(&stream, 1)
            .try_collect()
            .await
            .expect("read");
        let mut broken = events[0].clone();
        broken.event_id = uuid::Uuid::new_v4();
        let (_, properties) = wire::encode(&broken).expect("encode");
        let connection = Connection::connect(&env.amqp_url, ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .basic_publish(
                env.exchange.as_str().into(),
                "booking.status_changed".into(),
                BasicPublishOptions::default(),
                b"{not json",
                properties,
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let _ = connection.close(200, "done".into()).await;
    });
    let dlq = format!("{}.dlq", env.queue);
    eventually("the broken message to be dead-lettered", || {
        (messages_in(&env, &dlq) == 1).then_some(())
    });

    let explorer = Explorer::start(&env, &[]);
    let browser = Browser::new();
    let url = |path: &str| explorer.url(path);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    browser.check(
        "streams",
        &url("/streams"),
        &[
            "Streams",
            &format!("booking-{id}"),
            &format!("booking-{second}"),
        ],
    );
    browser.check(
        "streams-search",
        &url(&format!("/streams?q=booking-{}", &second[..8])),
        &[&format!("booking-{second}")],
    );
    browser.check(
        "stream",
        &url(&format!("/streams/booking-{id}")),
        &["BookingCreated", "BookingReserved", trace_id, &slot],
    );
    browser.check(
        "tail",
        &url("/tail"),
        &[
            "Tail",
            "BookingReserved",
            &format!("booking-{second}"),
            "refreshes every",
        ],
    );
    browser.check(
        "projections",
        &url("/projections"),
        &[
            "bookings",
            "booking-relay",
            "checkpoint database",
            "log database",
            &format!("port-{}", booking.port),
        ],
    );
    browser.check("relay", &url("/relay"), &["booking-relay"]);
    browser.check(
        "queues",
        &url("/queues"),
        &[&env.queue, "dead letters", "single", "es dead-letters list"],
    );
    let list = browser.check(
        "dead-letters",
        &url("/dead-letters"),
        &["BookingCreated", "Redrive them"],
    );
    let message_id = broken_message_id(&list);
    browser.check(
        "dead-letter",
        &url(&format!("/dead-letters/{message_id}")),
        &["Headers", "Body", &message_id],
    );
    browser.check(
        "redrive-read-only",
        &url("/dead-letters-redrive"),
        &["Read-only", "--allow-writes"],
    );
    let unknown = browser.load(&url("/streams/booking-nope"));
    assert!(unknown.contains("not found"), "{unknown}");
    let hint = browser.load(&url(&format!("/streams/{id}")));
    assert!(
        hint.contains(&format!("did you mean booking-{id}")),
        "{hint}"
    );

    // Writes: refused read-only, refused unconfirmed, done when confirmed.
    assert_eq!(
        explorer
            .send("POST", "/dead-letters-redrive", "confirm=yes")
            .0,
        403
    );
    drop(explorer);
    let writable = Explorer::start(&env, &["--allow-writes"]);
    browser.check(
        "redrive-confirm",
        &writable.url("/dead-letters-redrive"),
        &["I confirm", "1 message(s)"],
    );
    let (status, body) = writable.send("POST", "/dead-letters-redrive", "");
    assert_eq!(status, 400, "{body}");
    assert_eq!(messages_in(&env, &dlq), 1, "nothing moved unconfirmed");
    let (status, body) = writable.send("POST", "/dead-letters-redrive", "confirm=yes");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Moved 1 message(s)"), "{body}");
}

/// The message id of the one dead letter on the list page.
fn broken_message_id(list: &str) -> String {
    let start = list
        .find("/dead-letters/")
        .expect("a link to the dead letter")
        + "/dead-letters/".len();
    let rest = &list[start..];
    rest[..rest.find('"').expect("end of link")].to_owned()
}
