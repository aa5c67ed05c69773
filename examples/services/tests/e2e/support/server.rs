//! Server mode for end-to-end tests: two fresh PostgreSQL databases (event
//! store and projector), Parking's SQLite file, a RabbitMQ exchange and queue
//! with unique names, and `serve` processes on free ports. Everything is
//! removed on drop, even when the test failed.

use std::{
    fs::File,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{Duration, Instant},
};

use es_test_support::{FaultProxy, TlsMode, TlsProxy};

use es_amqp::lapin::{
    options::{ExchangeDeleteOptions, QueueDeleteOptions},
    Connection, ConnectionProperties,
};

use super::{command, run, Run};

/// How long a test waits for a service to come up or for an event to arrive.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The PostgreSQL database tests connect to first (`DATABASE_URL`).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The RabbitMQ the tests use (`AMQP_URL`).
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let mut url = url::Url::parse(url).expect("DATABASE_URL is a URL");
    url.set_path(database);
    url.into()
}

/// A fault proxy in front of the server `url` points at.
fn proxy_for(url: &str) -> FaultProxy {
    let parsed = url::Url::parse(url).expect("a server URL");
    let host = parsed.host_str().expect("the server URL names a host");
    let port = parsed
        .port_or_known_default()
        .unwrap_or(match parsed.scheme() {
            "amqp" => 5672,
            _ => 5432,
        });
    FaultProxy::start(&format!("{host}:{port}")).expect("start a fault proxy")
}

/// Taken shared by every test that uses PostgreSQL or RabbitMQ, and
/// exclusively by the opt-in tests that restart those servers, so that a
/// restart never lands in another test of this binary.
static SERVERS: RwLock<()> = RwLock::new(());

/// Marks the servers in use until dropped (restarts wait for it).
pub fn servers_in_use() -> RwLockReadGuard<'static, ()> {
    SERVERS.read().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until no other test uses the servers and keeps them to the caller
/// until dropped, for a test that restarts them.
pub fn servers_to_restart() -> RwLockWriteGuard<'static, ()> {
    SERVERS.write().unwrap_or_else(PoisonError::into_inner)
}

/// A free TCP port on this machine.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The isolated resources of one server-mode test.
pub struct ServerEnv {
    runtime: tokio::runtime::Runtime,
    databases: Vec<String>,
    /// The event store database's URL.
    pub event_store_url: String,
    /// The projector database's URL.
    pub projector_url: String,
    /// RabbitMQ's URL for the services.
    pub amqp_url: String,
    /// Parking's database URL (SQLite, in the temp dir).
    pub parking_url: String,
    /// The exchange Booking publishes to.
    pub exchange: String,
    /// Parking's queue.
    pub queue: String,
    /// Holds logs and Parking's database.
    pub dir: tempfile::TempDir,
    /// The CA file the services trust (`SSL_CERT_FILE`), when RabbitMQ is
    /// reached over TLS.
    pub ssl_cert_file: Option<PathBuf>,
    /// Parking's partitions (`PARKING_PARTITIONS`), when set.
    pub parking_partitions: Option<u16>,
    /// Keeps the opt-in server restarts out while this test runs.
    _servers: Option<RwLockReadGuard<'static, ()>>,
}

impl ServerEnv {
    /// Creates the databases; queue and exchange appear when the services declare them.
    pub fn new() -> Self {
        Self::create(Some(servers_in_use()))
    }

    /// Like [`ServerEnv::new`], for a test that holds
    /// [`servers_to_restart`] already.
    pub fn new_while_restarting() -> Self {
        Self::create(None)
    }

