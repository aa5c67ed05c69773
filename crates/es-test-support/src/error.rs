//! Why a proxy could not start or a URL could not be pointed at it.

use std::fmt;

/// Why a proxy could not be started or a URL not redirected.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// Binding the local listener or starting the proxy's thread failed.
    Io(std::io::Error),
    /// The URL given to a proxy's `redirect` does not parse or has no host.
    Url(String),
    /// The TLS proxy's certificate or server configuration could not be made.
    Tls(String),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::Io(e) => write!(f, "test proxy: {e}"),
            ProxyError::Url(why) => write!(f, "test proxy: cannot redirect URL: {why}"),
            ProxyError::Tls(why) => write!(f, "test proxy: TLS set-up failed: {why}"),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProxyError::Io(e) => Some(e),
            ProxyError::Url(_) | ProxyError::Tls(_) => None,
        }
    }
}

impl From<std::io::Error> for ProxyError {
    fn from(e: std::io::Error) -> Self {
        ProxyError::Io(e)
    }
}
