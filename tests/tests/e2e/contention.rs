//! Several processes appending to one ledger at once. sled lets one process open a ledger at a
//! time; without `--wait` the others are refused at once, with `--wait SECONDS` they wait for
//! their turn. Afterwards the chain verifies and every acknowledged event is there exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use actledger_core::parse_batch;
use actledger_store::{Entry, Ledger, verify_path};

use crate::support::{actledger, rounds, run_for};

/// Whether `stderr` is the refusal of a command run with `--wait 0` because another
/// `actledger` held the ledger: it names the holder, or (in the instant between a holder
/// taking the lock and describing itself) says another process, and points to `--wait`.
fn refused_in_use(stderr: &str) -> bool {
    (stderr.contains("is held by actledger append (pid ")
        || stderr.contains("is in use by another process"))
        && stderr
            .trim_end()
            .ends_with("; wait for it with --wait SECONDS")
}

/// Starts `command` while `held` keeps the ledger, checks 300 ms later that it is still
/// waiting, lets go of the ledger and returns the command's output.
fn run_once_released(command: &mut std::process::Command, held: Ledger) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the command did not wait for the ledger"
    );
    drop(held);
    child.wait_with_output().unwrap()
}

/// The canonical bytes of the events of a batch.
fn canonical(text: &str) -> Vec<Vec<u8>> {
    parse_batch(text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|input| input.event.canonical_bytes())
        .collect()
}

/// The events of the ledger, by canonical bytes, with how many times each occurs.
fn recorded(path: &Path) -> HashMap<Vec<u8>, usize> {
    let ledger = Ledger::open(path).unwrap();
    let mut export = Vec::new();
    ledger.export(&mut export, &mut |_| {}).unwrap();
    let mut counts = HashMap::new();
    for line in export.split_inclusive(|b| *b == b'\n') {
        *counts
            .entry(Entry::parse_export_line(line).unwrap().event)
            .or_default() += 1;
    }
    counts
}

#[cfg(unix)]
#[test]
fn processes_appending_at_once_with_wait_all_get_in_exactly_once() {
    let writers = rounds("ACTLEDGER_CONTENTION_WRITERS", 4, 8);
    let appends = rounds("ACTLEDGER_CONTENTION_APPENDS", 3, 12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(Ledger::create(&path).unwrap());
    let started = Instant::now();

    // Each writer appends its own batches, one process per append, all at once; one more
    // writer does the same without --wait and takes what it gets.
    let mut batches = Vec::new();
    let mut children: Vec<(usize, bool, Child)> = Vec::new();
    for round in 0..appends {
        for writer in 0..=writers {
            let patient = writer < writers;
            let tag = format!("W{writer}R{round}");
            let text = actledger_e2e::history::ndjson(6, &tag);
            let file = dir.path().join(format!("{tag}.ndjson"));
            std::fs::write(&file, &text).unwrap();
            let mut command = actledger(&path);
            command.args(["--wait", if patient { "120" } else { "0" }]);
            let child = command
                .arg("append")
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            children.push((batches.len(), patient, child));
            batches.push(text);
        }
        // Let this round's processes start colliding before the next round's join in.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    let mut refused_at_once = 0;
    for (batch, patient, child) in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {
                assert!(stdout.contains("recorded at"), "{stdout}");
                acknowledged.push(batch);
            }
            Some(1) if !patient && refused_in_use(&stderr) => {
                refused_at_once += 1;
                refused.push(batch);
            }
            other => panic!("writer of batch {batch} (patient {patient}): {other:?}: {stderr}"),
        }
    }
    assert!(
        acknowledged.len() >= writers * appends,
        "every patient writer gets in"
    );

    assert!(verify_path(&path).unwrap().is_intact());
    let counts = recorded(&path);
    let mut expected = 0;
    for batch in &acknowledged {
        for event in canonical(&batches[*batch]) {
            assert_eq!(
                counts.get(&event),
                Some(&1),
                "{}",
                String::from_utf8_lossy(&event)
            );
            expected += 1;
        }
    }
    for batch in &refused {
        for event in canonical(&batches[*batch]) {
            assert_eq!(counts.get(&event), None, "a refused batch left an event");
        }
    }
    assert_eq!(counts.values().sum::<usize>(), expected, "stray entries");
    println!(
        "contention: {} appends by {} processes at once ({} with --wait 120, {} without, {} of those refused at once), {expected} events each recorded once, in {:.1} s",
        acknowledged.len() + refused.len(),
        acknowledged.len() + refused.len(),
        writers * appends,
        appends,
        refused_at_once,
        started.elapsed().as_secs_f64()
    );
}

