//! Running the example binaries from end-to-end tests.
//!
//! Cargo builds the package's binaries before its integration tests and
//! passes their paths as `CARGO_BIN_EXE_<name>`, so the tests run exactly
//! the `booking`, `parking` and `demo` that this build produced.

pub mod booking_plan;
pub mod exactly_once;
pub mod leaders;
pub mod server;

use std::{
    path::Path,
    process::{Command, Output},
};

/// The path of binary `name` (`booking`, `parking` or `demo`).
pub fn binary(name: &str) -> &'static str {
    match name {
        "booking" => env!("CARGO_BIN_EXE_booking"),
        "parking" => env!("CARGO_BIN_EXE_parking"),
        "demo" => env!("CARGO_BIN_EXE_demo"),
        other => panic!("no example binary {other:?}"),
    }
}

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    /// Its stdout, without the final newline.
    pub stdout: String,
    /// Its stderr, without the final newline.
    pub stderr: String,
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
}

impl Run {
    fn from_output(output: Output) -> Self {
        Run {
            stdout: String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_owned(),
            code: output.status.code(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "the command failed: {self:?}");
        assert!(self.stderr.is_empty(), "unexpected stderr: {self:?}");
        self.stdout
    }

    /// Asserts a clean failure of a `serve` command, which may have logged
    /// its start-up first: exit `code`, no panic, and the last stderr line is
    /// the `error: …` line; returns it.
    #[track_caller]
    pub fn fails_after_logging(self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "unexpected exit code: {self:?}");
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        let last = self.stderr.lines().last().unwrap_or_default().to_owned();
        assert!(
            last.starts_with("error: "),
            "the last line is not the error: {self:?}"
        );
        let errors = self
            .stderr
            .lines()
            .filter(|line| line.starts_with("error: "))
            .count();
        assert_eq!(errors, 1, "{self:?}");
        last
    }

    /// Asserts a clean failure: exit `code`, nothing on stdout, and exactly one
    /// `error: …` line on stderr (no panic, no backtrace); returns that line.
    #[track_caller]
    pub fn fails(self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "unexpected exit code: {self:?}");
        assert!(self.stdout.is_empty(), "unexpected stdout: {self:?}");
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "not one line on stderr: {self:?}"
        );
        assert!(
            self.stderr.starts_with("error: "),
            "not an error line: {self:?}"
        );
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        self.stderr
    }
}

/// A `Command` for example `name` with a clean environment for its settings.
pub fn command(name: &str) -> Command {
    let mut command = Command::new(binary(name));
    for var in [
        "ES_DATA_DIR",
        "EVENT_STORE_DATABASE_URL",
        "PROJECTOR_DATABASE_URL",
        "AMQP_URL",
        "PARKING_DATABASE_URL",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command.env("RUST_BACKTRACE", "1");
    command
}

/// Runs example `name` in embedded mode on `data_dir` with `args`.
pub fn embedded(name: &str, data_dir: &Path, args: &[&str]) -> Run {
    let output = command(name)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("the example runs");
    Run::from_output(output)
}

/// Runs an already configured command to completion.
pub fn run(command: &mut Command) -> Run {
    Run::from_output(command.output().expect("the example runs"))
}

/// The value of `key` in aligned `key: value` output.
pub fn field(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k == key).then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {key} in {output:?}"))
}

/// The seed's `get_booking_details` output.
pub fn booking_details(id: &str, row: &str, status: &str, slot: &str) -> String {
    format!(
        "id:                  {row}\n\
         domain_uuid:         {id}\n\
         status:              {status}\n\
         parking_slot_ref_no: {slot}"
    )
}

/// The seed's `parking_slot_details` output.
pub fn slot_details(uuid: &str, name: &str, status: &str) -> String {
    format!("uuid:   {uuid}\nname:   {name}\nstatus: {status}")
}

/// The seed's `get_booking_events` output for a booking `id` of `slot` that
/// went through the first `versions` steps (1: created, 2: reserved, 3: completed).
pub fn booking_events(id: &str, slot: &str, versions: u64) -> String {
    let mut blocks = Vec::new();
    for version in 1..=versions {
        let properties = match version {
            1 => format!("    'parking_slot_ref_no': '{slot}',\n    'status': 'created'"),
            2 => "    'status': 'reserved'".to_owned(),
            _ => "    'status': 'completed'".to_owned(),
        };
        blocks.push(format!(
            "{{\n    'id': UUID('{id}'),\n    'version': {version},\n{properties}\n}}"
        ));
    }
    blocks.join("\n")
}
