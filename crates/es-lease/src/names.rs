//! The rules for lease names and holders, checked by [`Leader::new`](crate::Leader::new)
//! and by every lease store.
//!
//! Names key a database row or lock, holders are shown to operators, and a
//! worker's lease usually has the worker's own name (a relay's, a
//! projection's): both follow the one rule of names, [`check_name`].

use es_core::{backend::check_name, InputField};

use crate::LeaseError;

/// The longest lease name or holder, in bytes: the limit of every name a
/// worker goes by, [`MAX_NAME_BYTES`](es_core::backend::limits::MAX_NAME_BYTES).
pub const MAX_LEASE_NAME_LEN: usize = es_core::backend::limits::MAX_NAME_BYTES;

/// Checks a lease name (for example `booking-relay`) by [`check_name`].
pub fn check_lease_name(name: &str) -> Result<(), LeaseError> {
    check("name", InputField::LeaseName, name)
}

/// Checks a lease holder (for example `booking@host-1:4242`) by [`check_name`].
pub fn check_lease_holder(holder: &str) -> Result<(), LeaseError> {
    check("holder", InputField::LeaseHolder, holder)
}

fn check(argument: &'static str, field: InputField, value: &str) -> Result<(), LeaseError> {
    check_name(field, value).map_err(|refused| LeaseError::InvalidName {
        field: argument,
        value: value.chars().take(64).collect(),
        reason: refused.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_printable_bounded_and_present() {
        assert!(check_lease_name("booking-relay").is_ok());
        assert!(check_lease_holder("booking@host-1:4242").is_ok());
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_LEASE_NAME_LEN + 1)] {
            let error = check_lease_name(bad).expect_err(bad);
            assert!(
                matches!(error, LeaseError::InvalidName { field: "name", .. }),
                "{error}"
            );
        }
        let long = check_lease_holder(&"y".repeat(500)).expect_err("too long");
        let shown = long.to_string();
        assert!(
            shown.contains("500 bytes") && shown.contains("200"),
            "{shown}"
        );
    }

    /// A name's refusals when a `Leader` is built: at the limit (multi-byte)
    /// it is accepted; one byte past it, a NUL, another control character,
    /// blank or empty is a typed error before anything runs.
    #[test]
    fn names_and_holders_are_checked_when_the_leader_is_built() {
        use es_core::InvalidInput;

        use crate::{InMemoryLeases, Leader, LeaderConfig};

        let at_limit = "é".repeat(MAX_LEASE_NAME_LEN / 2);
        let over = format!("{at_limit}x");
        let leader = |name: &str, holder: &str| {
            Leader::new(InMemoryLeases::new(), name, holder, LeaderConfig::new()).map(drop)
        };
        assert!(leader(&at_limit, &at_limit).is_ok());
        for (argument, field) in [
            ("name", InputField::LeaseName),
            ("holder", InputField::LeaseHolder),
        ] {
            let refusals = [
                (
                    over.as_str(),
                    InvalidInput::TooLong {
                        field,
                        len: MAX_LEASE_NAME_LEN + 1,
                        max: MAX_LEASE_NAME_LEN,
                    },
                ),
                ("a\0b", InvalidInput::Nul { field }),
                (
                    "\u{1b}[31mred",
                    InvalidInput::ForbiddenCharacter {
                        field,
                        character: '\u{1b}',
                    },
                ),
                (" \t ", InvalidInput::Blank { field }),
                ("", InvalidInput::Empty { field }),
            ];
            for (bad, refusal) in refusals {
                let built = if argument == "name" {
                    leader(bad, "holder")
                } else {
                    leader("relay", bad)
                };
                match built {
                    Err(LeaseError::InvalidName {
                        field: refused,
                        reason,
                        ..
                    }) => {
                        assert_eq!(refused, argument);
                        assert_eq!(reason, refusal.to_string());
                    }
                    other => panic!("{argument} {bad:?}: {other:?}"),
                }
            }
        }
    }
}
