//! A full disk during append and import: a small filesystem (tmpfs of a few MiB, where this
//! process may mount one) and a file-size limit (RLIMIT_FSIZE via `ulimit -f`, with SIGXFSZ
//! ignored so that writes fail with EFBIG). Either way the command fails with an error, the
//! ledger is as it was, and once space is back the same command succeeds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use actledger_store::{Head, Ledger, verify_path};

use crate::support::{Ended, cli, generated_ledger, run_for};

/// Runs `actledger --ledger PATH ARGS...` with a file-size limit of `limit_kib` KiB.
fn limited(path: &Path, limit_kib: u64, args: &[&str]) -> Ended {
    let script = format!(r#"ulimit -f {limit_kib} && trap '' XFSZ && exec "$@""#);
    let mut command = Command::new("bash");
    command
        .args(["-c", &script, "bash"])
        .arg(cli())
        .arg("--ledger")
        .arg(path)
        .args(args)
        .env_remove("ACTLEDGER_LEDGER")
        .env_remove("ACTLEDGER_WAIT");
    run_for(&mut command, Duration::from_secs(120))
}

fn head_of(path: &Path) -> Head {
    Ledger::open(path).unwrap().head()
}

/// The size of the largest file of a ledger, in KiB.
fn largest_file_kib(path: &Path) -> u64 {
    crate::support::files_in(path)
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .max()
        .unwrap_or(0)
        / 1024
}

fn assert_refused(what: &str, ended: &Ended) {
    assert_eq!(ended.code(), Some(1), "{what}: {ended:?}");
    assert!(!ended.panicked(), "{what}: {ended:?}");
    let message = ended.stderr.to_lowercase();
    assert!(
        message.starts_with("error: ") && message.contains("file too large")
            || message.contains("no space left"),
        "{what}: {}",
        ended.stderr
    );
}

fn assert_refused_and_unchanged(what: &str, ended: &Ended, path: &Path, before: Head) {
    assert_refused(what, ended);
    assert!(verify_path(path).unwrap().is_intact(), "{what}");
    assert_eq!(head_of(path), before, "{what}: the ledger changed");
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_during_append_and_import_leaves_the_ledger_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(generated_ledger(&path, 200, 50));
    let before = head_of(&path);
    // A batch bigger than the room left under the limit.
    let big = dir.path().join("big.ndjson");
    std::fs::write(&big, actledger_e2e::history::ndjson(6000, "BIG")).unwrap();
    let limit = largest_file_kib(&path) + 1024;
    let mut refused = 0;
    for round in 0..3 {
        let ended = limited(&path, limit, &["append", big.to_str().unwrap()]);
        assert_refused_and_unchanged(&format!("append, round {round}"), &ended, &path, before);
        assert!(
            ended.stderr.contains("nothing of the batch was recorded"),
            "{}",
            ended.stderr
        );
        refused += 1;
    }
    println!(
        "full disk: append of 6000 events under a {limit} KiB file-size limit: refused {refused} times, ledger unchanged; error: {}",
        limited(&path, limit, &["append", big.to_str().unwrap()])
            .stderr
            .trim()
    );
    // With room again, the same batch goes in.
    let ended = run_for(
        crate::support::actledger(&path).arg("append").arg(&big),
        Duration::from_secs(600),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    assert!(head_of(&path).count > before.count);

    // Import of a large export under the limit: refused, nothing left at the target.
    let export = dir.path().join("export.ndjson");
    let ended = run_for(
        crate::support::actledger(&path).arg("export").arg(&export),
        Duration::from_secs(120),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    let target = dir.path().join("imported");
    let ended = limited(&target, 600, &["import", export.to_str().unwrap()]);
    assert_eq!(ended.code(), Some(1), "import: {ended:?}");
    assert!(!ended.panicked(), "{ended:?}");
    assert!(!target.exists(), "a refused import left {target:?}");
    let leftovers: Vec<PathBuf> = crate::support::files_in(dir.path())
        .into_iter()
        .filter(|f| f.to_string_lossy().contains(".imported.new-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    println!(
        "full disk: import under a 600 KiB limit: {}",
        ended.stderr.trim()
    );
}

/// Mounts a tmpfs of `size` at `dir`, if this process may.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_filesystem_during_append_and_import_leaves_the_ledger_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir(&mount).unwrap();
    if !mount_tmpfs(&mount, "3m") {
        println!(
            "SKIPPED full filesystem: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN); the file-size limit test covers ENOSPC's sibling EFBIG"
        );
        return;
    }
    let _mounted = Mounted(mount.clone());
    let path = mount.join("ledger");
    let ended = run_for(
        crate::support::actledger(&path).arg("init"),
        Duration::from_secs(60),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    let small = dir.path().join("small.ndjson");
    std::fs::write(&small, actledger_e2e::history::ndjson(100, "S")).unwrap();
    let ended = run_for(
        crate::support::actledger(&path).arg("append").arg(&small),
        Duration::from_secs(60),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    let before = head_of(&path);
    let export = dir.path().join("export.ndjson");
    let ended = run_for(
        crate::support::actledger(&path).arg("export").arg(&export),
        Duration::from_secs(60),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    // Fill the filesystem, leaving a little room.
    let filler = mount.join("filler");
    let free = {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&mount)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap()
    };
    std::fs::write(&filler, vec![1u8; free.saturating_sub(64 * 1024) as usize]).unwrap();
    let big = dir.path().join("big.ndjson");
    std::fs::write(&big, actledger_e2e::history::ndjson(4000, "BIG")).unwrap();
    let ended = run_for(
        crate::support::actledger(&path).arg("append").arg(&big),
        Duration::from_secs(120),
    );
    assert_refused("append on a full filesystem", &ended);
    println!(
        "full filesystem: append of 4000 events on a full 3 MiB tmpfs: {}",
        ended.stderr.trim()
    );
    // While the disk is full, a query answers as before or fails clearly (opening may write).
    let ended = run_for(
        crate::support::actledger(&path).args(["head", "--json"]),
        Duration::from_secs(60),
    );
    assert!(!ended.panicked(), "{ended:?}");
    match ended.code() {
        Some(0) => assert!(
            ended
                .stdout
                .contains(&format!("\"count\":{}", before.count))
        ),
        Some(1) => assert!(ended.stderr.contains("no space left"), "{ended:?}"),
        _ => panic!("{ended:?}"),
    }
    // Import into the full filesystem: refused, nothing left.
    let target = mount.join("imported");
    let ended = run_for(
        crate::support::actledger(&target)
            .arg("import")
            .arg(&export),
        Duration::from_secs(60),
    );
    assert_refused("import on a full filesystem", &ended);
    assert!(!target.exists());
    // Room again: the ledger is as it was, and appends go in.
    std::fs::remove_file(&filler).unwrap();
    assert!(verify_path(&path).unwrap().is_intact());
    assert_eq!(
        head_of(&path),
        before,
        "the refused append changed the ledger"
    );
    let more = dir.path().join("more.ndjson");
    std::fs::write(&more, actledger_e2e::history::ndjson(200, "M")).unwrap();
    let ended = run_for(
        crate::support::actledger(&path).arg("append").arg(&more),
        Duration::from_secs(300),
    );
    assert_eq!(ended.code(), Some(0), "{ended:?}");
    assert!(verify_path(&path).unwrap().is_intact());
}
