//! # es-test-support: faults without touching the server
//!
//! Tests of reconnection and outages used to stop PostgreSQL or RabbitMQ, or
//! close other programs' connections to them. On a developer's laptop that
//! takes their databases down. Instead, a test starts a [`FaultProxy`]
//! between its client and the server, points the client at the proxy, and
//! injects the fault there: cut every connection, refuse new ones, add
//! latency, or hold connections half-open (bytes stop flowing, nothing is
//! closed). The server never notices anything but ordinary connections
//! opening and closing.
//!
//! ```
//! use es_test_support::FaultProxy;
//! # use std::io::{Read, Write};
//! # let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! # let upstream_addr = upstream.local_addr().unwrap().to_string();
//! let proxy = FaultProxy::start(&upstream_addr).unwrap();
//! // A client URL now goes through the proxy.
//! let url = proxy.redirect("postgres://postgres@127.0.0.1:5432/test").unwrap();
//! assert!(url.contains(&proxy.port().to_string()));
//! # let mut client = std::net::TcpStream::connect(proxy.addr()).unwrap();
//! # let (mut server, _) = upstream.accept().unwrap();
//! # client.write_all(b"ping").unwrap();
//! # let mut buf = [0u8; 4];
//! # server.read_exact(&mut buf).unwrap();
//! # assert_eq!(&buf, b"ping");
//! proxy.cut_all(); // every open connection is closed, in both directions
//! ```
//!
//! For TLS, a [`TlsProxy`] terminates TLS in front of the plain server, so a
//! test proves a client's TLS set-up without reconfiguring the server.
//!
//! Layout: [`fault_proxy`] (the fault-injecting proxy and its controls),
//! [`tls_proxy`] (the TLS-terminating proxy), [`child_roster`] (copies of the
//! test executable run as child processes that report their role),
//! [`lease_scenarios`] (the multi-process scenarios every lease store's tests
//! run), [`noisy_neighbour`] (another application's write transaction held
//! open in a database of its own on the PostgreSQL server), [`span_capture`] (a subscriber that keeps every span's fields, for
//! tests of tracing), [`text`] (text of an exact length in bytes, for tests
//! of limits), `background` (the thread and runtime each proxy serves from),
//! `redirect` (pointing a URL at a proxy), `error` ([`ProxyError`]).

#![warn(missing_docs)]

mod background;
pub mod child_roster;
mod error;
pub mod fault_proxy;
pub mod lease_scenarios;
pub mod noisy_neighbour;
mod redirect;
pub mod span_capture;
pub mod text;
pub mod tls_proxy;

pub use child_roster::Roster;
pub use error::ProxyError;
pub use fault_proxy::FaultProxy;
pub use noisy_neighbour::{NeighbourKind, NoisyNeighbour};
pub use tls_proxy::{TlsMode, TlsProxy};