    fn create(servers: Option<RwLockReadGuard<'static, ()>>) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let databases = vec![
            format!("es_ex_{suffix}_events"),
            format!("es_ex_{suffix}_projector"),
        ];
        runtime.block_on(async {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url())
                .await
                .expect("PostgreSQL must be running (DATABASE_URL)");
            for database in &databases {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let parking_url = format!("sqlite:{}", dir.path().join("parking.db").display());
        ServerEnv {
            event_store_url: with_database(&admin_url(), &databases[0]),
            projector_url: with_database(&admin_url(), &databases[1]),
            amqp_url: amqp_url(),
            parking_url,
            exchange: format!("es-example-{suffix}"),
            queue: format!("es-example-parking-{suffix}"),
            databases,
            runtime,
            dir,
            ssl_cert_file: None,
            parking_partitions: None,
            _servers: servers,
        }
    }

    /// Routes every later connection to PostgreSQL (the services' and the
    /// test's own, made from these URLs) through a fault proxy, and returns it.
    pub fn postgres_through_proxy(&mut self) -> FaultProxy {
        let proxy = proxy_for(&self.event_store_url);
        self.event_store_url = proxy.redirect(&self.event_store_url).expect("redirect");
        self.projector_url = proxy.redirect(&self.projector_url).expect("redirect");
        proxy
    }

    /// Routes later connections to the projector database only through a
    /// fault proxy, and returns it.
    pub fn projector_through_proxy(&mut self) -> FaultProxy {
        let proxy = proxy_for(&self.projector_url);
        self.projector_url = proxy.redirect(&self.projector_url).expect("redirect");
        proxy
    }

    /// Routes the services' later connections to RabbitMQ through a fault
    /// proxy, and returns it.
    pub fn rabbitmq_through_proxy(&mut self) -> FaultProxy {
        let proxy = proxy_for(&self.amqp_url);
        self.amqp_url = proxy.redirect(&self.amqp_url).expect("redirect");
        proxy
    }

    /// Makes the services reach RabbitMQ over TLS (`amqps://`) through a
    /// TLS-terminating proxy, trusting its certificate through
    /// `SSL_CERT_FILE`, and returns the proxy.
    pub fn rabbitmq_over_tls(&mut self) -> TlsProxy {
        let parsed = url::Url::parse(&self.amqp_url).expect("AMQP_URL parses");
        let upstream = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(5672)
        );
        let proxy = TlsProxy::start(&upstream, TlsMode::Direct).expect("start a TLS proxy");
        let mut url = url::Url::parse(&proxy.redirect(&self.amqp_url).expect("redirect"))
            .expect("proxied URL");
        url.set_scheme("amqps").expect("amqps scheme");
        self.amqp_url = url.into();
        let ca = self.dir.path().join("broker-ca.pem");
        proxy.write_ca_pem(&ca).expect("write the CA file");
        self.ssl_cert_file = Some(ca);
        proxy
    }

    /// Sets `command`'s environment for server mode (what [`cli`](Self::cli)
    /// runs with), for tests that spawn processes themselves.
    pub fn configure_command(&self, command: &mut Command) {
        self.configure(command);
    }

    fn configure(&self, command: &mut Command) {
        if let Some(ca) = &self.ssl_cert_file {
            command.env("SSL_CERT_FILE", ca);
        }
        if let Some(partitions) = self.parking_partitions {
            command.env("PARKING_PARTITIONS", partitions.to_string());
        }
        command
            .env("EVENT_STORE_DATABASE_URL", &self.event_store_url)
            .env("PROJECTOR_DATABASE_URL", &self.projector_url)
            .env("PARKING_DATABASE_URL", &self.parking_url)
            .env("AMQP_URL", &self.amqp_url)
            .env("BOOKING_EXCHANGE", &self.exchange)
            .env("PARKING_QUEUE", &self.queue)
            // Server mode must not touch the embedded files.
            .env(
                "ES_DATA_DIR",
                self.dir.path().join("embedded-must-stay-unused"),
            );
    }

    /// Runs `program args` in server mode.
    pub fn cli(&self, program: &str, args: &[&str]) -> Run {
        let mut command = command(program);
        self.configure(&mut command);
        run(command.args(args))
    }

    /// Starts `program serve --port <port>` and waits until its /health answers.
    pub fn serve(&self, program: &str, port: u16) -> Service {
        self.serve_with(program, port, &[])
    }

    /// Starts `parking serve` as process `instance` of `instances` sharing
    /// [`ServerEnv::parking_partitions`] (`PARKING_INSTANCE`,
    /// `PARKING_INSTANCES`), and waits until its /health answers.
    pub fn serve_parking_instance(&self, port: u16, instance: u16, instances: u16) -> Service {
        self.serve_with(
            "parking",
            port,
            &[
                ("PARKING_INSTANCE", &instance.to_string()),
                ("PARKING_INSTANCES", &instances.to_string()),
            ],
        )
    }

    /// Starts `booking serve` in embedded mode on `data_dir` (its stores and
    /// leases in SQLite files there; RabbitMQ as configured), and waits until
    /// its /health answers.
    pub fn serve_embedded_booking(&self, port: u16, data_dir: &std::path::Path) -> Service {
        self.serve_adjusted("booking", port, |command| {
            command
                .env_remove("EVENT_STORE_DATABASE_URL")
                .env_remove("PROJECTOR_DATABASE_URL")
                .env("ES_DATA_DIR", data_dir);
        })
    }

