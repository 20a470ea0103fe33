//! Crash recovery, in the manner of sled's `tests/test_crash_recovery.rs`: a child process
//! appends batches and prints an acknowledgement after each; it is killed with SIGKILL at
//! random moments. After each kill the ledger opens, verifies, and holds every acknowledged
//! batch whole and no partial batch.

use std::io::BufRead as _;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use actledger_core::parse_batch;
use actledger_gen::Rng;
use actledger_store::{Ledger, Verdict};

use crate::child::{APPEND_VAR, CRASH_BATCH, PARTS_BATCH, PARTS_VAR, command};
use crate::common::{numbered_batch, scratch};

const ROUNDS: usize = 24;

#[cfg(unix)]
#[test]
fn a_killed_appender_loses_no_acknowledged_batch_and_leaves_no_partial_one() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}");
    let mut rng = Rng::new(seed);
    let mut acknowledged = 0;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut child = command("append_forever", APPEND_VAR, &s.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(head) = line.strip_prefix("ack ") {
                    acks.push(head.parse::<u64>().unwrap());
                }
            }
            acks
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below_u64(120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        if let Some(last) = acks.last() {
            acknowledged = *last;
        }

        let ledger =
            Ledger::open(&s.path).unwrap_or_else(|e| panic!("round {round} (seed {seed}): {e}"));
        let verdict = ledger.verify().unwrap();
        let Verdict::Intact { count, .. } = verdict else {
            panic!("round {round} (seed {seed}): {verdict}");
        };
        assert!(
            count >= acknowledged,
            "round {round} (seed {seed}): {count} entries, {acknowledged} acknowledged"
        );
        assert_eq!(
            count % CRASH_BATCH as u64,
            0,
            "round {round}: a partial batch"
        );
        drop(ledger);
    }

    // Every entry is the event its batch put there, and nothing else.
    let ledger = Ledger::open(&s.path).unwrap();
    let count = ledger.head().count;
    assert!(count > 0, "the child never got to append");
    let mut seq = 1;
    for k in 0..count / CRASH_BATCH as u64 {
        for input in parse_batch(numbered_batch(k, CRASH_BATCH).as_bytes()).unwrap() {
            let entry = ledger.entry(seq).unwrap().unwrap();
            assert_eq!(entry.event, input.event.canonical_bytes(), "entry {seq}");
            seq += 1;
        }
    }
    println!(
        "{ROUNDS} kills, {count} entries, {} batches, in {:.1} s",
        count / CRASH_BATCH as u64,
        started.elapsed().as_secs_f64()
    );
}

/// Kills a process appending batches of 200 events in parts of 40 at random moments: after
/// each kill the ledger verifies and holds whole batches only (an unfinished append in parts
/// is removed by the open), every acknowledged one among them.
#[cfg(unix)]
#[test]
fn a_killed_append_in_parts_leaves_whole_batches_only() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}");
    let mut rng = Rng::new(seed);
    let mut acknowledged = 0;
    let mut rolled_back = 0;
    for round in 0..8 {
        let mut child = command("append_parts_forever", PARTS_VAR, &s.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(head) = line.strip_prefix("ack ") {
                    acks.push(head.parse::<u64>().unwrap());
                }
            }
            acks
        });
        std::thread::sleep(Duration::from_millis(200 + rng.below_u64(900)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if let Some(last) = reader.join().unwrap().last() {
            acknowledged = *last;
        }
        let ledger =
            Ledger::open(&s.path).unwrap_or_else(|e| panic!("round {round} (seed {seed}): {e}"));
        if matches!(
            ledger.recovery(),
            Some(actledger_store::Recovery::RolledBack { .. })
        ) {
            rolled_back += 1;
        }
        let Verdict::Intact { count, .. } = ledger.verify().unwrap() else {
            panic!("round {round} (seed {seed}): does not verify");
        };
        assert!(count >= acknowledged, "round {round} (seed {seed})");
        assert_eq!(
            count % PARTS_BATCH as u64,
            0,
            "round {round}: a partial batch"
        );
    }
    let ledger = Ledger::open(&s.path).unwrap();
    let count = ledger.head().count;
    assert!(count > 0, "the child never got to append");
    let mut seq = 1;
    for k in 0..count / PARTS_BATCH as u64 {
        for input in parse_batch(numbered_batch(k, PARTS_BATCH).as_bytes()).unwrap() {
            let entry = ledger.entry(seq).unwrap().unwrap();
            assert_eq!(entry.event, input.event.canonical_bytes(), "entry {seq}");
            seq += 1;
        }
    }
    println!("8 kills, {count} entries, {rolled_back} appends in parts undone on open");
}
