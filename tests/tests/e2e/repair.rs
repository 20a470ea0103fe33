//! SIGKILL at random moments during `actledger repair`. Before each round a derived table of
//! a ledger of a few thousand events is damaged (all its records removed), so that the repair
//! has work to do; the repair is then killed somewhere between its start and a little past its
//! usual end. After each kill `verify` must give a verdict (no crash), opening the ledger must
//! succeed, and a second repair or the open itself must leave a ledger that verifies whole and
//! answers as the undamaged copy does.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use actledger_e2e::history::{OFFICES, sample_days};
use actledger_gen::Rng;
use actledger_store::testing::{ACT, META_REPAIR, OFFICE, PERSON, SEGMENT, Sled, TIMELINE, TREE};

use crate::child::probe_ledger;
use crate::support::{
    Ended, actledger, copy_dir, generated_ledger, kill_after, rounds, run_for, seed,
};

/// The damages, each the removal of every record of some tables.
const DAMAGES: [(&str, &[u8]); 5] = [
    ("timeline cache (S, W)", &[SEGMENT, TIMELINE]),
    ("office postings (O)", &[OFFICE]),
    ("person postings (P)", &[PERSON]),
    ("act postings (A)", &[ACT]),
    ("tree hashes (H)", &[TREE]),
];

/// Removes every record under `prefixes` from the closed ledger at `path`; returns how many.
fn remove_tables(path: &Path, prefixes: &[u8]) -> usize {
    let db = Sled::open(path).unwrap();
    let mut removed = 0;
    for prefix in prefixes {
        let keys: Vec<_> = db
            .scan_prefix([*prefix])
            .keys()
            .map(|k| k.unwrap())
            .collect();
        for key in keys {
            db.remove(key).unwrap();
            removed += 1;
        }
    }
    db.flush().unwrap();
    removed
}

