//! The rules for lease names and holders, checked by every lease store.
//!
//! Names key a database row or lock, holders are shown to operators: both
//! must be non-empty, bounded and printable.

use crate::LeaseError;

/// The longest lease name or holder, in bytes.
pub const MAX_LEASE_NAME_LEN: usize = 200;

/// Checks a lease name (for example `booking-relay`).
pub fn check_lease_name(name: &str) -> Result<(), LeaseError> {
    check("name", name)
}

/// Checks a lease holder (for example `booking@host-1:4242`).
pub fn check_lease_holder(holder: &str) -> Result<(), LeaseError> {
    check("holder", holder)
}

fn check(field: &'static str, value: &str) -> Result<(), LeaseError> {
    let reason = if value.trim().is_empty() {
        "must not be empty or blank".to_owned()
    } else if value.len() > MAX_LEASE_NAME_LEN {
        format!(
            "is {} bytes long, the limit is {MAX_LEASE_NAME_LEN}",
            value.len()
        )
    } else if value.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(LeaseError::InvalidName {
        field,
        value: value.chars().take(64).collect(),
        reason,
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
}
