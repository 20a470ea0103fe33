//! Issue #15: an `import` stopped by Ctrl-C (SIGINT) or SIGTERM removes the folder it was
//! building in and exits 130 or 143 with one line; one killed outright (SIGKILL) leaves that
//! folder, and the next `import` or `init` of the same ledger removes it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actledger_store::Ledger;

use crate::support::{actledger, generated_ledger};

/// Events in the export imported: enough for an import of a second or more.
const EVENTS: usize = 10_000;

/// Exports a generated ledger of [`EVENTS`] events into `dir/export.ndjson`.
fn large_export(dir: &Path) -> PathBuf {
    let source = dir.join("source");
    let ledger = generated_ledger(&source, EVENTS, 1000);
    let export = dir.join("export.ndjson");
    let mut file = std::fs::File::create(&export).unwrap();
    ledger.export(&mut file, &mut |_| {}).unwrap();
    drop(ledger);
    std::fs::remove_dir_all(&source).unwrap();
    export
}

/// The staging folders of the ledger `name` in `dir`.
fn staging_folders(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.new-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Starts `actledger import FILE` into `target`, and returns once it is building: its staging
/// folder is there, locked, with the import named in the lock.
fn start_import(target: &Path, export: &Path) -> Child {
    let child = actledger(target)
        .arg("import")
        .arg(export)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_building(target, child.id());
    child
}

/// Waits until the import of process `pid` builds `target`: its staging folder is there,
/// locked, with the import named in the lock.
fn wait_building(target: &Path, pid: u32) {
    let dir = target.parent().unwrap();
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    let described = format!("actledger import (pid {pid})");
    let started = Instant::now();
    while !staging_folders(dir, &name).iter().any(|folder| {
        std::fs::read_to_string(folder.join("lock")).is_ok_and(|text| text == described)
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the import never started building"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn ctrl_c_or_sigterm_during_an_import_leaves_nothing_and_exits_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let export = large_export(dir.path());
    let target = dir.path().join("ledger");
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let child = start_import(&target, &export);
        signal(&child, name);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "SIG{name}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: interrupted: nothing was imported into {}\n",
                target.display()
            ),
            "SIG{name}"
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout), "", "SIG{name}");
        assert!(!target.exists(), "SIG{name} left a ledger");
        assert_eq!(staging_folders(dir.path(), "ledger"), Vec::<PathBuf>::new());
    }
}

/// Ctrl-C at a terminal reaches the whole pipeline: the writer of `import -` stops too, and
/// the import sees its input end, maybe in the middle of a line. That is the interruption, not
/// a short export to refuse (nor, ending between two lines, a shorter ledger to keep).
#[cfg(unix)]
#[test]
fn an_import_from_a_pipe_cut_short_by_ctrl_c_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let export = large_export(dir.path());
    let bytes = std::fs::read(&export).unwrap();
    let target = dir.path().join("ledger");
    for cut in [
        bytes.len() / 3,
        1 + bytes[..bytes.len() / 2]
            .iter()
            .rposition(|b| *b == b'\n')
            .unwrap(),
    ] {
        let mut child = actledger(&target)
            .args(["import", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, &bytes[..cut]).unwrap();
        // The import reads what it was given, then waits on the pipe.
        std::thread::sleep(Duration::from_millis(500));
        signal(&child, "INT");
        std::thread::sleep(Duration::from_millis(100));
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "cut at {cut}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: interrupted: nothing was imported into {}\n",
                target.display()
            )
        );
        assert!(!target.exists());
        assert_eq!(staging_folders(dir.path(), "ledger"), Vec::<PathBuf>::new());
    }
}

#[cfg(unix)]
#[test]
fn the_leftover_of_a_killed_import_is_removed_by_the_next_import_or_init() {
    let dir = tempfile::tempdir().unwrap();
    let export = large_export(dir.path());
    for next in ["import", "init"] {
        let target = dir.path().join(format!("ledger-{next}"));
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        let mut child = start_import(&target, &export);
        child.kill().unwrap(); // SIGKILL: nothing runs after it
        child.wait().unwrap();
        let left = staging_folders(dir.path(), &name);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(!target.exists());

        let mut command = actledger(&target);
        command.arg(next);
        if next == "import" {
            command.arg(&export);
        }
        let ended = crate::support::run_for(&mut command, Duration::from_secs(120));
        assert_eq!(ended.code(), Some(0), "{next}: {ended:?}");
        assert_eq!(
            staging_folders(dir.path(), &name),
            Vec::<PathBuf>::new(),
            "{next}"
        );
        let lines = std::fs::read_to_string(&export).unwrap().lines().count() as u64;
        let expected = if next == "import" { lines } else { 0 };
        assert_eq!(
            Ledger::open(&target).unwrap().head().count,
            expected,
            "{next}"
        );
    }
}
