//! Reading a global-log position from the command line.
//!
//! `es` prints positions as `COMMIT/SEQUENCE` (es-core's `Display`), so it
//! reads them back in that form; `start` (or `0`) is the position before the
//! first event.

use es_core::Position;

/// Parses `COMMIT/SEQUENCE`, `start` or `0` (clap value parser).
pub fn parse_position(text: &str) -> Result<Position, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("start") || text == "0" {
        return Ok(Position::START);
    }
    let expected = || {
        format!(
            "bad position {text:?}: expected COMMIT/SEQUENCE as es prints it (e.g. 812/40), or start"
        )
    };
    let (commit, sequence) = text.split_once('/').ok_or_else(expected)?;
    let part = |s: &str| s.trim().parse::<u64>().map_err(|_| expected());
    let position = Position::new(part(commit)?, part(sequence)?);
    // Positions are stored as signed 64-bit integers.
    if position.commit > i64::MAX as u64 || position.sequence > i64::MAX as u64 {
        return Err(format!(
            "bad position {text:?}: each part must be at most {}",
            i64::MAX
        ));
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_es_prints() {
        let position = Position::new(812, 40);
        assert_eq!(parse_position(&position.to_string()), Ok(position));
        assert_eq!(parse_position("start"), Ok(Position::START));
        assert_eq!(parse_position("0"), Ok(Position::START));
    }

    #[test]
    fn refuses_anything_else_saying_what_it_expects() {
        for bad in ["", "12", "a/b", "1/2/3", "-1/2", "99999999999999999999/1"] {
            let error = parse_position(bad).expect_err(bad);
            assert!(error.contains("bad position"), "{error}");
        }
        let error = parse_position("9223372036854775808/1").expect_err("too big");
        assert!(error.contains("at most"), "{error}");
    }
}
