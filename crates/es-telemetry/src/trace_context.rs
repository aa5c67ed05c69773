//! The W3C trace context (`traceparent`) an event carries, so that the spans
//! of whoever handles the event later (a projection, a consumer in another
//! process) join the trace of the command that wrote it.
//!
//! Only the `traceparent` value is kept (<https://www.w3.org/TR/trace-context/>):
//! `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. It is parsed
//! strictly — lower-case hex only, neither id all zeros, version `ff`
//! refused — and parsing never panics, whatever the input: a bad header is a
//! [`TraceContextError`], which callers on the receiving side log and ignore
//! (a trace is best effort; it must never fail an event).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The length of a version-00 `traceparent` value.
const LEN: usize = 55;
/// The flag bit that says the caller recorded (sampled) its span.
const SAMPLED: u8 = 0x01;

/// A W3C `traceparent`: trace id, parent (span) id and trace flags.
///
/// ```
/// use es_telemetry::TraceContext;
///
/// let incoming: TraceContext = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
///     .parse()
///     .unwrap();
/// assert_eq!(incoming.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(incoming.parent_id_hex(), "00f067aa0ba902b7");
/// assert!(incoming.sampled());
///
/// // This service's own step of the same trace: same trace id, new parent id.
/// let ours = incoming.child();
/// assert_eq!(ours.trace_id(), incoming.trace_id());
/// assert_ne!(ours.parent_id(), incoming.parent_id());
///
/// // Hostile input is an error, never a panic.
/// assert!("00-00000000000000000000000000000000-00f067aa0ba902b7-01"
///     .parse::<TraceContext>()
///     .is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

/// Why a `traceparent` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceContextError {
    /// Not 55 bytes (version 00), or a later version without the `-` after
    /// its 55 bytes.
    #[error("a traceparent is 55 characters (version 00), got {0}")]
    Length(usize),
    /// A field is not lower-case hex of its length, or a separator is not `-`.
    #[error("malformed traceparent {field}: expected {expected} lower-case hex digits")]
    Malformed {
        /// `version`, `trace-id`, `parent-id` or `flags`.
        field: &'static str,
        /// How many hex digits the field has.
        expected: usize,
    },
    /// Version `ff`, which the specification forbids.
    #[error("traceparent version ff is invalid")]
    ForbiddenVersion,
    /// An all-zero trace id or parent id, which the specification forbids.
    #[error("traceparent {0} is all zeros")]
    AllZero(&'static str),
}

impl TraceContext {
    /// A context from its parts, refusing all-zero ids.
    pub fn new(
        trace_id: [u8; 16],
        parent_id: [u8; 8],
        flags: u8,
    ) -> Result<Self, TraceContextError> {
        if trace_id == [0; 16] {
            return Err(TraceContextError::AllZero("trace-id"));
        }
        if parent_id == [0; 8] {
            return Err(TraceContextError::AllZero("parent-id"));
        }
        Ok(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The start of a new trace: random trace and parent ids, sampled.
    pub fn new_root() -> Self {
        Self {
            trace_id: random_id(),
            parent_id: random_span_id(),
            flags: SAMPLED,
        }
    }

    /// The next step of the same trace: same trace id and flags, a new
    /// random parent id (this step's span id).
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            parent_id: random_span_id(),
            ..*self
        }
    }

    /// Parses a `traceparent` header value.
    ///
    /// Version `00` must be exactly 55 characters. A later version (not
    /// `ff`) is read by its first 55 characters when it has exactly those
    /// or a `-` after them, as the specification asks, and is formatted back
    /// as version `00`.
    pub fn parse(value: &str) -> Result<Self, TraceContextError> {
        let bytes = value.as_bytes();
        if bytes.len() < LEN {
            return Err(TraceContextError::Length(bytes.len()));
        }
        let mut version = [0u8; 1];
        hex_into(&bytes[0..2], &mut version, "version")?;
        match version[0] {
            0xff => return Err(TraceContextError::ForbiddenVersion),
            0x00 if bytes.len() != LEN => return Err(TraceContextError::Length(bytes.len())),
            _ if bytes.len() > LEN && bytes[LEN] != b'-' => {
                return Err(TraceContextError::Length(bytes.len()))
            }
            _ => {}
        }
        for (at, field, expected) in [(2, "trace-id", 32), (35, "parent-id", 16), (52, "flags", 2)]
        {
            if bytes[at] != b'-' {
                return Err(TraceContextError::Malformed { field, expected });
            }
        }
        let mut trace_id = [0u8; 16];
        let mut parent_id = [0u8; 8];
        let mut flags = [0u8; 1];
        hex_into(&bytes[3..35], &mut trace_id, "trace-id")?;
        hex_into(&bytes[36..52], &mut parent_id, "parent-id")?;
        hex_into(&bytes[53..55], &mut flags, "flags")?;
        Self::new(trace_id, parent_id, flags[0])
    }

    /// The trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The parent id: the span id of the step that handed this context on.
    pub fn parent_id(&self) -> [u8; 8] {
        self.parent_id
    }

    /// The trace flags.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the caller may have recorded its span (flag `01`).
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The trace id as 32 lower-case hex digits (for span fields).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The parent id as 16 lower-case hex digits (for span fields).
    pub fn parent_id_hex(&self) -> String {
        hex(&self.parent_id)
    }
}

/// 16 random bytes, never all zero.
fn random_id() -> [u8; 16] {
    loop {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        if bytes != [0; 16] {
            return bytes;
        }
    }
}

