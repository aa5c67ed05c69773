//! Text of an exact length in bytes, for tests of limits: a limit in bytes
//! must hold for multi-byte characters too, so the text is made of `é`
//! (2 bytes each), with one `x` to reach an odd length.

/// Text of exactly `bytes` bytes of UTF-8, mostly two-byte characters.
///
/// ```
/// let text = es_test_support::text::of_bytes(201);
/// assert_eq!(text.len(), 201);
/// assert!(text.starts_with('é') && text.ends_with('x'));
/// ```
pub fn of_bytes(bytes: usize) -> String {
    let mut text = "é".repeat(bytes / 2);
    if bytes % 2 == 1 {
        text.push('x');
    }
    text
}
