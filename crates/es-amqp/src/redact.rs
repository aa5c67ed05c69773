//! Keeping broker passwords out of logs, errors and `Debug` output: an AMQP
//! URL carries its credentials in the user info (`amqp://user:secret@host`),
//! and configurations that hold one print it redacted.

/// `url` with the password of its user info replaced by `***`.
///
/// ```
/// use es_amqp::redact_url;
/// assert_eq!(redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"), "amqp://guest:***@127.0.0.1:5672/%2f");
/// assert_eq!(redact_url("amqp://127.0.0.1/%2f"), "amqp://127.0.0.1/%2f");
/// ```
pub fn redact_url(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    // The last '@' of the authority ends the user info (a password may hold '@' unescaped).
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..authority_start], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden() {
        for url in [
            "amqp://guest:hunter2@127.0.0.1:5672/%2f",
            "amqps://u:hun@ter2@broker/vhost?heartbeat=10",
            "amqp://u:hunter2@[::1]",
        ] {
            let shown = redact_url(url);
            assert!(
                !shown.contains("hunter2") && !shown.contains("ter2"),
                "{shown}"
            );
            assert!(shown.contains(":***@"), "{shown}");
        }
    }

    #[test]
    fn urls_without_a_password_are_unchanged() {
        for url in ["amqp://127.0.0.1/%2f", "amqp://guest@host/x", "not a url"] {
            assert_eq!(redact_url(url), url);
        }
    }
}
