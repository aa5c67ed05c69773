//! Copies of the running test executable as child processes that report
//! their role, for tests of work that must run on one instance at a time.
//!
//! A test starts several children, each re-running one designated `#[test]`
//! of the same executable (`current_exe() <test> --exact --nocapture`) with
//! environment variables that make it act as an instance. A child prints
//! `ROLE <role> <holder>` lines ([`report_role`]); the parent reads them with
//! their arrival time, tracks every child's last role, and records each
//! moment two live children both claimed `LEADER`. The parent can `kill -9`
//! a child or close its stdin (the child's shutdown signal,
//! [`stdin_closed`]). Dropping the roster kills every child still running.

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// The full name of test `test` defined in the module whose `module_path!()`
/// is `module_path`, as libtest names it (`--exact` needs it).
pub fn test_path(module_path: &str, test: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate_name, module)) => format!("{module}::{test}"),
        None => test.to_owned(),
    }
}

/// Prints the line a roster reads: `ROLE <role> <holder>`.
pub fn report_role(role: &str, holder: &str) {
    println!("ROLE {role} {holder}");
}

/// Resolves when this process's stdin reaches its end (the parent closed it).
pub fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = tx.send(());
    });
    rx
}

struct Member {
    process: Child,
    stdin: Option<ChildStdin>,
}

/// Child processes of this test executable and the roles they reported.
pub struct Roster {
    test: String,
    lines: mpsc::Receiver<(Instant, String, String)>,
    sender: mpsc::Sender<(Instant, String, String)>,
    members: HashMap<String, Member>,
    roles: HashMap<String, String>,
    departed: HashSet<String>,
    overlaps: Vec<String>,
}

impl Roster {
    /// A roster whose children run the test `test` (see [`test_path`]).
    pub fn new(test: impl Into<String>) -> Self {
        let (sender, lines) = mpsc::channel();
        Self {
            test: test.into(),
            lines,
            sender,
            members: HashMap::new(),
            roles: HashMap::new(),
            departed: HashSet::new(),
            overlaps: Vec::new(),
        }
    }

    /// Starts a child called `holder` with the environment `env`.
    pub fn spawn(&mut self, holder: &str, env: &[(&str, &str)]) {
        let exe = std::env::current_exe().expect("the test executable's path");
        let mut process = Command::new(exe)
            .args([
                self.test.as_str(),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a child process");
        let stdout = process.stdout.take().expect("piped stdout");
        let stdin = process.stdin.take();
        let sender = self.sender.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest's "test <name> ... " may precede the first report.
                if let Some((_, rest)) = line.split_once("ROLE ") {
                    if let Some((role, who)) = rest.split_once(' ') {
                        let event = (Instant::now(), who.to_owned(), role.to_owned());
                        if sender.send(event).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        self.members
            .insert(holder.to_owned(), Member { process, stdin });
    }

    /// Waits up to `within` for a child (`holder`, or any child if `None`)
    /// to report `role`; returns who and when. Panics on timeout.
    pub fn wait_for(
        &mut self,
        holder: Option<&str>,
        role: &str,
        within: Duration,
    ) -> (String, Instant) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = self.roles.iter().find(|(who, r)| {
                r.as_str() == role
                    && !self.departed.contains(*who)
                    && holder.is_none_or(|h| h == who.as_str())
            }) {
                // Already in that role before this call.
                let who = found.0.clone();
                return (who, Instant::now());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((at, who, reported)) = self.lines.recv_timeout(left) else {
                panic!(
                    "no child reported {role} (wanted {holder:?}) within {within:?}; roles: {:?}",
                    self.roles
                );
            };
            self.record(&who, &reported);
            if reported == role && holder.is_none_or(|h| h == who) {
                return (who, at);
            }
        }
    }

    /// Reads every line that arrives within `window` (to check nothing changes).
    pub fn settle(&mut self, window: Duration) {
        let deadline = Instant::now() + window;
        while let Ok((_, who, role)) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.record(&who, &role);
        }
    }

    fn record(&mut self, who: &str, role: &str) {
        if role == "LEADER" {
            let others: Vec<&String> = self
                .roles
                .iter()
                .filter(|(other, r)| {
                    other.as_str() != who
                        && r.as_str() == "LEADER"
                        && !self.departed.contains(*other)
                })
                .map(|(other, _)| other)
                .collect();
            if !others.is_empty() {
                self.overlaps
                    .push(format!("{who} became leader while {others:?} led"));
            }
        }
        self.roles.insert(who.to_owned(), role.to_owned());
    }

    /// The live children whose last report is `LEADER`.
    pub fn leaders(&self) -> Vec<String> {
        self.with_role("LEADER")
    }

    /// The live children whose last report is `role`.
    pub fn with_role(&self, role: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .roles
            .iter()
            .filter(|(who, r)| r.as_str() == role && !self.departed.contains(*who))
            .map(|(who, _)| who.clone())
            .collect();
        found.sort();
        found
    }

    /// The last role `holder` reported, departed or not.
    pub fn role_of(&self, holder: &str) -> Option<&str> {
        self.roles.get(holder).map(String::as_str)
    }

    /// Every moment two live children both claimed to lead.
    pub fn overlaps(&self) -> &[String] {
        &self.overlaps
    }

    /// Marks `holder` as gone from the contest (its reports no longer count
    /// as leading), for children cut off by the test.
    pub fn depart(&mut self, holder: &str) {
        self.departed.insert(holder.to_owned());
    }

    /// `kill -9`s `holder`; returns the moment of the kill.
    pub fn kill(&mut self, holder: &str) -> Instant {
        let member = self
            .members
            .get_mut(holder)
            .expect("a child of this roster");
        let at = Instant::now();
        member.process.kill().expect("kill -9 the child");
        let _ = member.process.wait();
        self.depart(holder);
        at
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) `holder`: a stalled
    /// process whose sockets and files stay open. Returns the moment.
    pub fn freeze(&mut self, holder: &str, frozen: bool) -> Instant {
        let member = self.members.get(holder).expect("a child of this roster");
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let at = Instant::now();
        let status = Command::new("kill")
            .args([signal, &member.process.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {holder}");
        at
    }

    /// Closes `holder`'s stdin (its shutdown signal); returns the moment.
    pub fn stop(&mut self, holder: &str) -> Instant {
        let member = self
            .members
            .get_mut(holder)
            .expect("a child of this roster");
        let at = Instant::now();
        drop(member.stdin.take());
        self.depart(holder);
        at
    }

    /// Waits up to `within` for `holder` to exit. Panics on timeout.
    pub fn wait_exit(&mut self, holder: &str, within: Duration) -> ExitStatus {
        let member = self
            .members
            .get_mut(holder)
            .expect("a child of this roster");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = member.process.try_wait().expect("child status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{holder} did not exit within {within:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Roster {
    fn drop(&mut self) {
        for member in self.members.values_mut() {
            let _ = member.process.kill();
            let _ = member.process.wait();
        }
    }
}
