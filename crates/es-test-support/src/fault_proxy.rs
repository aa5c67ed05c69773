//! A TCP proxy that injects network faults between a test's client and a server.
//!
//! Why a proxy: the only other ways to make a client lose its server are to
//! stop the server or to kill its connections from the server side, and both
//! reach beyond the test (other programs use the same PostgreSQL and
//! RabbitMQ). The proxy owns every connection it forwards, so whatever it does
//! to them touches only the test that started it.
//!
//! The proxy runs on its own thread with its own Tokio runtime, so it works
//! the same from synchronous tests (which spawn processes) and from async
//! tests on any runtime flavour, and a test that blocks its runtime cannot
//! stall the proxy. Dropping the [`FaultProxy`] closes the listener and
//! every connection.

use std::{
    fmt,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::watch,
};

use crate::{background::Background, ProxyError};

/// The switches a test flips, shared with the proxy's thread.
struct Control {
    /// Bumped by [`FaultProxy::cut_all`]; a connection opened under an
    /// older value closes.
    cut: watch::Sender<u64>,
    /// While true, bytes stop flowing in both directions (nothing closes).
    hold: watch::Sender<bool>,
    /// While true, new connections are accepted and closed at once.
    refuse: AtomicBool,
    /// Delay added before each forwarded chunk, in microseconds.
    latency_us: AtomicU64,
    /// Connections being forwarded now.
    open: AtomicUsize,
    /// Connections accepted since start (refused ones included).
    accepted: AtomicU64,
}

/// A fault-injecting TCP proxy to one upstream address.
///
/// Start it with the server's address, point the client at
/// [`addr`](FaultProxy::addr) (or a URL from
/// [`redirect`](FaultProxy::redirect)), then inject faults:
///
/// | call | what the client sees |
/// | --- | --- |
/// | [`cut_all`](FaultProxy::cut_all) | every open connection reset (RST), both sides |
/// | [`refuse_new`](FaultProxy::refuse_new)`(true)` | new connections closed right after connect |
/// | [`set_latency`](FaultProxy::set_latency) | each chunk delayed, both directions |
/// | [`hold`](FaultProxy::hold)`(true)` | half-open connections: nothing flows, nothing closes |
pub struct FaultProxy {
    addr: SocketAddr,
    control: Arc<Control>,
    _server: Background,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("open", &self.open_connections())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 forwarding to `upstream`
    /// (`host:port`, for example `127.0.0.1:5432`).
    ///
    /// The upstream is connected per client connection, when the client
    /// connects; an unreachable upstream closes that client connection.
    pub fn start(upstream: &str) -> Result<Self, ProxyError> {
        let control = Arc::new(Control {
            cut: watch::channel(0).0,
            hold: watch::channel(false).0,
            refuse: AtomicBool::new(false),
            latency_us: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
        });
        let upstream = upstream.to_owned();
        let shared = control.clone();
        let (server, port) = Background::spawn("fault-proxy", move |listener| {
            accept_loop(listener, upstream, shared)
        })?;
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            control,
            _server: server,
        })
    }

    /// The proxy's listening address (127.0.0.1 and a free port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `url` with its host and port replaced by the proxy's, so a client
    /// built from it connects through the proxy. Works for `postgres://`,
    /// `amqp://`, `amqps://` and any URL with an authority.
    pub fn redirect(&self, url: &str) -> Result<String, ProxyError> {
        crate::redirect::redirect(url, self.port())
    }

    /// Resets every connection open now, in both directions. Connections made
    /// afterwards are forwarded as usual (unless [`refuse_new`] is on).
    ///
    /// [`refuse_new`]: FaultProxy::refuse_new
    pub fn cut_all(&self) {
        self.control.cut.send_modify(|generation| *generation += 1);
    }

    /// While `refuse` is true, every new connection is closed right after it
    /// is accepted: the client sees its server go away on connect.
    pub fn refuse_new(&self, refuse: bool) {
        self.control.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Delays each forwarded chunk by `latency` (in both directions);
    /// `Duration::ZERO` turns it off.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.control.latency_us.store(micros, Ordering::SeqCst);
    }

    /// While `hold` is true, the proxy stops reading and forwarding bytes on
    /// every connection, old and new, without closing any: a half-open
    /// network where the client's writes and reads just hang.
    pub fn hold(&self, hold: bool) {
        self.control.hold.send_replace(hold);
    }

    /// Connections being forwarded now.
    pub fn open_connections(&self) -> usize {
        self.control.open.load(Ordering::SeqCst)
    }

    /// Connections accepted since the proxy started, refused ones included.
    pub fn accepted_connections(&self) -> u64 {
        self.control.accepted.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, control: Arc<Control>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        control.accepted.fetch_add(1, Ordering::SeqCst);
        if control.refuse.load(Ordering::SeqCst) {
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream.clone(), control.clone()));
    }
}

