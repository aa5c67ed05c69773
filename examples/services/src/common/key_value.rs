//! Aligned `key: value` lines, the way both CLIs print one record.
//!
//! ```text
//! uuid:   c9ed7097-05ee-4ab6-8361-3a2a3dee00e3
//! name:   Slot 1
//! status: available
//! ```

/// Formats `pairs` one per line, values aligned one space after the longest key's colon.
pub fn key_value_lines(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 1;
    pairs
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}", format!("{key}:")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::key_value_lines;

    #[test]
    fn values_line_up_after_the_longest_key() {
        let text = key_value_lines(&[
            ("id", "3".to_owned()),
            ("parking_slot_ref_no", "c9ed".to_owned()),
        ]);
        assert_eq!(text, "id:                  3\nparking_slot_ref_no: c9ed");
    }
}
