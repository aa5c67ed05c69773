//! Why a message could not be turned back into an event envelope (or an
//! event into a message): a typed error the consumer records when it
//! dead-letters such a message.

/// Why a message could not be turned back into an event envelope.
///
/// The consumer dead-letters such a message at once (retrying cannot help)
/// and records this error's text in the `x-es-failure` header.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A header the envelope needs is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but has the wrong type or an unparsable value.
    #[error("invalid header {header}: {reason}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The message has no `message_id`, or it is not a UUID.
    #[error("missing or invalid message_id (expected the event id as a UUID)")]
    MessageId,
    /// The body is not JSON.
    #[error("body is not JSON: {0}")]
    Body(#[source] serde_json::Error),
    /// A value does not fit the AMQP encoding (for example an integer above `i64::MAX`).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// The field being encoded.
        what: &'static str,
        /// Why it does not fit.
        reason: String,
    },
}
