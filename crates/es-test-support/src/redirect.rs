//! Pointing a client's URL at a proxy.
//!
//! Both proxies hand tests a URL to give their client; the rewrite (host and
//! port replaced, everything else kept) lives here once.

use crate::ProxyError;

/// `url` with its host replaced by 127.0.0.1 and its port by `port`.
pub(crate) fn redirect(url: &str, port: u16) -> Result<String, ProxyError> {
    let mut parsed = url::Url::parse(url).map_err(|e| ProxyError::Url(e.to_string()))?;
    if parsed.host().is_none() {
        return Err(ProxyError::Url("the URL has no host".into()));
    }
    parsed
        .set_host(Some("127.0.0.1"))
        .map_err(|e| ProxyError::Url(e.to_string()))?;
    parsed
        .set_port(Some(port))
        .map_err(|()| ProxyError::Url("the URL cannot carry a port".into()))?;
    Ok(parsed.into())
}
