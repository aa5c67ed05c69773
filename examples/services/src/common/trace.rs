//! The trace a command joins: the caller's W3C `traceparent` (an HTTP
//! header, or the `TRACEPARENT` environment variable of a CLI run) when it
//! is valid, else a new trace. Each command is its own step of that trace
//! (a new parent id), and the context travels with its events to every
//! consumer. A malformed value is logged and replaced: a trace is best
//! effort and never fails a command.

use es_core::TraceContext;

/// The context of one command called with `incoming` (the caller's
/// `traceparent`, if any).
pub fn for_command(incoming: Option<&str>) -> TraceContext {
    let caller = incoming.and_then(|value| match TraceContext::parse(value) {
        Ok(context) => Some(context),
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed traceparent: starting a new trace");
            None
        }
    });
    match caller {
        Some(caller) => caller.child(),
        None => TraceContext::new_root(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn joins_a_valid_caller_trace_as_a_new_step() {
        let caller = TraceContext::parse(CALLER).expect("valid");
        let ours = for_command(Some(CALLER));
        assert_eq!(ours.trace_id(), caller.trace_id());
        assert_ne!(ours.parent_id(), caller.parent_id());
    }

    #[test]
    fn starts_a_new_trace_without_a_valid_caller() {
        let caller = TraceContext::parse(CALLER).expect("valid");
        for incoming in [
            None,
            Some(""),
            Some("garbage"),
            Some(&CALLER.replace("4bf", "4BF")[..]),
        ] {
            assert_ne!(
                for_command(incoming).trace_id(),
                caller.trace_id(),
                "{incoming:?}"
            );
        }
    }
}
