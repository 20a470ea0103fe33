//! What the tests share: run sizes, the seed of their random choices (drawn from
//! `actledger_gen::Rng`), the `actledger` binary, child processes with a time limit, and
//! generated ledgers.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use actledger_core::parse_batch;
use actledger_store::Ledger;

/// Whether this is the long run (`ACTLEDGER_LONG=1`).
pub fn long() -> bool {
    std::env::var("ACTLEDGER_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `ci` rounds by default, `long` in the long run; `VAR` overrides both.
pub fn rounds(var: &str, ci: usize, long_run: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if long() { long_run } else { ci })
}

/// The seed of a test's random choices: `ACTLEDGER_SEED`, or the clock (printed, so that a
/// failure can be replayed).
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("ACTLEDGER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    println!("{test}: seed {seed} (rerun with ACTLEDGER_SEED={seed})");
    seed
}

/// The `actledger` binary, built once per test run with the cargo that runs the tests (cargo
/// does not build another package's binaries for this crate's tests).
pub fn cli() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "actledger-cli",
                "--bin",
                "actledger",
                "--message-format=json",
            ])
            .current_dir(&workspace)
            .stderr(Stdio::inherit())
            .output()
            .expect("running cargo build");
        assert!(
            output.status.success(),
            "building the actledger binary failed"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["target"]["name"] == "actledger")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the actledger executable")
    })
}

/// A command running `actledger --ledger PATH`.
pub fn actledger(ledger: &Path) -> Command {
    let mut command = Command::new(cli());
    command
        .arg("--ledger")
        .arg(ledger)
        .env_remove("ACTLEDGER_LEDGER")
        .env_remove("ACTLEDGER_WAIT")
        .stdin(Stdio::null());
    command
}

/// How a child process ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status, or `None` when it ran out of time and was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    /// The exit code (`None`: killed by a signal, or timed out).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn panicked(&self) -> bool {
        self.stderr.contains("panicked at") || self.code() == Some(101)
    }
}

/// Runs `command` to its end, or kills it after `limit`.
pub fn run_for(command: &mut Command, limit: Duration) -> Ended {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning a child");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ended {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A ledger at `path` holding a generated history of about `events` events, appended in
/// batches of `batch` lines.
pub fn generated_ledger(path: &Path, events: usize, batch: usize) -> Ledger {
    let mut ledger = Ledger::create(path).unwrap();
    let text = actledger_e2e::history::ndjson(events, "G");
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(batch.max(1)) {
        ledger
            .append(parse_batch(chunk.join("\n").as_bytes()).unwrap())
            .unwrap();
    }
    ledger
}

/// Copies a folder (a closed ledger) recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The regular files of a folder, recursively, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files.extend(files_in(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files.sort();
    files
}

/// Kills `child` after `delay` unless it ended before; returns whether it finished on its own,
/// and its output.
pub fn kill_after(
    mut child: std::process::Child,
    delay: std::time::Duration,
) -> (bool, std::process::Output) {
    let deadline = std::time::Instant::now() + delay;
    let finished = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if std::time::Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    (finished, child.wait_with_output().unwrap())
}
