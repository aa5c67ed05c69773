//! Embedded mode keeps every SQLite file of both services in one directory.
//!
//! Booking writes its event store and its projection there; Parking keeps its
//! slots there and follows Booking's event store file directly. The default
//! is `./.es-data`; `--data-dir` or `ES_DATA_DIR` move it.

use std::path::{Path, PathBuf};

/// The data directory when nothing else is said.
pub const DEFAULT_DATA_DIR: &str = ".es-data";
/// Booking's event store.
pub const BOOKING_EVENTS_FILE: &str = "booking-events.db";
/// Booking's projection (the "projector database").
pub const BOOKING_PROJECTION_FILE: &str = "booking-projection.db";
/// The leases of `booking serve`'s relay and projector (embedded instances
/// on one data directory).
pub const BOOKING_LEASES_FILE: &str = "booking-leases.db";
/// Parking's slots, and its checkpoint in Booking's log.
pub const PARKING_FILE: &str = "parking.db";

/// The data directory could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the data directory {}: {source}", path.display())]
pub struct DataDirError {
    /// The directory.
    pub path: PathBuf,
    /// What the file system said.
    #[source]
    pub source: std::io::Error,
}

/// Creates `dir` if needed and returns the path of `file` inside it.
pub fn data_file(dir: &Path, file: &str) -> Result<PathBuf, DataDirError> {
    std::fs::create_dir_all(dir).map_err(|source| DataDirError {
        path: dir.to_owned(),
        source,
    })?;
    Ok(dir.join(file))
}
