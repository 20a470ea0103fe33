//! Child-process modes of this test binary: the parent re-executes it with one of these
//! environment variables set and `--exact child::NAME`; without the variable each is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;

use actledger_core::{history, state, who_held};
use actledger_e2e::history::{OFFICES, sample_days};
use actledger_store::{Ledger, Verdict, verify_path};

/// The corruption probe: opens the ledger at this path, asks it everything, prints the answers.
pub const PROBE_VAR: &str = "ACTLEDGER_E2E_PROBE";
/// How many events the probed ledger was made from (the days it asks about depend on it).
pub const PROBE_EVENTS_VAR: &str = "ACTLEDGER_E2E_PROBE_EVENTS";

/// Runs this test binary's `child::NAME` with `var` set to `value`.
pub fn command(name: &str, var: &str, value: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            &format!("child::{name}"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(var, value)
        .env("RUST_BACKTRACE", "1");
    command
}

#[test]
fn probe() {
    let Some(path) = std::env::var_os(PROBE_VAR).map(PathBuf::from) else {
        return;
    };
    let events = std::env::var(PROBE_EVENTS_VAR).unwrap().parse().unwrap();
    let answers = probe_ledger(&path, events);
    println!("\nPROBE {}", serde_json::to_string(&answers).unwrap());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verdict(result: Result<Verdict, actledger_store::StoreError>) -> String {
    match result {
        Ok(Verdict::Intact { count, head }) => format!("intact {count} {}", hex(&head)),
        Ok(Verdict::Broken { seq, problem }) => format!("broken {seq}: {problem}"),
        Ok(other) => format!("broken: {other}"),
        Err(e) => format!("err {e}"),
    }
}

fn answer<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(e) => format!("err {e}"),
    }
}

/// Every question a user could ask of the ledger at `path`, with its answer or its error, in
/// a fixed order: verification first (as `actledger verify`), then open and the queries.
pub fn probe_ledger(path: &Path, events: usize) -> Vec<(String, String)> {
    let mut out = vec![("verify".to_owned(), verdict(verify_path(path)))];
    let ledger = match Ledger::open(path) {
        Ok(ledger) => ledger,
        Err(e) => {
            out.push(("open".into(), format!("err {e}")));
            return out;
        }
    };
    let head = ledger.head();
    out.push(("open".into(), format!("ok {head}")));
    let days = sample_days(events, 5);
    for office in OFFICES {
        for day in &days {
            out.push((
                format!("who-held {office} {day}"),
                answer(who_held(&ledger, office, *day, None)),
            ));
        }
        out.push((
            format!("history {office}"),
            answer(history(&ledger, office, None)),
        ));
        // As of an earlier point: the office is replayed from the log through the indexes.
        let as_of = (head.count / 2).max(1);
        for day in days.iter().step_by(30) {
            out.push((
                format!("who-held {office} {day} as-of {as_of}"),
                answer(who_held(&ledger, office, *day, Some(as_of))),
            ));
        }
    }
    for day in days.iter().step_by(40) {
        out.push((format!("state {day}"), answer(state(&ledger, *day, None))));
    }
    let mut export = Vec::new();
    out.push((
        "export".into(),
        answer(ledger.export(&mut export, &mut |_| {}).map(|count| {
            (
                count,
                std::hash::BuildHasher::hash_one(&FixedState, &export),
            )
        })),
    ));
    out.push(("verify again".into(), verdict(ledger.verify())));
    if head.count > 0 {
        out.push((
            "prove".into(),
            answer(ledger.inclusion_proof(1, head.count).map(|p| p.proof)),
        ));
    }
    out
}

/// A hasher with fixed keys, so that two processes hash an export alike.
struct FixedState;

impl std::hash::BuildHasher for FixedState {
    type Hasher = std::hash::DefaultHasher;

    fn build_hasher(&self) -> Self::Hasher {
        std::hash::DefaultHasher::new()
    }
}