/// Every key and value of the closed ledger at `path`, in key order.
fn dump(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = Sled::open(path).unwrap();
    db.iter()
        .map(|item| {
            let (key, value) = item.unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

/// Whether the closed ledger at `path` holds the intent record of a repair.
fn repair_pending(path: &Path) -> bool {
    Sled::open(path).unwrap().contains_key(META_REPAIR).unwrap()
}

/// Runs `actledger --ledger PATH ARGS...` to its end (two minutes at most).
fn run(path: &Path, args: &[&str]) -> Ended {
    run_for(actledger(path).args(args), Duration::from_secs(120))
}

/// Describes a finished command for a failure message.
fn shown(what: &str, ended: &Ended) -> String {
    format!(
        "{what}: exit {:?}\nstdout: {:.2000}\nstderr: {:.2000}",
        ended.status, ended.stdout, ended.stderr
    )
}

/// Answers through the binary: who held two offices on some days, their history, and the
/// state on some days (`child::probe_ledger` asks everything, in process, every few rounds).
fn answers(path: &Path, events: usize) -> Vec<(String, String)> {
    let days = sample_days(events, 5);
    let picked: Vec<String> = [days.len() / 5, days.len() / 2, days.len() * 9 / 10]
        .iter()
        .map(|&i| days[i.min(days.len() - 1)].to_string())
        .collect();
    let mut questions: Vec<Vec<&str>> = Vec::new();
    for office in &OFFICES[..2] {
        for day in &picked[1..] {
            questions.push(vec!["who-held", office, "--on", day, "--json"]);
        }
        questions.push(vec!["history", office]);
    }
    for day in &picked[..2] {
        questions.push(vec!["state", "--on", day]);
    }
    questions
        .into_iter()
        .map(|args| {
            let ended = run(path, &args);
            let question = args.join(" ");
            assert_eq!(ended.code(), Some(0), "{}", shown(&question, &ended));
            (question, ended.stdout)
        })
        .collect()
}

/// Starts `actledger --ledger PATH repair`.
fn start_repair(path: &Path) -> Child {
    actledger(path)
        .arg("repair")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Where a kill left the repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// It ended on its own before the kill.
    Finished,
    /// Killed before its intent record: nothing was changed.
    BeforeIntent,
    /// Killed with its intent record written: the next open or repair completes it.
    WithIntent,
    /// Killed after it removed its intent record, before the process ended.
    AfterCompletion,
}

#[cfg(unix)]
#[test]
fn a_killed_repair_is_completed_by_the_next_open_or_repair() {
    let count = rounds("ACTLEDGER_REPAIR_ROUNDS", 20, 100);
    let events = if crate::support::long() { 6000 } else { 3000 };
    let mut rng = Rng::new(seed("repair killed"));
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine");
    drop(generated_ledger(&pristine, events, 500));
    let head_line = run(&pristine, &["head"]).stdout;
    let intact_line = format!("intact: {head_line}");
    let reference = answers(&pristine, events);
    let reference_probe = probe_ledger(&pristine, events);
    assert!(
        reference_probe[0].1.starts_with("intact"),
        "{reference_probe:?}"
    );

    // How long an uninterrupted repair takes, per damage, to spread the kills over it.
    let path = dir.path().join("ledger");
    copy_dir(&pristine, &path);
    // The repair first compares (as long as `verify` takes), then writes: half the kills
    // are aimed at its writing.
    let mut spans = Vec::new();
    for (name, prefixes) in DAMAGES {
        assert!(
            remove_tables(&path, prefixes) > 0,
            "{name}: nothing removed"
        );
        let begun = Instant::now();
        let found = run(&path, &["verify"]);
        let comparing = begun.elapsed();
        assert_eq!(found.code(), Some(3), "{}", shown(name, &found));
        let begun = Instant::now();
        let done = run(&path, &["repair"]);
        spans.push((comparing, begun.elapsed()));
        assert_eq!(done.code(), Some(0), "{}", shown(name, &done));
        assert!(
            done.stdout.starts_with("repaired: "),
            "{}",
            shown(name, &done)
        );
        let verified = run(&path, &["verify"]);
        assert_eq!(verified.code(), Some(0), "{}", shown(name, &verified));
    }
    // What a repaired ledger holds, record for record.
    let repaired = dump(&path);

    let mut stages: BTreeMap<Stage, usize> = BTreeMap::new();
    let (mut completed_by_open, mut completed_by_repair, mut opens_killed) = (0, 0, 0);
    for round in 0..count {
        let (name, prefixes) = DAMAGES[round % DAMAGES.len()];
        let (comparing, span) = spans[round % DAMAGES.len()];
        let context = format!("round {round} ({name} removed)");
        assert!(
            remove_tables(&path, prefixes) > 0,
            "{context}: nothing removed"
        );
        let damaged = dump(&path);
        let delay = if round % 2 == 0 {
            Duration::from_micros(rng.below_u64(span.as_micros() as u64 * 6 / 5 + 1))
        } else {
            let from = comparing.min(span) * 9 / 10;
            from + Duration::from_micros(rng.below_u64((span - from).as_micros() as u64 + 1))
        };
        let (finished, output) = kill_after(start_repair(&path), delay);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let pending = repair_pending(&path);
        let stage = if finished {
            assert_eq!(output.status.code(), Some(0), "{context}: {output:?}");
            assert!(stdout.starts_with("repaired: "), "{context}: {stdout}");
            assert!(
                !pending,
                "{context}: a finished repair left its intent record"
            );
            Stage::Finished
        } else if pending {
            Stage::WithIntent
        } else {
            // Without its intent record a repair has changed nothing, or finished.
            let now = dump(&path);
            if now == damaged {
                Stage::BeforeIntent
            } else {
                assert!(
                    now == repaired,
                    "{context}: killed after {delay:?}: records changed, and no intent record"
                );
                Stage::AfterCompletion
            }
        };
        *stages.entry(stage).or_default() += 1;
        let done = matches!(stage, Stage::Finished | Stage::AfterCompletion);

        // verify gives a verdict (no crash): intact exactly when the repair is done.
        let verified = run(&path, &["verify"]);
        let what = shown(
            &format!("{context}: verify after a kill at {delay:?} ({stage:?})"),
            &verified,
        );
        assert!(!verified.panicked(), "{what}");
        assert_eq!(verified.code(), Some(if done { 0 } else { 3 }), "{what}");
        if !done {
            assert!(
                verified.stdout.starts_with("ALTERED: the log is intact"),
                "{what}"
            );
        }

        // Opening succeeds, and completes a repair that wrote its intent record (that open
        // killed too, sometimes: the next one completes it); a second repair does whatever
        // is left. Or the second repair comes first, and completes the interrupted one.
        let repair_first = stage == Stage::WithIntent && round % 3 == 0;
        if stage == Stage::WithIntent && round % 3 == 1 {
            let delay = Duration::from_micros(rng.below_u64(span.as_micros() as u64));
            let head = actledger(&path)
                .arg("head")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let (finished, output) = kill_after(head, delay);
            if finished {
                assert_eq!(output.status.code(), Some(0), "{context}: {output:?}");
            } else {
                opens_killed += 1;
            }
        }
        if !repair_first {
            let head = run(&path, &["head"]);
            assert_eq!(head.code(), Some(0), "{}", shown(&context, &head));
            assert_eq!(head.stdout, head_line, "{context}");
            assert!(
                !repair_pending(&path),
                "{context}: the open left the intent record"
            );
            if stage == Stage::WithIntent {
                completed_by_open += 1;
            }
        }
        // A repair that finished needs no second one: the verify below says so.
        if !done {
            let again = run(&path, &["repair"]);
            let what = shown(&format!("{context}: the second repair"), &again);
            assert_eq!(again.code(), Some(0), "{what}");
            if stage == Stage::BeforeIntent || repair_first {
                assert!(again.stdout.starts_with("repaired: "), "{what}");
                completed_by_repair += 1;
            } else {
                assert!(again.stdout.starts_with("nothing to repair: "), "{what}");
            }
            if repair_first {
                // Its intent record is one of the meta records the log does not imply.
                assert!(
                    again
                        .stdout
                        .lines()
                        .any(|l| l.starts_with("per table: ") && l.contains("M (meta records): ")),
                    "{what}"
                );
            }
        }
        if repair_first {
            let head = run(&path, &["head"]);
            assert_eq!(head.code(), Some(0), "{}", shown(&context, &head));
            assert_eq!(head.stdout, head_line, "{context}");
        }
        assert!(
            !repair_pending(&path),
            "{context}: the intent record stayed"
        );

        let verified = run(&path, &["verify"]);
        let what = shown(&format!("{context}: verify at the end"), &verified);
        assert_eq!(verified.code(), Some(0), "{what}");
        assert!(verified.stdout.starts_with(&intact_line), "{what}");
        assert!(
            dump(&path) == repaired,
            "{context}: records differ after the repair"
        );
        assert_eq!(answers(&path, events), reference, "{context}");
        if round % 5 == 4 || round + 1 == count {
            assert_eq!(probe_ledger(&path, events), reference_probe, "{context}");
        }
    }
    let spans: Vec<String> = spans
        .iter()
        .map(|(_, s)| format!("{:.2}", s.as_secs_f64()))
        .collect();
    let count_of = |stage| stages.get(&stage).copied().unwrap_or(0);
    println!(
        "repair killed: {count} rounds on a ledger of {events} events (a repair takes {} s by damage): \
         {} finished before the kill, {} killed before its intent record, {} killed with it written, \
         {} killed after completing; {completed_by_open} completed by the next open \
         ({opens_killed} such opens killed first), {completed_by_repair} by a second repair; verify intact and answers equal to the undamaged \
         copy's after each ({:.1} s in all)",
        spans.join("/"),
        count_of(Stage::Finished),
        count_of(Stage::BeforeIntent),
        count_of(Stage::WithIntent),
        count_of(Stage::AfterCompletion),
        started.elapsed().as_secs_f64()
    );
}
