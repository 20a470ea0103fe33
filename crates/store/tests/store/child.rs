//! Child-process modes of this test binary: the parent re-executes it with one of these
//! environment variables set and `--exact child::NAME`; without the variable each is a no-op.

use std::io::Write as _;
use std::path::PathBuf;

use actledger_store::Ledger;

use crate::common::{batch, numbered_batch};

/// The crash test's appender: appends numbered batches for ever, printing `ack HEAD` after each
/// append returns (and so is on disk), until the parent kills it.
pub const APPEND_VAR: &str = "ACTLEDGER_TEST_APPEND_FOREVER";
/// Events per batch in the crash test.
pub const CRASH_BATCH: usize = 5;

/// The lock test's second process: tries to open the ledger and prints what happened.
pub const OPEN_VAR: &str = "ACTLEDGER_TEST_TRY_OPEN";

#[test]
fn append_forever() {
    let Some(path) = std::env::var_os(APPEND_VAR).map(PathBuf::from) else {
        return;
    };
    let mut ledger = Ledger::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        let k = ledger.head().count / CRASH_BATCH as u64;
        let report = ledger
            .append(batch(&numbered_batch(k, CRASH_BATCH)))
            .unwrap();
        writeln!(out, "ack {}", report.head.count).unwrap();
        out.flush().unwrap();
    }
}

/// The crash test of appends in parts: appends numbered batches of [`PARTS_BATCH`] events in
/// parts of [`PARTS_SIZE`] for ever, printing `ack HEAD` after each.
pub const PARTS_VAR: &str = "ACTLEDGER_TEST_APPEND_PARTS_FOREVER";
/// Events per batch in the crash test of appends in parts.
pub const PARTS_BATCH: usize = 200;
/// Events per part in the crash test of appends in parts.
pub const PARTS_SIZE: usize = 40;

#[test]
fn append_parts_forever() {
    let Some(path) = std::env::var_os(PARTS_VAR).map(PathBuf::from) else {
        return;
    };
    let mut ledger = Ledger::open(&path).unwrap();
    actledger_store::testing::set_part_events(&mut ledger, PARTS_SIZE);
    let mut out = std::io::stdout().lock();
    loop {
        let k = ledger.head().count / PARTS_BATCH as u64;
        let report = ledger
            .append(batch(&numbered_batch(k, PARTS_BATCH)))
            .unwrap();
        writeln!(out, "ack {}", report.head.count).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn try_open() {
    let Some(path) = std::env::var_os(OPEN_VAR).map(PathBuf::from) else {
        return;
    };
    match Ledger::open(&path) {
        Ok(_) => println!("result: opened"),
        Err(e) => println!("result: {e}"),
    }
}

/// Runs this test binary's `child::NAME` with `var` set to `value`.
pub fn command(name: &str, var: &str, value: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            &format!("child::{name}"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(var, value);
    command
}
