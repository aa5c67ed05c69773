//! An in-memory read model with its checkpoints: a [`CheckpointStore`] whose
//! transaction is a working copy of the model.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;

use crate::backend::check_checkpoint;
use crate::{CheckpointStore, Position, ProjectionError};

/// An in-memory read model of type `T` with its checkpoints.
///
/// A transaction is a working copy of `T`; committing swaps it in together
/// with the checkpoint, so a failed batch leaves no trace.
pub struct InMemoryProjectionStore<T> {
    inner: Arc<Mutex<(T, HashMap<String, Position>)>>,
}

impl<T> Clone for InMemoryProjectionStore<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Default> Default for InMemoryProjectionStore<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new((T::default(), HashMap::new()))),
        }
    }
}

impl<T: Clone> InMemoryProjectionStore<T> {
    /// A store starting from `T::default()`.
    pub fn new() -> Self
    where
        T: Default,
    {
        Self::default()
    }

    /// A copy of the committed read model.
    pub fn snapshot(&self) -> T {
        self.lock().0.clone()
    }

    fn lock(&self) -> MutexGuard<'_, (T, HashMap<String, Position>)> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl<T: Clone + Send + Sync + 'static> CheckpointStore for InMemoryProjectionStore<T> {
    type Transaction = T;

    async fn begin(&self) -> Result<T, ProjectionError> {
        Ok(self.lock().0.clone())
    }

    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError> {
        crate::backend::check_projection_name(projection)?;
        Ok(self
            .lock()
            .1
            .get(projection)
            .copied()
            .unwrap_or(Position::START))
    }

    async fn commit(
        &self,
        tx: T,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        crate::backend::check_projection_name(projection)?;
        let mut inner = self.lock();
        let stored = inner.1.get(projection).copied().unwrap_or(Position::START);
        check_checkpoint(projection, previous, stored)?;
        inner.0 = tx;
        inner.1.insert(projection.to_owned(), checkpoint);
        Ok(())
    }
}