    /// Starts `program serve --port <port>` with the extra environment
    /// `vars` and waits until its /health answers.
    pub fn serve_with(&self, program: &str, port: u16, vars: &[(&str, &str)]) -> Service {
        self.serve_adjusted(program, port, |command| {
            command.envs(vars.iter().copied());
        })
    }

    /// Starts `program serve --port <port>`, configured for this test and
    /// then by `adjust`, and waits until its /health answers.
    fn serve_adjusted(
        &self,
        program: &str,
        port: u16,
        adjust: impl FnOnce(&mut Command),
    ) -> Service {
        let log = self.dir.path().join(format!("{program}-serve-{port}.log"));
        let file = File::create(&log).expect("log file");
        let mut command = command(program);
        self.configure(&mut command);
        adjust(&mut command);
        command
            .args(["serve", "--port", &port.to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file.try_clone().expect("log file"));
        let mut service = Service {
            child: command.spawn().expect("spawn serve"),
            port,
            log,
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = service.child.try_wait().expect("try_wait") {
                panic!("{program} serve exited with {status}: {}", service.log());
            }
            if service.health().is_some() {
                return service;
            }
            assert!(
                Instant::now() < deadline,
                "{program} serve did not become healthy: {}",
                service.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ServerEnv {
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        let mut queues = vec![self.queue.clone(), format!("{}.dlq", self.queue)];
        let mut exchanges = vec![self.exchange.clone(), format!("{}.dlx", self.queue)];
        if let Some(partitions) = self.parking_partitions {
            queues.extend((0..partitions).map(|p| format!("{}.p{p}", self.queue)));
            exchanges.push(format!("{}.partitions", self.queue));
            exchanges.push(format!("{}.unpartitioned", self.queue));
        }
        self.runtime.block_on(async {
            let cleanup = async {
                if let Ok(mut admin) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url()).await
                {
                    for database in databases {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                        )))
                        .execute(&mut admin)
                        .await;
                    }
                }
                if let Ok(connection) =
                    Connection::connect(&amqp_url(), ConnectionProperties::default()).await
                {
                    if let Ok(channel) = connection.create_channel().await {
                        for queue in &queues {
                            let _ = channel
                                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                                .await;
                        }
                        for exchange in &exchanges {
                            let _ = channel
                                .exchange_delete(
                                    exchange.as_str().into(),
                                    ExchangeDeleteOptions::default(),
                                )
                                .await;
                        }
                    }
                    let _ = connection.close(200, "cleanup".into()).await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(20), cleanup).await;
        });
    }
}

/// An HTTP answer, as [`Service::send`] read it.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// A running `serve` process, killed on drop.
pub struct Service {
    child: Child,
    /// Its /health port.
    pub port: u16,
    log: PathBuf,
}

impl Service {
    /// The body of `GET /health` if it answers 200.
    pub fn health(&self) -> Option<String> {
        match self.get("/health")? {
            (200, body) => Some(body),
            _ => None,
        }
    }

    /// `GET path`: the status code and body, `None` if it does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        self.request("GET", path, &[], "")
    }

    /// `POST path` with `headers` and a JSON `body`: the status code and
    /// body, `None` if it does not answer.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Option<(u16, String)> {
        self.request("POST", path, headers, body)
    }

    /// `method path` with a JSON `body` and `headers`: the status code and
    /// body, `None` if it does not answer.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String)> {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        let answer = self.send(method, path, &all, body)?;
        Some((answer.status, answer.body))
    }

    /// `method path` with exactly `headers` (no content type unless given)
    /// and `body`: the whole answer, `None` if it does not answer.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<Answer> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            // A command waits for its projection; a GET answers at once.
            .set_read_timeout(Some(Duration::from_secs(if method == "GET" {
                10
            } else {
                60
            })))
            .ok()?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.get(9..12)?.parse().ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        Some(Answer {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        })
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks it to stop (SIGTERM) and returns its exit code.
    #[cfg(unix)]
    pub fn terminate(self) -> Option<i32> {
        self.stop_with("TERM")
    }

    /// Sends it `signal` (a `kill` signal name: `TERM`, `INT` for Ctrl-C)
    /// and returns its exit code.
    #[cfg(unix)]
    pub fn stop_with(mut self, signal: &str) -> Option<i32> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop on SIGTERM: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends it `signal` (a `kill` signal name: `STOP` freezes it, `CONT`
    /// thaws it) and returns at once.
    #[cfg(unix)]
    #[allow(dead_code)] // for the freeze scenarios
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// How it exited, if it did (`None`: still running).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Stops it abruptly (SIGKILL): nothing graceful to rely on.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after [`PATIENCE`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
