//! A noisy neighbour on the PostgreSQL server: another application's write
//! transaction, held open while a scenario runs.
//!
//! Production servers are shared: batch jobs, migrations and leaked
//! idle-in-transaction sessions of other applications hold transaction ids
//! for a long time. The event store's readers must not wait for them. A
//! [`NoisyNeighbour`] creates a database of its own on the server (random
//! name), writes a row there in a transaction and keeps that transaction
//! open, either running (`pg_sleep`, as a long batch statement) or idle (a
//! leaked session), until it is dropped or its hold time ends. Dropping it
//! cancels its own session's statement, rolls back, closes its connections
//! and drops its database; it never touches a session it did not open.
//!
//! It serves from a thread with its own runtime, so it works the same under
//! synchronous tests and any async runtime.

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// How the neighbour's transaction stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighbourKind {
    /// A statement runs in it (`pg_sleep`) for the hold time: state `active`.
    BusyWrite,
    /// It went idle after its write and never ends on its own: state
    /// `idle in transaction`, a leaked session.
    IdleInTransaction,
}

/// A transaction holding a transaction id in a database of its own on the
/// server; see the module documentation.
pub struct NoisyNeighbour {
    database: String,
    admin_url: String,
    pid: i32,
    transaction_id: u64,
    kind: NeighbourKind,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// The bound on the neighbour's set-up and clean-up steps.
const STEP: Duration = Duration::from_secs(30);

impl NoisyNeighbour {
    /// A neighbour on the server of `admin_url` (a URL whose database the
    /// user can connect to and create databases from) whose write
    /// transaction stays open, running a statement, for `hold` (or until
    /// dropped). Panics if the server refuses (tests fail, never skip).
    pub fn busy_write(admin_url: &str, hold: Duration) -> Self {
        Self::start(admin_url, NeighbourKind::BusyWrite, hold)
    }

    /// A neighbour whose session wrote a row and went idle in its
    /// transaction: open until dropped.
    pub fn idle_in_transaction(admin_url: &str) -> Self {
        Self::start(admin_url, NeighbourKind::IdleInTransaction, Duration::MAX)
    }

    /// The neighbour's database (`es_neighbour_<random>`).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The backend process id of its session.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Its transaction's id (`xid8`, with epoch).
    pub fn transaction_id(&self) -> u64 {
        self.transaction_id
    }

    /// How its transaction stays open.
    pub fn kind(&self) -> NeighbourKind {
        self.kind
    }

    /// Whether its transaction is still open now (asked on a new
    /// connection to the server).
    pub fn is_open(&self) -> bool {
        let admin_url = self.admin_url.clone();
        let pid = self.pid;
        let transaction_id = self.transaction_id as i64;
        run_blocking(async move {
            let mut admin = PgConnection::connect(&admin_url).await.ok()?;
            let open: Option<bool> = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE pid = $1 AND backend_xid::text::bigint = $2 % 4294967296)",
            )
            .bind(pid)
            .bind(transaction_id)
            .fetch_one(&mut admin)
            .await
            .ok();
            let _ = admin.close().await;
            open
        })
        .unwrap_or(false)
    }

    fn start(admin_url: &str, kind: NeighbourKind, hold: Duration) -> Self {
        let database = format!("es_neighbour_{}", random_suffix());
        let neighbour_url = with_database(admin_url, &database);
        {
            let admin_url = admin_url.to_owned();
            let database = database.clone();
            run_blocking(async move {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .expect("the noisy neighbour connects to PostgreSQL");
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .execute(&mut admin)
                    .await
                    .expect("create the neighbour's database");
                let _ = admin.close().await;
            });
        }
        let (ready_tx, ready) = mpsc::channel();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("noisy-neighbour-{database}"))
            .spawn(move || hold_transaction(neighbour_url, kind, hold, ready_tx, stopped))
            .expect("start the neighbour's thread");
        let Ok((pid, transaction_id)) = ready.recv_timeout(STEP) else {
            panic!("the noisy neighbour did not open its transaction within {STEP:?}");
        };
        NoisyNeighbour {
            database,
            admin_url: admin_url.to_owned(),
            pid,
            transaction_id,
            kind,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// The neighbour's thread: opens the transaction, reports `(pid, xid)`,
/// holds it until `stopped` or `hold` ends, then rolls back.
fn hold_transaction(
    url: String,
    kind: NeighbourKind,
    hold: Duration,
    ready: mpsc::Sender<(i32, u64)>,
    stopped: mpsc::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the neighbour's runtime");
    runtime.block_on(async move {
        let mut conn = PgConnection::connect(&url)
            .await
            .expect("connect to the neighbour's database");
        sqlx::raw_sql(
            "CREATE TABLE batch (id bigserial PRIMARY KEY, note text); \
             BEGIN; INSERT INTO batch (note) VALUES ('a long batch job')",
        )
        .execute(&mut conn)
        .await
        .expect("the neighbour's write");
        let (pid, xid): (i32, i64) =
            sqlx::query_as("SELECT pg_backend_pid(), pg_current_xact_id()::text::bigint")
                .fetch_one(&mut conn)
                .await
                .expect("the neighbour's transaction id");
        let _ = ready.send((pid, xid as u64));
        let deadline = Instant::now().checked_add(hold);
        match kind {
            NeighbourKind::BusyWrite => {
                // The statement runs until the hold ends or the handle's
                // drop cancels it (pg_cancel_backend of this session).
                let seconds = hold.as_secs_f64().min(86_400.0);
                let _ = sqlx::query("SELECT pg_sleep($1)")
                    .bind(seconds)
                    .execute(&mut conn)
                    .await;
                let _ = stopped.try_recv();
            }
            NeighbourKind::IdleInTransaction => loop {
                match stopped.recv_timeout(Duration::from_millis(50)) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            },
        }
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        let _ = conn.close().await;
    });
}

impl Drop for NoisyNeighbour {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A running statement ends only when cancelled: cancel our own
        // session's (by the pid we opened) until its thread has finished
        // (the cancel may arrive before the statement starts).
        let admin_url = self.admin_url.clone();
        let pid = self.pid;
        let database = self.database.clone();
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + STEP;
            while !thread.is_finished() && Instant::now() < deadline {
                if self.kind == NeighbourKind::BusyWrite {
                    let admin_url = admin_url.clone();
                    run_blocking(async move {
                        if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                                .bind(pid)
                                .execute(&mut admin)
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                }
                thread::sleep(Duration::from_millis(50));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                eprintln!("noisy neighbour: session {pid} did not end within {STEP:?}");
            }
        }
        run_blocking(async move {
            if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                let drop = format!("DROP DATABASE IF EXISTS {database}");
                if let Err(error) = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut admin).await {
                    eprintln!("noisy neighbour: cannot drop database {database}: {error}");
                }
                let _ = admin.close().await;
            }
        });
    }
}

/// Runs `future` to completion on a thread and runtime of its own (usable
/// from `Drop` and from inside another runtime).
fn run_blocking<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    })
    .join()
    .expect("the neighbour's helper thread panicked")
}

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a PostgreSQL URL");
    parsed.set_path(database);
    parsed.into()
}

/// 12 random hexadecimal digits (from the clock and the process id: unique
/// enough for names of short-lived test databases).
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    format!("{:012x}", hasher.finish() & 0xFFFF_FFFF_FFFF)
}
