//! Connection URLs with passwords never appear in logs,
//! errors, `Debug` output or `--help`.
//!
//! The binaries run with password-bearing URLs to servers that are not
//! there, or that refuse the password, with logging at `trace`; stdout and
//! stderr must not contain the password. The library configurations and
//! errors are checked through `Debug` and `Display`.

use crate::support::{command, run, server::free_port, Run};
use es_amqp::{ConsumerConfig, RelayConfig};
use es_postgres::{PostgresConfig, PostgresStore};

/// A password that cannot appear by accident.
const SECRET: &str = "Pw7xQz9TorturE";

fn assert_hidden(what: &str, run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(SECRET),
            "{what}: the password is on {name}: {text}"
        );
    }
}

/// `program` with `vars` set and logging at `trace`.
fn traced(program: &str, vars: &[(&str, &String)]) -> std::process::Command {
    let mut cmd = command(program);
    cmd.envs(vars.iter().map(|(name, value)| (*name, value.as_str())))
        .env("RUST_LOG", "trace");
    cmd
}

fn all_secret_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env(
        "EVENT_STORE_DATABASE_URL",
        format!("postgres://postgres:{SECRET}@127.0.0.1:1/events"),
    )
    .env(
        "PROJECTOR_DATABASE_URL",
        format!("postgres://postgres:{SECRET}@127.0.0.1:1/projector"),
    )
    .env("AMQP_URL", format!("amqp://guest:{SECRET}@127.0.0.1:1/%2f"))
}

#[test]
fn help_never_shows_a_password_from_the_environment() {
    for (program, args) in [
        ("booking", vec!["--help"]),
        ("booking", vec!["serve", "--help"]),
        ("booking", vec!["get_booking_list", "--help"]),
        ("parking", vec!["--help"]),
        ("parking", vec!["serve", "--help"]),
    ] {
        let mut cmd = command(program);
        all_secret_env(&mut cmd).env(
            "PARKING_DATABASE_URL",
            format!("sqlite://u:{SECRET}@/tmp/x.db"),
        );
        let shown = run(cmd.args(&args));
        assert_eq!(shown.code, Some(0), "{program} {args:?}: {shown:?}");
        assert!(!shown.stdout.is_empty(), "{program} {args:?}: no help");
        assert_hidden(&format!("{program} {args:?}"), &shown);
    }
}

#[test]
fn unreachable_servers_do_not_leak_the_password() {
    // PostgreSQL not there, at trace level.
    let mut cmd = command("booking");
    all_secret_env(&mut cmd).env("RUST_LOG", "trace");
    let shown = run(cmd.arg("get_booking_list"));
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("booking get_booking_list, PostgreSQL down", &shown);
    assert!(shown.stderr.contains("***"), "{shown:?}");

    // serve: RabbitMQ not there.
    let mut cmd = command("booking");
    all_secret_env(&mut cmd).env("RUST_LOG", "trace");
    let shown = run(cmd.args(["serve", "--port", &free_port().to_string()]));
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("booking serve, RabbitMQ down", &shown);

    let mut cmd = command("parking");
    all_secret_env(&mut cmd).env("RUST_LOG", "trace");
    let dir = tempfile::tempdir().expect("temp dir");
    cmd.env(
        "PARKING_DATABASE_URL",
        format!("sqlite:{}", dir.path().join("p.db").display()),
    );
    let shown = run(cmd.args(["serve", "--port", &free_port().to_string()]));
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("parking serve, RabbitMQ down", &shown);
}

#[test]
fn refused_passwords_do_not_leak() {
    let _servers = crate::support::server::servers_in_use();
    // The real servers, wrong credentials: RabbitMQ refuses the login,
    // PostgreSQL refuses the role.
    let refused_role = format!("postgres://no_such_role_torture:{SECRET}@127.0.0.1:5432/test");
    let refused_login = format!("amqp://guest:{SECRET}@127.0.0.1:5672/%2f");
    let shown = run(
        traced("booking", &[("EVENT_STORE_DATABASE_URL", &refused_role)]).arg("get_booking_list"),
    );
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("booking, PostgreSQL refuses", &shown);

    let shown = run(traced(
        "booking",
        &[
            ("EVENT_STORE_DATABASE_URL", &refused_role),
            ("AMQP_URL", &refused_login),
        ],
    )
    .args(["serve", "--port", &free_port().to_string()]));
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("booking serve, RabbitMQ refuses", &shown);

    let dir = tempfile::tempdir().expect("temp dir");
    let parking_db = format!("sqlite:{}", dir.path().join("p.db").display());
    let shown = run(traced(
        "parking",
        &[
            ("PARKING_DATABASE_URL", &parking_db),
            ("AMQP_URL", &refused_login),
        ],
    )
    .args(["serve", "--port", &free_port().to_string()]));
    assert_eq!(shown.code, Some(1), "{shown:?}");
    assert_hidden("parking serve, RabbitMQ refuses", &shown);
}

#[test]
fn library_configs_and_errors_hide_the_password() {
    let amqp = format!("amqp://guest:{SECRET}@127.0.0.1:1/%2f");
    let pg = format!("postgres://postgres:{SECRET}@127.0.0.1:1/x");
    for shown in [
        format!(
            "{:?}",
            RelayConfig::builder(&amqp, "relay", "exchange")
                .build()
                .expect("a relay config")
        ),
        format!(
            "{:?}",
            ConsumerConfig::builder(&amqp, "exchange", "queue")
                .build()
                .expect("a consumer config")
        ),
        format!("{:?}", PostgresConfig::new(&pg)),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let error = PostgresStore::connect(&pg)
            .await
            .expect_err("nothing listens on port 1");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(SECRET), "{shown}");

        let consumer = es_amqp::Consumer::new(
            ConsumerConfig::builder(
                format!("amqp://guest:{SECRET}@127.0.0.1:5672/%2f"),
                "torture-exchange",
                "torture-queue",
            )
            .build()
            .expect("a consumer config"),
            es_amqp::IdempotentHandler::new(
                "torture",
                es_amqp::InMemoryIdempotencyStore::<()>::new(),
                NoHandler,
            )
            .expect("a valid consumer name"),
        );
        let shown = format!("{:?}", consumer.config());
        assert!(!shown.contains(SECRET), "{shown}");
        let error = consumer.declare().await.expect_err("the login is refused");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(SECRET), "{shown}");
    });
}

/// A handler that is never called.
#[derive(Debug)]
struct NoHandler;

#[es_core::async_trait]
impl es_amqp::TransactionalHandler<es_amqp::InMemoryTransaction<()>> for NoHandler {
    async fn apply(
        &self,
        _tx: &mut es_amqp::InMemoryTransaction<()>,
        _event: &es_core::RecordedEvent,
        _previous_version: Option<u64>,
    ) -> Result<(), es_core::BoxError> {
        Ok(())
    }
}
