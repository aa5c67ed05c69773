//! Validated PostgreSQL schema names.
//!
//! The schema name is the one piece of text this crate puts into SQL itself
//! (identifiers cannot be bind parameters). It is checked against a strict
//! pattern before it is ever formatted into a statement, and then quoted as
//! well, so a hostile name such as `x; DROP TABLE y` is refused up front.

use std::fmt;

/// The longest schema name PostgreSQL keeps without truncating (NAMEDATALEN - 1).
pub const MAX_SCHEMA_NAME_LEN: usize = 63;

/// A schema name matching `^[a-z_][a-z0-9_]{0,62}$`.
///
/// ```
/// use es_postgres::SchemaName;
/// assert_eq!(SchemaName::new("booking_events").unwrap().as_str(), "booking_events");
/// assert!(SchemaName::new("x; DROP TABLE y").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

/// Why a string was refused as a [`SchemaName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSchemaName {
    /// The name was empty.
    #[error("a schema name must not be empty")]
    Empty,
    /// The name was longer than [`MAX_SCHEMA_NAME_LEN`] bytes.
    #[error("a schema name must be at most {MAX_SCHEMA_NAME_LEN} bytes, got {0}")]
    TooLong(usize),
    /// The name contained a character outside `[a-z0-9_]` or began with a digit.
    #[error("invalid schema name {name:?}: use lower-case ASCII letters, digits and '_', not starting with a digit")]
    BadCharacter {
        /// The refused name.
        name: String,
    },
    /// The name starts with `pg_`, which PostgreSQL reserves for system schemas.
    #[error("invalid schema name {0:?}: names starting with pg_ are reserved by PostgreSQL")]
    Reserved(String),
}

impl SchemaName {
    /// The default schema of an event store: `es`.
    pub fn default_name() -> Self {
        Self("es".to_owned())
    }

    /// Checks and wraps a schema name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidSchemaName> {
        let name = name.into();
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return Err(InvalidSchemaName::Empty);
        };
        if name.len() > MAX_SCHEMA_NAME_LEN {
            return Err(InvalidSchemaName::TooLong(name.len()));
        }
        let valid_first = first.is_ascii_lowercase() || first == '_';
        let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_first || !valid_rest {
            return Err(InvalidSchemaName::BadCharacter { name });
        }
        if name.starts_with("pg_") {
            return Err(InvalidSchemaName::Reserved(name));
        }
        Ok(Self(name))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier (`"name"`), safe to format into SQL.
    pub fn quoted(&self) -> String {
        // The pattern excludes quotes, so doubling is never needed; quoting
        // still guards against reserved words such as `user` or `order`.
        format!("\"{}\"", self.0)
    }
}

impl Default for SchemaName {
    fn default() -> Self {
        Self::default_name()
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SchemaName {
    type Err = InvalidSchemaName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for SchemaName {
    type Error = InvalidSchemaName;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for SchemaName {
    type Error = InvalidSchemaName;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for ok in ["es", "_x", "booking_events_2", &"a".repeat(63)] {
            assert!(SchemaName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_hostile_and_odd_names() {
        assert!(matches!(
            SchemaName::new("x; DROP TABLE y"),
            Err(InvalidSchemaName::BadCharacter { .. })
        ));
        for bad in ["", "1abc", "Upper", "a-b", "a\"b", "é", "a b", "pg_catalog"] {
            assert!(SchemaName::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            SchemaName::new("a".repeat(64)),
            Err(InvalidSchemaName::TooLong(64))
        );
    }
}
