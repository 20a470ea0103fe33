//! SIGKILL at random moments, through the `actledger` binary, beyond the store's own crash test
//! (`crates/store/tests/store/crash.rs`, many small appends): during the import of a large
//! export, during the append of a large batch, and during the rebuild of the query cache. After
//! each kill the ledger is whole: what was acknowledged is there, nothing partial is.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use actledger_gen::Rng;
use actledger_store::testing::{META_CACHE, Sled};
use actledger_store::{Ledger, Verdict, verify_path};

use crate::child::probe_ledger;
use crate::support::{actledger, generated_ledger, rounds, seed};

/// Starts `actledger --ledger PATH ARGS...`.
fn start(path: &Path, args: &[&std::ffi::OsStr]) -> Child {
    actledger(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Kills `child` after `delay` unless it ended before; returns whether it finished on its own,
/// and its standard output.
fn kill_after(child: Child, delay: Duration) -> (bool, String) {
    let (finished, output) = crate::support::kill_after(child, delay);
    if finished {
        assert!(output.status.success(), "{output:?}");
    }
    (
        finished,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// How long `run` takes, to spread the kills over it.
fn timed(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

fn random_delay(rng: &mut Rng, span: Duration) -> Duration {
    Duration::from_micros(rng.below_u64(span.as_micros() as u64 * 6 / 5 + 1))
}

#[cfg(unix)]
#[test]
fn a_killed_import_leaves_nothing_or_the_whole_ledger() {
    let count = rounds("ACTLEDGER_CRASH_ROUNDS", 8, 100);
    let events = if crate::support::long() { 4000 } else { 1500 };
    let mut rng = Rng::new(seed("crash during import"));
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let expected = generated_ledger(&source, events, 500);
    let head = expected.head();
    let export = dir.path().join("export.ndjson");
    let mut file = std::fs::File::create(&export).unwrap();
    expected.export(&mut file, &mut |_| {}).unwrap();
    drop(expected);
    let span = timed(|| {
        let whole = dir.path().join("whole");
        let (finished, _) = kill_after(
            start(&whole, &["import".as_ref(), export.as_os_str()]),
            Duration::from_secs(600),
        );
        assert!(finished);
        assert_eq!(Ledger::open(&whole).unwrap().head(), head);
    });
    let (mut nothing, mut whole) = (0, 0);
    for round in 0..count {
        let target = dir.path().join(format!("round-{round}"));
        let delay = random_delay(&mut rng, span);
        let (finished, _) = kill_after(
            start(&target, &["import".as_ref(), export.as_os_str()]),
            delay,
        );
        if target.exists() {
            let verdict = verify_path(&target).unwrap();
            assert_eq!(
                verdict,
                Verdict::Intact {
                    count: head.count,
                    head: head.hash
                },
                "round {round}: a killed import left a partial ledger"
            );
            whole += 1;
        } else {
            assert!(
                !finished,
                "round {round}: the import finished but left nothing"
            );
            nothing += 1;
            if round % 4 == 0 {
                // What a killed import leaves (its temporary folder) does not block the next.
                let (finished, _) = kill_after(
                    start(&target, &["import".as_ref(), export.as_os_str()]),
                    Duration::from_secs(600),
                );
                assert!(finished);
                assert_eq!(Ledger::open(&target).unwrap().head(), head);
            }
        }
        let _ = std::fs::remove_dir_all(&target);
    }
    println!(
        "crash during import: {count} kills of an import of {events} events (which takes {:.1} s): {nothing} left nothing, {whole} the whole ledger",
        span.as_secs_f64()
    );
}

#[cfg(unix)]
#[test]
fn a_killed_append_of_a_large_batch_leaves_it_whole_or_absent() {
    let count = rounds("ACTLEDGER_CRASH_ROUNDS", 8, 100);
    let batch = if crate::support::long() { 300 } else { 600 };
    let mut rng = Rng::new(seed("crash during a large append"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(generated_ledger(&path, 300, 100));
    let file_of = |round: usize| {
        let file = dir.path().join(format!("batch-{round}.ndjson"));
        std::fs::write(
            &file,
            actledger_e2e::history::ndjson(batch, &format!("C{round}")),
        )
        .unwrap();
        file
    };
    let batch_len = |round: usize| {
        actledger_core::parse_batch(std::fs::read(file_of(round)).unwrap().as_slice())
            .unwrap()
            .len() as u64
    };
    let span = timed(|| {
        let copy = dir.path().join("timing");
        crate::support::copy_dir(&path, &copy);
        let file = file_of(1_000_000);
        let (finished, _) = kill_after(
            start(&copy, &["append".as_ref(), file.as_os_str()]),
            Duration::from_secs(600),
        );
        assert!(finished);
    });
    let (mut absent, mut present) = (0, 0);
    for round in 0..count {
        let before = Ledger::open(&path).unwrap().head();
        let file = file_of(round);
        let delay = random_delay(&mut rng, span);
        let (_, stdout) = kill_after(start(&path, &["append".as_ref(), file.as_os_str()]), delay);
        let Verdict::Intact { count: after, .. } = verify_path(&path).unwrap() else {
            panic!("round {round}: the chain does not verify");
        };
        let size = batch_len(round);
        if !stdout.is_empty() {
            assert_eq!(
                after,
                before.count + size,
                "round {round}: acknowledged, not there"
            );
        }
        if after == before.count {
            absent += 1;
        } else {
            assert_eq!(after, before.count + size, "round {round}: a partial batch");
            present += 1;
        }
    }
    println!(
        "crash during a large append: {count} kills of an append of a {batch}-line batch (which takes {:.1} s): {absent} absent, {present} whole",
        span.as_secs_f64()
    );
}

#[cfg(unix)]
#[test]
fn a_killed_rebuild_of_the_query_cache_is_done_again_with_the_same_answers() {
    let count = rounds("ACTLEDGER_CRASH_ROUNDS", 8, 100);
    let events = if crate::support::long() { 2000 } else { 1200 };
    let mut rng = Rng::new(seed("crash during a cache rebuild"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(generated_ledger(&path, events, 400));
    let reference = probe_ledger(&path, events);
    let forget_cache = || {
        let db = Sled::open(&path).unwrap();
        db.remove(META_CACHE).unwrap();
        db.flush().unwrap();
    };
    let query = ["who-held", "MINDEF", "--on", "2020-06-01"].map(std::ffi::OsStr::new);
    forget_cache();
    let span = timed(|| {
        let (finished, _) = kill_after(start(&path, &query), Duration::from_secs(600));
        assert!(finished);
    });
    let mut killed = 0;
    for round in 0..count {
        forget_cache();
        let delay = random_delay(&mut rng, span);
        let (finished, _) = kill_after(start(&path, &query), delay);
        killed += usize::from(!finished);
        if round % 4 == 3 || round + 1 == count {
            settle(&path);
            assert_eq!(probe_ledger(&path, events), reference, "round {round}");
        }
    }
    settle(&path);
    assert_eq!(probe_ledger(&path, events), reference);
    println!(
        "crash during a cache rebuild: {count} rounds on a ledger of {events} events (a rebuild takes {:.1} s), {killed} killed before the answer, answers then equal to before",
        span.as_secs_f64()
    );
}

/// Opens the ledger once, as any command does, which completes an interrupted rebuild of the
/// cache. `verify` alone reports such a cache as what it is (its record gone, its records
/// part rebuilt): it compares what is stored and never rebuilds.
fn settle(path: &Path) {
    drop(Ledger::open(path).unwrap());
}
