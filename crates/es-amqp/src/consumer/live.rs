//! The consumer's connection and subscription, closed in the right order
//! when the consumer's task is dropped (see [`Live`]).

/// A connection and its consumer, closed in the right order when dropped.
///
/// When the consumer's task is aborted, lapin would cancel the dropped
/// consumer (`basic.cancel`) before the channel closes. The broker would
/// then hand the queue to the next consumer while this one's unacknowledged
/// messages were still out, and return them only at the close — behind
/// later messages, breaking per-stream order. So on drop the connection is
/// closed first (which returns every unacknowledged message at once) and the
/// consumer dropped after that.
pub(super) struct Live {
    pub(super) connection: Option<lapin::Connection>,
    pub(super) deliveries: Option<lapin::Consumer>,
}

impl Drop for Live {
    fn drop(&mut self) {
        let (Some(connection), deliveries) = (self.connection.take(), self.deliveries.take())
        else {
            return;
        };
        if !connection.status().connected() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = connection.close(200, "consumer stopped".into()).await;
                drop(deliveries);
            });
        }
    }
}