/// 8 random bytes, never all zero (the random tail of a v4 UUID).
fn random_span_id() -> [u8; 8] {
    loop {
        let mut id = [0u8; 8];
        id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[8..]);
        if id != [0; 8] {
            return id;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Decodes lower-case hex `digits` into `out` (`digits` is twice as long).
fn hex_into(digits: &[u8], out: &mut [u8], field: &'static str) -> Result<(), TraceContextError> {
    let malformed = TraceContextError::Malformed {
        field,
        expected: out.len() * 2,
    };
    let nibble = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    };
    if digits.len() != out.len() * 2 {
        return Err(malformed);
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => *byte = high << 4 | low,
            _ => return Err(malformed),
        }
    }
    Ok(())
}

impl fmt::Display for TraceContext {
    /// The `traceparent` header value (version `00`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.parent_id),
            self.flags
        )
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceContext({self})")
    }
}

impl FromStr for TraceContext {
    type Err = TraceContextError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl Serialize for TraceContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TraceContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_back_verbatim() {
        let context = TraceContext::parse(VALID).expect("valid");
        assert_eq!(context.to_string(), VALID);
        assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.parent_id_hex(), "00f067aa0ba902b7");
        assert_eq!(context.flags(), 1);
        assert!(context.sampled());
        let unsampled = TraceContext::parse(&VALID.replace("-01", "-00")).expect("valid");
        assert!(!unsampled.sampled());
        assert_eq!(unsampled.to_string(), VALID.replace("-01", "-00"));
    }

    #[test]
    fn refuses_hostile_input() {
        let long = format!("{VALID}0");
        let cases: Vec<(String, TraceContextError)> = vec![
            (String::new(), TraceContextError::Length(0)),
            (VALID[..54].to_owned(), TraceContextError::Length(54)),
            (long, TraceContextError::Length(56)),
            (format!("{VALID}-extra"), TraceContextError::Length(61)),
            (
                VALID.replace("4bf92f", "4BF92F"),
                TraceContextError::Malformed {
                    field: "trace-id",
                    expected: 32,
                },
            ),
            (
                VALID.replace("00f067", "00F067"),
                TraceContextError::Malformed {
                    field: "parent-id",
                    expected: 16,
                },
            ),
            (
                VALID.replacen("00-", "0A-", 1),
                TraceContextError::Malformed {
                    field: "version",
                    expected: 2,
                },
            ),
            (
                VALID.replace("-01", "-0g"),
                TraceContextError::Malformed {
                    field: "flags",
                    expected: 2,
                },
            ),
            (
                VALID.replacen("00-", "ff-", 1),
                TraceContextError::ForbiddenVersion,
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_owned(),
                TraceContextError::AllZero("trace-id"),
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01".to_owned(),
                TraceContextError::AllZero("parent-id"),
            ),
            (
                VALID.replacen('-', "_", 1),
                TraceContextError::Malformed {
                    field: "trace-id",
                    expected: 32,
                },
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7+01".to_owned(),
                TraceContextError::Malformed {
                    field: "flags",
                    expected: 2,
                },
            ),
            (
                // Multi-byte characters where hex digits belong: 55 bytes.
                format!("00-{}-00f067aa0ba902b7-01", "é".repeat(16)),
                TraceContextError::Malformed {
                    field: "trace-id",
                    expected: 32,
                },
            ),
            (
                " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0".to_owned(),
                TraceContextError::Malformed {
                    field: "version",
                    expected: 2,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(TraceContext::parse(&input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn reads_a_later_version_by_its_first_55_characters() {
        let later = VALID.replacen("00-", "01-", 1);
        assert_eq!(TraceContext::parse(&later).expect("v01").to_string(), VALID);
        let extended = format!("{later}-what-comes-later");
        assert_eq!(
            TraceContext::parse(&extended).expect("v01+").to_string(),
            VALID
        );
    }

    #[test]
    fn never_panics_on_any_input() {
        // Every prefix and every single-byte corruption of a valid value,
        // and random byte strings from a fixed seed (as lossy UTF-8).
        for end in 0..=VALID.len() {
            let _ = TraceContext::parse(&VALID[..end]);
        }
        for at in 0..VALID.len() {
            for byte in 0u8..=127 {
                let mut bytes = VALID.as_bytes().to_vec();
                bytes[at] = byte;
                let text = String::from_utf8_lossy(&bytes);
                if let Ok(context) = TraceContext::parse(&text) {
                    assert_eq!(TraceContext::parse(&context.to_string()), Ok(context));
                }
            }
        }
        const ALPHABET: &[u8] = b"0123456789abcdef-F\xc3\xa9";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let len = (state % 70) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Mostly hex digits and dashes, so deep branches are hit.
                    ALPHABET[(state % ALPHABET.len() as u64) as usize]
                })
                .collect();
            let _ = TraceContext::parse(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn new_roots_and_children_are_valid_and_distinct() {
        let root = TraceContext::new_root();
        assert!(root.sampled());
        assert_eq!(TraceContext::parse(&root.to_string()), Ok(root));
        let child = root.child();
        assert_eq!(child.trace_id(), root.trace_id());
        assert_ne!(child.parent_id(), root.parent_id());
        assert_ne!(TraceContext::new_root().trace_id(), root.trace_id());
    }

    #[test]
    fn serializes_as_the_header_value() {
        let context = TraceContext::parse(VALID).expect("valid");
        let json = serde_json::to_value(context).expect("serializes");
        assert_eq!(json, serde_json::json!(VALID));
        let back: TraceContext = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, context);
        assert!(serde_json::from_value::<TraceContext>(serde_json::json!("00-zz")).is_err());
    }
}