/// Forwards one client connection until either side closes or it is cut.
async fn forward(client: TcpStream, upstream: String, control: Arc<Control>) {
    let mut cut = control.cut.subscribe();
    cut.borrow_and_update();
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    control.open.fetch_add(1, Ordering::SeqCst);
    // Reset, not FIN, when cut: to the client it looks like a network failure.
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let both = async {
        tokio::join!(
            pump(client_read, server_write, &control),
            pump(server_read, client_write, &control)
        )
    };
    tokio::select! {
        _ = both => {}
        _ = cut.changed() => {}
    }
    control.open.fetch_sub(1, Ordering::SeqCst);
}

/// Copies one direction, honouring hold and latency. Ends on EOF or error,
/// passing the EOF on (a half-close stays a half-close).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, control: &Control) {
    let mut hold = control.hold.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if hold.wait_for(|held| !*held).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        // Bytes read just before a hold began wait for its end too.
        if hold.wait_for(|held| !*held).await.is_err() {
            return;
        }
        let latency = control.latency_us.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_micros(latency)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{TcpListener as StdTcpListener, TcpStream as StdTcpStream};
    use std::thread;
    use std::time::Instant;

    use super::*;

    /// An echo server on a free port; returns its address.
    fn echo_server() -> String {
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn connect(proxy: &FaultProxy) -> StdTcpStream {
        let stream = StdTcpStream::connect(proxy.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }

    fn echo(stream: &mut StdTcpStream, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(bytes)?;
        let mut back = vec![0u8; bytes.len()];
        stream.read_exact(&mut back)?;
        Ok(back)
    }

    #[test]
    fn forwards_bytes_both_ways() {
        let proxy = FaultProxy::start(&echo_server()).unwrap();
        let mut stream = connect(&proxy);
        assert_eq!(echo(&mut stream, b"hello").unwrap(), b"hello");
        assert_eq!(proxy.accepted_connections(), 1);
    }

    #[test]
    fn cut_all_resets_open_connections_and_later_ones_work() {
        let proxy = FaultProxy::start(&echo_server()).unwrap();
        let mut stream = connect(&proxy);
        assert_eq!(echo(&mut stream, b"one").unwrap(), b"one");
        proxy.cut_all();
        let err = echo(&mut stream, b"two").and_then(|_| echo(&mut stream, b"three"));
        assert!(err.is_err(), "a cut connection must fail, got {err:?}");
        let mut again = connect(&proxy);
        assert_eq!(echo(&mut again, b"four").unwrap(), b"four");
    }

    #[test]
    fn refused_connections_close_at_once() {
        let proxy = FaultProxy::start(&echo_server()).unwrap();
        proxy.refuse_new(true);
        let mut stream = connect(&proxy);
        let result = echo(&mut stream, b"x");
        assert!(result.is_err(), "a refused connection must fail");
        proxy.refuse_new(false);
        let mut stream = connect(&proxy);
        assert_eq!(echo(&mut stream, b"y").unwrap(), b"y");
    }

    #[test]
    fn hold_stops_the_flow_without_closing() {
        let proxy = FaultProxy::start(&echo_server()).unwrap();
        let mut stream = connect(&proxy);
        assert_eq!(echo(&mut stream, b"a").unwrap(), b"a");
        proxy.hold(true);
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let err = echo(&mut stream, b"b").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "held connection must time out, not close: {err:?}"
        );
        assert_eq!(proxy.open_connections(), 1);
        proxy.hold(false);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut back = [0u8; 1];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"b");
    }

    #[test]
    fn latency_delays_each_round_trip() {
        let proxy = FaultProxy::start(&echo_server()).unwrap();
        let mut stream = connect(&proxy);
        proxy.set_latency(Duration::from_millis(100));
        let started = Instant::now();
        assert_eq!(echo(&mut stream, b"slow").unwrap(), b"slow");
        // One chunk each way: at least two delays.
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn redirect_points_a_url_at_the_proxy() {
        let proxy = FaultProxy::start("127.0.0.1:9").unwrap();
        let port = proxy.port();
        assert_eq!(
            proxy
                .redirect("postgres://postgres@localhost:5432/test?sslmode=disable")
                .unwrap(),
            format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=disable")
        );
        assert_eq!(
            proxy
                .redirect("amqp://guest:guest@127.0.0.1:5672/%2f")
                .unwrap(),
            format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
        );
        assert!(matches!(
            proxy.redirect("not a url"),
            Err(ProxyError::Url(_))
        ));
    }
}
