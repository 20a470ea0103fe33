//! Damage on disk: random bytes flipped and files truncated in a closed ledger's sled files
//! (what a bad disk or a careless copy does), and single records changed through sled itself
//! (what a bug or a hand edit does, past sled's own checksums). After each, a child process
//! verifies the ledger, opens it and asks it everything (`child::probe_ledger`); every answer
//! must be a clear error or the answer of the undamaged copy, and `verify` must never call a
//! damaged ledger intact.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use actledger_gen::Rng;

use crate::child::{PROBE_EVENTS_VAR, PROBE_VAR, command, probe_ledger};
use crate::support::{copy_dir, files_in, generated_ledger, rounds, run_for, seed};

/// What became of one trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    /// Every answer equals the undamaged copy's (the damage touched nothing that is read).
    SameAnswers,
    /// Some answers are errors (the others equal the undamaged copy's); verify says so or
    /// fails.
    Errors,
    /// `verify` said the damaged ledger is not intact (or failed), and some answers are
    /// wrong: the damage was caught before anyone had to trust them.
    CaughtWrong,
    /// A wrong answer after `verify` said intact, or "intact" for a changed chain.
    Wrong,
    /// The probe panicked inside sled.
    SledPanic,
    /// The probe panicked in our code.
    Panic,
    /// The probe did not finish in time.
    Hang,
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    FlipBytes,
    Truncate,
    RecordValue,
    RecordKey,
}

fn last_nonzero(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b != 0).map_or(0, |at| at + 1)
}

/// Damages the closed ledger at `path` (records: only of the `tables` named by their key's
/// first byte); returns what was done, for the report.
fn damage(path: &Path, how: Damage, tables: &[u8], rng: &mut Rng) -> String {
    match how {
        Damage::FlipBytes | Damage::Truncate => {
            let files: Vec<_> = files_in(path)
                .into_iter()
                .filter(|f| std::fs::metadata(f).unwrap().len() > 0)
                .collect();
            let file = &files[rng.below(files.len())];
            let bytes = std::fs::read(file).unwrap();
            // Mostly where the data is: sled's files end in zero padding.
            let used = if rng.below_u64(4) == 0 {
                bytes.len()
            } else {
                last_nonzero(&bytes).max(1)
            };
            let name = file.strip_prefix(path).unwrap().display().to_string();
            if let Damage::Truncate = how {
                let at = rng.below_u64(used as u64);
                OpenOptions::new()
                    .write(true)
                    .open(file)
                    .unwrap()
                    .set_len(at)
                    .unwrap();
                return format!("truncated {name} at {at} of {}", bytes.len());
            }
            let mut handle = OpenOptions::new().write(true).open(file).unwrap();
            let mut what = Vec::new();
            for _ in 0..=rng.below_u64(3) {
                let at = rng.below_u64(used as u64);
                let flip = 1 + rng.below_u64(255) as u8;
                handle.seek(SeekFrom::Start(at)).unwrap();
                handle.write_all(&[bytes[at as usize] ^ flip]).unwrap();
                what.push(format!("{at}^{flip:#04x}"));
            }
            format!("flipped {name} at {}", what.join(","))
        }
        Damage::RecordValue | Damage::RecordKey => {
            let db = actledger_store::testing::Sled::open(path).unwrap();
            let keys: Vec<Vec<u8>> = db
                .iter()
                .keys()
                .map(|k| k.unwrap().to_vec())
                .filter(|k| tables.contains(&k[0]))
                .collect();
            let key = &keys[rng.below(keys.len())];
            let value = db.get(key).unwrap().unwrap().to_vec();
            let shown = String::from_utf8_lossy(key).into_owned();
            let what = if matches!(how, Damage::RecordValue) && !value.is_empty() {
                let mut changed = value.clone();
                let at = rng.below(value.len());
                changed[at] ^= 1 << rng.below_u64(8);
                db.insert(key, changed).unwrap();
                format!("changed the value of {shown:?} at byte {at}")
            } else {
                let mut changed = key.clone();
                let at = rng.below(key.len());
                changed[at] ^= 1 << rng.below_u64(8);
                db.remove(key).unwrap();
                db.insert(&changed, value).unwrap();
                format!("moved {shown:?} (key byte {at} changed)")
            };
            db.flush().unwrap();
            what
        }
    }
}