#[cfg(unix)]
#[test]
fn wait_gives_up_with_a_clear_error_and_succeeds_once_the_ledger_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let held = Ledger::create(&path).unwrap();
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, actledger_e2e::history::ndjson(3, "H")).unwrap();

    // With --wait 0: refused at once. (Build the binary first, outside the timing.)
    crate::support::cli();
    let started = Instant::now();
    let ended = run_for(
        actledger(&path).args(["--wait", "0", "append"]).arg(&file),
        Duration::from_secs(30),
    );
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert!(
        ended
            .stderr
            .ends_with("is in use by another process; wait for it with --wait SECONDS\n"),
        "{ended:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // With a wait that runs out (from the environment, as ACTLEDGER_WAIT): a clear error.
    let started = Instant::now();
    let ended = run_for(
        actledger(&path)
            .env("ACTLEDGER_WAIT", "0.5")
            .arg("append")
            .arg(&file),
        Duration::from_secs(30),
    );
    let waited = started.elapsed();
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert!(
        ended.stderr.contains(
            "is still in use by another process after waiting 0.5 s; wait longer with --wait SECONDS"
        ),
        "{ended:?}"
    );
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    for bad in ["-1", "x", "NaN", "1e9"] {
        let ended = run_for(
            actledger(&path).args(["--wait", bad, "head"]),
            Duration::from_secs(30),
        );
        assert_eq!(ended.code(), Some(2), "--wait {bad}: {ended:?}");
    }

    // With a long enough wait: it gets in once the holder lets go.
    let output = run_once_released(
        actledger(&path).args(["--wait", "60", "append"]).arg(&file),
        held,
    );
    assert!(output.status.success(), "{output:?}");
    let ended = run_for(
        actledger(&path).args(["--wait", "5", "verify"]),
        Duration::from_secs(30),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    assert!(ended.stdout.starts_with("intact: "), "{ended:?}");
}

/// `verify --checkpoint` honours `--wait` as plain `verify` does.
#[cfg(unix)]
#[test]
fn verify_against_a_checkpoint_waits_for_the_ledger_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(crate::support::generated_ledger(&path, 30, 5));
    let keys = dir.path().join("keys");
    let ended = run_for(
        actledger(&path)
            .args(["keygen", "example.org/actledger", "--out"])
            .arg(&keys),
        Duration::from_secs(30),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    let key = keys.join("example.org_actledger.key");
    let vkey = keys.join("example.org_actledger.vkey");
    let checkpoint = dir.path().join("cp");
    let ended = run_for(
        actledger(&path)
            .arg("checkpoint")
            .arg("--key")
            .arg(&key)
            .arg("--out")
            .arg(&checkpoint),
        Duration::from_secs(30),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    let verify = |wait: &str| {
        let mut command = actledger(&path);
        command
            .args(["--wait", wait, "verify", "--checkpoint"])
            .arg(&checkpoint)
            .arg("--vkey")
            .arg(&vkey);
        command
    };

    let held = Ledger::open(&path).unwrap();
    let ended = run_for(&mut verify("0"), Duration::from_secs(30));
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert!(
        ended.stderr.contains("is in use by another process"),
        "{ended:?}"
    );
    // A wait that runs out: verify waited for it, then says so.
    let started = Instant::now();
    let ended = run_for(&mut verify("0.5"), Duration::from_secs(30));
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert!(
        ended
            .stderr
            .contains("is still in use by another process after waiting 0.5 s"),
        "{ended:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
    let output = run_once_released(&mut verify("60"), held);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("extends the checkpoint of"), "{stdout}");
}

/// Issue #15: readers share a ledger. Eight `who-held` started at once on one ledger, with
/// the default `--wait`, each get in and answer exactly as one alone does.
#[cfg(unix)]
#[test]
fn eight_who_held_at_once_all_answer_as_one_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(crate::support::generated_ledger(&path, 300, 100));
    let office = actledger_e2e::history::OFFICES[0];
    let ask = || {
        let mut command = actledger(&path);
        command.args(["who-held", office, "--on", "2020-06-01"]);
        command
    };
    let alone = run_for(&mut ask(), Duration::from_secs(60));
    assert_eq!(alone.code(), Some(0), "{alone:?}");
    assert!(alone.stdout.starts_with(office), "{alone:?}");
    let children: Vec<Child> = (0..8)
        .map(|_| {
            ask()
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "process {i}: {stderr}");
        assert_eq!(stderr, "", "process {i}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            alone.stdout,
            "process {i}"
        );
    }
}

/// Issue #15: a command that waits longer than `--wait` for a ledger another `actledger`
/// holds gives up with exit 1, naming the holder (as it described itself in the ledger's lock)
/// and `--wait`; with `--wait 0` it says so at once.
#[cfg(unix)]
#[test]
fn a_waiter_that_gives_up_names_the_holder_and_wait() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    // Export lines enough to fill a pipe: an export nobody reads holds the ledger.
    drop(crate::support::generated_ledger(&path, 1500, 500));
    let holder = actledger(&path)
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let described = format!("actledger export (pid {})", holder.id());
    let started = Instant::now();
    while std::fs::read_to_string(path.join("lock")).unwrap_or_default() != described {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the exporter never described itself in the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let who_held = |wait: &str| {
        let mut command = actledger(&path);
        command.args(["--wait", wait, "who-held", "MINDEF", "--on", "2020-06-01"]);
        run_for(&mut command, Duration::from_secs(60))
    };

    let started = Instant::now();
    let ended = who_held("0.5");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert_eq!(ended.stdout, "", "{ended:?}");
    let prefix = format!(
        "error: the ledger at {} is still held by {described} after waiting ",
        path.display()
    );
    assert!(
        ended.stderr.starts_with(&prefix)
            && ended
                .stderr
                .ends_with(" s; wait longer with --wait SECONDS\n")
            && ended.stderr.lines().count() == 1,
        "{ended:?}"
    );

    let started = Instant::now();
    let ended = who_held("0");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(ended.code(), Some(1), "{ended:?}");
    assert_eq!(
        ended.stderr,
        format!(
            "error: the ledger at {} is held by {described}; wait for it with --wait SECONDS\n",
            path.display()
        )
    );

    // Read, the exporter finishes, and the ledger is free again.
    let output = holder.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).lines().count() >= 1500);
    let ended = who_held("0");
    assert_eq!(ended.code(), Some(0), "{ended:?}");
}
