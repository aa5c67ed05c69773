//! A TLS-terminating proxy, so tests can prove TLS connections without
//! reconfiguring the server.
//!
//! Turning on TLS in a developer's PostgreSQL or RabbitMQ means editing their
//! server configuration. Instead, a test starts a [`TlsProxy`] in front of the
//! plain server: the client speaks TLS to the proxy (with a certificate made
//! for this proxy alone, whose PEM the test hands to the client as its trusted
//! root), and the proxy forwards the decrypted bytes to the server. What the
//! test proves is the client's side: that it negotiates TLS, verifies the
//! certificate it was told to trust, and then works as usual.
//!
//! PostgreSQL negotiates TLS inside its own protocol (the client sends an
//! `SSLRequest` and the server answers `S` before the handshake); AMQP over
//! TLS (`amqps://`) starts the handshake with the first byte. [`TlsMode`]
//! picks one.

use std::{net::SocketAddr, path::Path, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    TlsAcceptor,
};

use crate::{background::Background, ProxyError};

/// The first 8 bytes of a PostgreSQL `SSLRequest`: length 8, code 80877103.
const POSTGRES_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// How the client starts TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// The handshake starts with the first byte (AMQP over TLS, `amqps://`).
    Direct,
    /// PostgreSQL's `SSLRequest`, answered `S`, then the handshake
    /// (`sslmode=require` and stricter).
    PostgresSslRequest,
}

/// A TLS-terminating proxy in front of a plain server.
///
/// ```
/// use es_test_support::{TlsMode, TlsProxy};
/// let proxy = TlsProxy::start("127.0.0.1:5672", TlsMode::Direct).unwrap();
/// let url = proxy.redirect("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
/// assert!(url.starts_with("amqp://")); // the caller switches the scheme to amqps
/// assert!(proxy.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub struct TlsProxy {
    addr: SocketAddr,
    ca_pem: String,
    _server: Background,
}

impl std::fmt::Debug for TlsProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TlsProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that accepts TLS as `mode`
    /// says and forwards plain bytes to `upstream` (`host:port`).
    ///
    /// Its certificate is self-signed for `localhost` and `127.0.0.1`, made
    /// anew for each proxy; [`ca_pem`](TlsProxy::ca_pem) is what a client
    /// must trust.
    pub fn start(upstream: &str, mode: TlsMode) -> Result<Self, ProxyError> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(|e| ProxyError::Tls(e.to_string()))?;
        let ca_pem = certified.cert.pem();
        let key = PrivateKeyDer::from_pem_slice(certified.signing_key.serialize_pem().as_bytes())
            .map_err(|e| ProxyError::Tls(e.to_string()))?;
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ProxyError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|e| ProxyError::Tls(e.to_string()))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let upstream = upstream.to_owned();
        let (server, port) = Background::spawn("tls-proxy", move |listener| {
            accept_loop(listener, upstream, acceptor, mode)
        })?;
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ca_pem,
            _server: server,
        })
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The proxy's certificate in PEM, to give the client as its trusted root.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes [`ca_pem`](TlsProxy::ca_pem) to `path` (for clients configured
    /// by a file, such as `sslrootcert=` or an examples' environment variable).
    pub fn write_ca_pem(&self, path: &Path) -> Result<(), ProxyError> {
        std::fs::write(path, &self.ca_pem)?;
        Ok(())
    }

    /// `url` with host and port replaced by the proxy's; the scheme and the
    /// rest are kept (switch `amqp` to `amqps`, or add `sslmode=`, yourself).
    pub fn redirect(&self, url: &str) -> Result<String, ProxyError> {
        crate::redirect::redirect(url, self.port())
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    acceptor: TlsAcceptor,
    mode: TlsMode,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve(client, upstream.clone(), acceptor.clone(), mode));
    }
}

/// Terminates TLS on one client connection and forwards it to `upstream`.
async fn serve(mut client: TcpStream, upstream: String, acceptor: TlsAcceptor, mode: TlsMode) {
    if mode == TlsMode::PostgresSslRequest {
        let mut request = [0u8; 8];
        if client.read_exact(&mut request).await.is_err() || request != POSTGRES_SSL_REQUEST {
            // A client that does not ask for TLS is refused: the test is
            // about TLS, a plain connection must not pass silently.
            return;
        }
        if client.write_all(b"S").await.is_err() {
            return;
        }
    }
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener as StdTcpListener;

    use tokio_rustls::{rustls::pki_types::ServerName, TlsConnector};

    use super::*;

    /// An echo server on a free port; returns its address.
    fn echo_server() -> String {
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
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

    fn connector(ca_pem: &str) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }

    /// Connects to the proxy (after `preamble`, if any), does the TLS
    /// handshake trusting the proxy's certificate, and echoes `bytes`.
    async fn echo_over_tls(proxy: &TlsProxy, postgres: bool, bytes: &[u8]) -> Vec<u8> {
        let mut tcp = TcpStream::connect(proxy.addr()).await.unwrap();
        if postgres {
            tcp.write_all(&POSTGRES_SSL_REQUEST).await.unwrap();
            let mut answer = [0u8; 1];
            tcp.read_exact(&mut answer).await.unwrap();
            assert_eq!(&answer, b"S");
        }
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector(proxy.ca_pem()).connect(name, tcp).await.unwrap();
        tls.write_all(bytes).await.unwrap();
        let mut back = vec![0u8; bytes.len()];
        tls.read_exact(&mut back).await.unwrap();
        back
    }

    #[tokio::test]
    async fn direct_tls_is_terminated_and_forwarded() {
        let proxy = TlsProxy::start(&echo_server(), TlsMode::Direct).unwrap();
        assert_eq!(echo_over_tls(&proxy, false, b"amqps").await, b"amqps");
    }

    #[tokio::test]
    async fn postgres_ssl_request_is_answered_then_tls_is_terminated() {
        let proxy = TlsProxy::start(&echo_server(), TlsMode::PostgresSslRequest).unwrap();
        assert_eq!(echo_over_tls(&proxy, true, b"startup").await, b"startup");
    }

    #[tokio::test]
    async fn a_client_that_does_not_trust_the_certificate_fails() {
        let proxy = TlsProxy::start(&echo_server(), TlsMode::Direct).unwrap();
        let other = TlsProxy::start(&echo_server(), TlsMode::Direct).unwrap();
        let tcp = TcpStream::connect(proxy.addr()).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let result = connector(other.ca_pem()).connect(name, tcp).await;
        assert!(
            result.is_err(),
            "a certificate from elsewhere must be refused"
        );
    }
}
