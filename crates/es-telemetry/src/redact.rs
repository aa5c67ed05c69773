//! Keeping passwords out of logs, errors and `Debug` output.
//!
//! Every backend is configured by a connection URL (`postgres://`, `amqp://`,
//! `amqps://`) that may carry a password in its user info (`user:secret@`)
//! or, for PostgreSQL, in a `password=` query parameter, and every backend
//! prints its URL in errors and `Debug` output. This is the one place that
//! hides it; es-postgres and es-amqp re-export it.

use url::Url;

/// What replaces a password.
const MASK: &str = "***";

/// `url` with its password replaced by `***`, both in the user info
/// (`user:secret@`) and in a `password=` query parameter (any case); the rest
/// of the URL is kept as written.
///
/// A string that does not parse as a URL but holds an `@` (so it may hold
/// credentials) is masked whole.
///
/// ```
/// use es_telemetry::redact_url;
/// assert_eq!(redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"), "amqp://guest:***@127.0.0.1:5672/%2f");
/// assert_eq!(redact_url("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
/// assert_eq!(redact_url("postgres://h/db?user=u&password=x&sslmode=require"),
///            "postgres://h/db?user=u&password=***&sslmode=require");
/// assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
/// assert_eq!(redact_url("not a url"), "not a url");
/// assert_eq!(redact_url("u:secret@nowhere"), "***");
/// ```
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return if url.contains('@') {
            MASK.to_owned()
        } else {
            url.to_owned()
        };
    };
    if parsed.cannot_be_a_base() && url.contains('@') {
        // `user:secret@host` parses as scheme `user` with an opaque path.
        return MASK.to_owned();
    }
    let mut changed = false;
    if parsed.password().is_some() {
        if parsed.set_password(Some(MASK)).is_err() {
            return MASK.to_owned();
        }
        changed = true;
    }
    if let Some(query) = parsed.query() {
        let masked = mask_password_parameters(query);
        if masked != query {
            parsed.set_query(Some(&masked));
            changed = true;
        }
    }
    if changed {
        parsed.into()
    } else {
        url.to_owned()
    }
}

/// Every password `url` carries, as written and percent-decoded: in the user
/// info and in `password=` query parameters (any case). For scrubbing text a
/// driver may have echoed (an error message) rather than the URL itself;
/// empty when `url` does not parse.
///
/// ```
/// use es_telemetry::url_passwords;
/// let found = url_passwords("postgres://app:s%40cret@db/x?password=hunter2");
/// assert!(found.contains(&"s%40cret".to_owned()) && found.contains(&"s@cret".to_owned()));
/// assert!(found.contains(&"hunter2".to_owned()));
/// assert!(url_passwords("postgres://app@db/x").is_empty());
/// ```
pub fn url_passwords(url: &str) -> Vec<String> {
    let Ok(parsed) = Url::parse(url) else {
        return Vec::new();
    };
    let mut found: Vec<String> = parsed.password().map(str::to_owned).into_iter().collect();
    if let Some(query) = parsed.query() {
        found.extend(
            query
                .split('&')
                .filter_map(|pair| match pair.split_once('=') {
                    Some((key, value)) if key.eq_ignore_ascii_case("password") => {
                        Some(value.to_owned())
                    }
                    _ => None,
                }),
        );
    }
    let decoded: Vec<String> = found
        .iter()
        .filter_map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8()
                .ok()
                .map(|d| d.into_owned())
        })
        .collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found.sort();
    found.dedup();
    found
}

/// `query` with the value of every `password=` parameter replaced.
fn mask_password_parameters(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_show_and_the_rest_is_kept() {
        for (url, shown) in [
            (
                "amqps://u:pw@h:5671/v?heartbeat=5",
                "amqps://u:***@h:5671/v?heartbeat=5",
            ),
            (
                "postgres://u:pw@h/db?PASSWORD=pw#x",
                "postgres://u:***@h/db?PASSWORD=***#x",
            ),
            ("postgres://h:5432/db", "postgres://h:5432/db"),
            ("sqlite:/tmp/x.db", "sqlite:/tmp/x.db"),
        ] {
            assert_eq!(redact_url(url), shown);
            assert!(!redact_url(url).contains("pw"), "{url}");
        }
    }

    #[test]
    fn broker_passwords_are_hidden() {
        for url in [
            "amqp://guest:hunter2@127.0.0.1:5672/%2f",
            "amqps://u:hun@ter2@broker/vhost?heartbeat=10",
            "amqp://u:hunter2@[::1]",
            "postgresql://user:hunter2@[::1]:5432/db",
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
