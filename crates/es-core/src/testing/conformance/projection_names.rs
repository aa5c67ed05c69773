//! Every checkpoint store refuses the same projection names, up front.
//!
//! A projection's name keys its checkpoint row. PostgreSQL cannot store NUL
//! and limits an index row to 2,704 bytes, SQLite and memory take anything:
//! without one rule, a name would work on one backend and fail on another
//! as a backend error, retried forever.

use crate::backend::limits::MAX_NAME_BYTES;
use crate::{CheckpointStore, Position, ProjectionError};

/// Checks that `checkpoints` refuses an empty name, a NUL and a name one
/// byte over [`MAX_NAME_BYTES`] with [`ProjectionError::InvalidName`], on
/// load and on commit, and keeps a name of exactly the limit (multi-byte,
/// hard to compress).
pub async fn projection_names_are_checked<C: CheckpointStore>(checkpoints: &C) {
    let over = format!("{}x", "é".repeat(MAX_NAME_BYTES / 2));
    for name in ["", "a\0b", over.as_str()] {
        let loaded = checkpoints.load_checkpoint(name).await;
        assert!(
            matches!(loaded, Err(ProjectionError::InvalidName(_))),
            "load of a {}-byte name: {loaded:?}",
            name.len()
        );
        let tx = checkpoints.begin().await.expect("begin");
        let committed = checkpoints
            .commit(tx, name, Position::START, Position::from_sequence(1))
            .await;
        assert!(
            matches!(committed, Err(ProjectionError::InvalidName(_))),
            "commit of a {}-byte name: {committed:?}",
            name.len()
        );
    }
    let longest: String = (0..MAX_NAME_BYTES / 2)
        .map(|i| char::from_u32(0x100 + (i as u32 * 7919) % 0x6ff).unwrap_or('é'))
        .collect();
    assert_eq!(longest.len(), MAX_NAME_BYTES);
    let tx = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(tx, &longest, Position::START, Position::from_sequence(1))
        .await
        .expect("a name of exactly the limit is kept");
    assert_eq!(
        checkpoints.load_checkpoint(&longest).await.expect("load"),
        Position::from_sequence(1)
    );
}
