//! Keeping broker passwords out of logs, errors and `Debug` output: an AMQP
//! URL carries its credentials in the user info (`amqp://user:secret@host`),
//! and configurations that hold one print it redacted. This is the crate's
//! one redaction; it parses with the `url` crate.

use url::Url;

/// What replaces a password.
const MASK: &str = "***";

/// `url` with the password of its user info replaced by `***`.
///
/// A string that does not parse as a URL but holds an `@` (so it may hold
/// credentials) is masked whole.
///
/// ```
/// use es_amqp::redact_url;
/// assert_eq!(redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"), "amqp://guest:***@127.0.0.1:5672/%2f");
/// assert_eq!(redact_url("amqp://127.0.0.1/%2f"), "amqp://127.0.0.1/%2f");
/// ```
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some(MASK)).is_ok() {
                parsed.to_string()
            } else {
                MASK.to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        Err(_) if url.contains('@') => MASK.to_owned(),
        Err(_) => url.to_owned(),
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

    #[test]
    fn unparsable_strings_with_credentials_are_masked() {
        assert_eq!(redact_url("amqp://u:hunter2@[bad"), "***");
    }
}
