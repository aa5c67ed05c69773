//! The Parking CLI: its commands, how it picks its database, and what it prints.
//!
//! Embedded (no environment set): slots live in `parking.db` in the data
//! directory, and before each command Parking catches up with Booking's event
//! log in the same directory, so a slot already shows `blocked` right after
//! `booking create_booking_request`. Server mode (`PARKING_DATABASE_URL`):
//! booking events arrive over RabbitMQ through `parking serve`.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use es_core::{ProjectionError, ProjectionRunner};
use es_sqlite::{SqliteCheckpoints, SqliteError, SqliteStore};
use uuid::Uuid;

use super::{
    booking_follower::BookingFollower,
    db, serve,
    slot::{ParkingSlot, SlotStatus},
};
use crate::common::{
    data_dir::{self, DataDirError, BOOKING_EVENTS_FILE, PARKING_FILE},
    key_value,
    service_main::ServiceCli,
    uuid_arg::parse_uuid,
};

/// The Parking service of the event-sourcing example.
///
/// Keeps parking slots and follows Booking's events: a booking request blocks
/// an available slot, a reservation reserves it. Runs embedded on SQLite files
/// unless PARKING_DATABASE_URL is set (server mode, fed by `parking serve`).
#[derive(Debug, Parser)]
#[command(name = "parking", version)]
pub struct Cli {
    /// Where the database is.
    #[command(flatten)]
    pub stores: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where Parking's database is.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Directory of the SQLite files (embedded mode).
    #[arg(long, global = true, env = "ES_DATA_DIR", default_value = data_dir::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Parking's SQLite database URL (sqlite:path); setting it selects server mode.
    #[arg(
        long,
        global = true,
        env = "PARKING_DATABASE_URL",
        hide_env_values = true
    )]
    pub parking_database_url: Option<String>,
}

/// The Parking commands (the seed's names; kebab-case works too).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a parking slot; prints it.
    #[command(name = "create_parking_slot", visible_alias = "create-parking-slot")]
    CreateParkingSlot {
        /// The slot's name, e.g. 'Slot 1'.
        name: String,
        /// Its initial status.
        #[arg(long, value_enum, default_value_t = SlotStatus::Available)]
        status: SlotStatus,
    },
    /// Show a parking slot.
    #[command(name = "parking_slot_details", visible_alias = "parking-slot-details")]
    ParkingSlotDetails {
        /// The slot's uuid.
        #[arg(value_parser = parse_uuid)]
        uuid: Uuid,
    },
    /// List every parking slot, one per line.
    #[command(name = "parking_slot_list", visible_alias = "parking-slot-list")]
    ParkingSlotList,
    /// Server mode: consume booking events from RabbitMQ; answer GET /health,
    /// /ready, /metrics, /slots and /slots/{id}.
    Serve(serve::ServeArgs),
}

/// Why the Parking CLI failed.
#[derive(Debug, thiserror::Error)]
pub enum ParkingAppError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A SQLite database could not be opened.
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// Parking's database failed.
    #[error("parking database: {0}")]
    Database(#[from] sqlx::Error),
    /// Following Booking's events failed.
    #[error("following booking events: {0}")]
    Follow(#[from] ProjectionError),
    /// No slot has this id.
    #[error("no parking slot {0}")]
    NotFound(Uuid),
    /// A slot needs a name.
    #[error("a parking slot needs a non-empty name")]
    EmptyName,
    /// Parking keeps its rows in SQLite.
    #[error("PARKING_DATABASE_URL must be a SQLite URL such as sqlite:parking.db, not {0:?}")]
    NotSqlite(String),
    /// `serve` was asked for without server-mode settings.
    #[error("serve runs in server mode: set PARKING_DATABASE_URL (and AMQP_URL)")]
    ServeNeedsServerMode,
    /// `serve` stopped on an error.
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
}

impl ServiceCli for Cli {
    type Error = ParkingAppError;

    fn serves(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }

    async fn run(self) -> Result<String, ParkingAppError> {
        run(self).await
    }
}

/// Runs one command and returns what it prints.
pub async fn run(cli: Cli) -> Result<String, ParkingAppError> {
    let embedded = cli.stores.parking_database_url.is_none();
    if embedded && matches!(cli.command, Command::Serve(_)) {
        return Err(ParkingAppError::ServeNeedsServerMode);
    }
    let db = match &cli.stores.parking_database_url {
        Some(url) if !url.starts_with("sqlite:") => {
            return Err(ParkingAppError::NotSqlite(url.clone()))
        }
        Some(url) => SqliteCheckpoints::connect(url).await?,
        None => {
            SqliteCheckpoints::open(data_dir::data_file(&cli.stores.data_dir, PARKING_FILE)?)
                .await?
        }
    };
    db::create_tables(db.pool()).await?;
    if embedded {
        follow_bookings(&cli.stores.data_dir, &db).await?;
    }
    let pool = db.pool();
    Ok(match cli.command {
        Command::CreateParkingSlot { name, status } => {
            if name.trim().is_empty() {
                return Err(ParkingAppError::EmptyName);
            }
            let slot = ParkingSlot {
                uuid: Uuid::new_v4(),
                name,
                status,
            };
            db::insert_slot(pool, &slot).await?;
            details(&slot)
        }
        Command::ParkingSlotDetails { uuid } => {
            let mut conn = pool.acquire().await?;
            let slot = db::slot(&mut conn, uuid)
                .await?
                .ok_or(ParkingAppError::NotFound(uuid))?;
            details(&slot)
        }
        Command::Serve(args) => {
            serve::serve(pool.clone(), &args).await?;
            String::new()
        }
        Command::ParkingSlotList => db::slots(pool)
            .await?
            .iter()
            .map(|slot| format!("{}  {:<9}  {}", slot.uuid, slot.status, slot.name))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// Embedded mode: applies what Booking recorded in its event log since the
/// last command (the checkpoint lives in Parking's database, committed with
/// the slot changes).
async fn follow_bookings(data_dir: &Path, db: &SqliteCheckpoints) -> Result<(), ParkingAppError> {
    let bookings = SqliteStore::open(data_dir::data_file(data_dir, BOOKING_EVENTS_FILE)?).await?;
    ProjectionRunner::new(bookings, db.clone(), BookingFollower)?
        .catch_up()
        .await?;
    Ok(())
}

fn details(slot: &ParkingSlot) -> String {
    key_value::key_value_lines(&[
        ("uuid", slot.uuid.to_string()),
        ("name", slot.name.clone()),
        ("status", slot.status.to_string()),
    ])
}
