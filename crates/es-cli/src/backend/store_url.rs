//! Telling a PostgreSQL store URL from a SQLite one.
//!
//! `--store` takes `postgres://...` (or `postgresql://...`) or `sqlite:PATH`;
//! anything else is refused before any connection is tried, with the URL
//! shown without its password.

use std::path::PathBuf;

use crate::error::CliError;

/// A store URL, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A PostgreSQL connection URL, as given.
    Postgres(String),
    /// A SQLite URL as given, and the database file it names.
    Sqlite {
        /// The URL (`sqlite:PATH[?options]`).
        url: String,
        /// The file.
        path: PathBuf,
    },
}

impl StoreUrl {
    /// Classifies `url`.
    pub fn parse(url: &str) -> Result<Self, CliError> {
        let refuse = |reason: &str| CliError::StoreUrl {
            url: es_postgres::redact_url(url),
            reason: reason.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(refuse("expected postgres://USER@HOST/DB or sqlite:PATH"));
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        if path.is_empty() {
            return Err(refuse("no database file after sqlite:"));
        }
        if path == ":memory:" || url.contains("mode=memory") {
            return Err(refuse(
                "an in-memory SQLite database is private to the process that opened it; give the file of the store",
            ));
        }
        Ok(StoreUrl::Sqlite {
            url: url.to_owned(),
            path: PathBuf::from(path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_kinds_apart() {
        assert_eq!(
            StoreUrl::parse("postgres://u@h/db").ok(),
            Some(StoreUrl::Postgres("postgres://u@h/db".into()))
        );
        assert_eq!(
            StoreUrl::parse("sqlite:data/events.db?mode=rw").ok(),
            Some(StoreUrl::Sqlite {
                url: "sqlite:data/events.db?mode=rw".into(),
                path: "data/events.db".into(),
            })
        );
        assert!(StoreUrl::parse("sqlite:///tmp/x.db").is_ok());
    }

    #[test]
    fn refuses_other_urls_without_showing_the_password() {
        for bad in [
            "mysql://u:hunter2@h/db",
            "sqlite:",
            "sqlite::memory:",
            "events.db",
        ] {
            let error = StoreUrl::parse(bad).expect_err(bad).to_string();
            assert!(error.starts_with("bad store URL"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
