//! A proxy's own thread and runtime.
//!
//! Each proxy serves from a thread with its own current-thread Tokio runtime,
//! so it works the same under synchronous tests and any async runtime, and a
//! test that blocks its own runtime cannot stall it. Dropping the handle
//! stops the server, closing the listener and every connection.

use std::{future::Future, net::TcpListener as StdTcpListener, thread};

use tokio::{net::TcpListener, sync::oneshot};

use crate::ProxyError;

/// The running server thread of one proxy; dropping it stops the server.
pub(crate) struct Background {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// Binds 127.0.0.1 on a free port and runs `serve(listener)` on a new
    /// thread until the handle is dropped. Returns the handle and the port.
    pub(crate) fn spawn<F, Fut>(name: &str, serve: F) -> Result<(Self, u16), ProxyError>
    where
        F: FnOnce(TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let listener = StdTcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = thread::Builder::new()
            .name(format!("{name}-{port}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = serve(listener) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        let background = Self {
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        Ok((background, port))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