/// Compares a damaged ledger's answers with the undamaged copy's.
fn judge(reference: &[(String, String)], found: &[(String, String)]) -> (Fate, Vec<String>) {
    let expected: BTreeMap<&str, &str> = reference
        .iter()
        .map(|(q, a)| (q.as_str(), a.as_str()))
        .collect();
    let mut wrong = Vec::new();
    let mut errors = false;
    for (question, answer) in found {
        let right = expected.get(question.as_str()).copied();
        if Some(answer.as_str()) == right {
            continue;
        }
        if answer.starts_with("err ") || answer.starts_with("broken ") {
            errors = true;
            continue;
        }
        wrong.push(format!(
            "{question}: {answer:.300} (undamaged: {:.300})",
            right.unwrap_or("no such question")
        ));
    }
    // Fewer answers than the reference: the probe stopped at an error (open failed).
    if found.len() < reference.len() {
        errors = true;
    }
    // What verify said of the damaged copy: anything but intact is a finding.
    let verify_caught = found
        .first()
        .is_some_and(|(question, answer)| question == "verify" && !answer.starts_with("intact"));
    let fate = if !wrong.is_empty() && verify_caught {
        Fate::CaughtWrong
    } else if !wrong.is_empty() {
        Fate::Wrong
    } else if errors {
        Fate::Errors
    } else {
        Fate::SameAnswers
    };
    (fate, wrong)
}

/// Runs the trials; with `strict`, any wrong answer fails the test, else it is only counted.
fn trials(name: &str, kinds: &[Damage], tables: &[u8], strict: bool, ci: usize, long: usize) {
    let count = rounds("ACTLEDGER_CORRUPTION_TRIALS", ci, long);
    let events = 400;
    let seed = seed(name);
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    drop(generated_ledger(&original, events, 25));
    let reference = probe_ledger(&original, events);
    assert!(reference[0].1.starts_with("intact"), "{:?}", reference[0]);
    let started = Instant::now();
    let mut fates: BTreeMap<Fate, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut sled_panics = Vec::new();
    for trial in 0..count {
        let copy = dir.path().join(format!("trial-{trial}"));
        copy_dir(&original, &copy);
        let how = kinds[rng.below(kinds.len())];
        let what = damage(&copy, how, tables, &mut rng);
        let ended = run_for(
            command("probe", PROBE_VAR, &copy).env(PROBE_EVENTS_VAR, events.to_string()),
            Duration::from_secs(60),
        );
        let (fate, wrong) = if ended.status.is_none() {
            (Fate::Hang, vec![])
        } else if ended.panicked() {
            let in_sled = ended
                .stderr
                .lines()
                .skip_while(|l| !l.contains("panicked at"))
                .take(2)
                .any(|l| l.contains("sled-0.34"));
            if in_sled {
                sled_panics.push(format!("trial {trial}: {what}: {:.400}", ended.stderr));
                (Fate::SledPanic, vec![])
            } else {
                (Fate::Panic, vec![ended.stderr.chars().take(2000).collect()])
            }
        } else {
            match ended.stdout.lines().find_map(|l| l.strip_prefix("PROBE ")) {
                Some(json) => judge(
                    &reference,
                    &serde_json::from_str::<Vec<(String, String)>>(json).unwrap(),
                ),
                None => (
                    Fate::Panic,
                    vec![format!(
                        "no report: {:?} {:.2000}",
                        ended.status, ended.stderr
                    )],
                ),
            }
        };
        *fates.entry(fate).or_default() += 1;
        if matches!(fate, Fate::Panic | Fate::Hang) || (strict && fate == Fate::Wrong) {
            failures.push(format!("trial {trial} ({what}): {fate:?}: {wrong:#?}"));
        } else if fate == Fate::Wrong {
            println!("{name}: trial {trial}: {what}: wrong: {:.300}", wrong[0]);
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    println!(
        "{name}: {count} trials on a ledger of {events} events in {:.1} s: {fates:?}; wrong answers after a passing verify: {}",
        started.elapsed().as_secs_f64(),
        fates.get(&Fate::Wrong).copied().unwrap_or(0)
    );
    for panic in &sled_panics {
        println!("{name}: sled panicked: {panic}");
    }
    assert!(
        failures.is_empty(),
        "{name} (seed {seed}): {} bad trials:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[cfg(unix)]
#[test]
fn flipped_bytes_and_truncated_files_give_an_error_or_the_right_answer() {
    trials(
        "corruption of the files",
        &[Damage::FlipBytes, Damage::FlipBytes, Damage::Truncate],
        ALL_TABLES,
        true,
        40,
        300,
    );
}

/// Every table: the meta records, the log, the indexes, the cache, the tree hashes.
const ALL_TABLES: &[u8] = b"MLDARXOPKSWH";

#[cfg(unix)]
#[test]
fn a_changed_record_of_the_log_or_the_cache_gives_an_error_or_the_right_answer() {
    trials(
        "corruption of records",
        &[Damage::RecordValue, Damage::RecordKey],
        b"MLSW",
        true,
        40,
        300,
    );
}

/// A changed record of any table, indexes and tree hashes included: `verify` compares every
/// derived record with the log, so no answer is wrong after it says intact (a wrong answer
/// of a ledger it refused is counted as caught).
#[cfg(unix)]
#[test]
fn a_changed_record_of_any_table_is_caught_by_verify_or_changes_no_answer() {
    trials(
        "corruption of any record",
        &[Damage::RecordValue, Damage::RecordKey],
        ALL_TABLES,
        true,
        40,
        200,
    );
}
