//! Issue #15: ledgers shared between processes and people. `--wait` by default, waiters that
//! give up naming the holder, an interrupted `import` leaving nothing, usage lines that do not
//! present `--ledger` as required when the environment gives it, and exports that follow the
//! umask.

use predicates::prelude::*;
use predicates::str::contains;

use super::Sandbox;

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

/// The usage line of a usage error.
fn usage_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|line| line.starts_with("Usage:"))
        .unwrap_or_else(|| panic!("no usage line: {stderr}"))
}

#[test]
fn usage_does_not_show_ledger_or_wait_when_the_environment_gives_them() {
    // The sandbox sets ACTLEDGER_LEDGER; ACTLEDGER_WAIT as well here.
    let s = Sandbox::new();
    let cases: [(&[&str], &str); 4] = [
        (&["who-held"], "Usage: actledger who-held <OFFICE>"),
        (&["history"], "Usage: actledger history <OFFICE>"),
        (&["prove"], "Usage: actledger prove <SEQ|ACT>"),
        (
            &["append", "trip", "--act", "A"],
            "Usage: actledger append trip --act <ACT> --person <PERSON> --office <OFFICE> --from <DATE> --until <DATE>",
        ),
    ];
    for wait in [None, Some("3")] {
        for (args, expected) in cases {
            let mut cmd = s.cmd();
            if let Some(wait) = wait {
                cmd.env("ACTLEDGER_WAIT", wait);
            }
            let assert = cmd.args(args).assert().code(2).stdout("");
            let stderr = stderr_of(&assert);
            assert_eq!(usage_line(&stderr), expected, "{args:?}, wait {wait:?}");
            assert!(!stderr.contains("--ledger"), "{stderr}");
            assert!(!stderr.contains("--wait"), "{stderr}");
        }
    }
    // A flag the user typed is still shown, as clap shows what was given.
    let assert = s.run(&["who-held", "--on", "2024-06-03"]).code(2);
    assert_eq!(
        usage_line(&stderr_of(&assert)),
        "Usage: actledger who-held --on <DATE> <OFFICE>"
    );
    // A bad value in the environment is still a usage error that names the flag.
    s.cmd()
        .env("ACTLEDGER_WAIT", "soon")
        .args(["head"])
        .assert()
        .code(2)
        .stderr(contains("invalid value 'soon' for '--wait <SECONDS>'"));
    // The help still says where the default comes from.
    s.run(&["who-held", "--help"])
        .success()
        .stdout(contains("[env: ACTLEDGER_LEDGER=").and(contains("[env: ACTLEDGER_WAIT")));
}

/// Runs `actledger ARGS` in the sandbox under `umask`.
#[cfg(unix)]
fn with_umask(s: &Sandbox, umask: &str, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("actledger");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .current_dir(s.dir.path())
        .env("ACTLEDGER_LEDGER", s.ledger())
        .output()
        .unwrap()
}

/// The permission bits of a file.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An export is meant to be shared: `export FILE` and `checkpoint --out FILE` write files
/// with the umask's permissions (a temporary file made by tempfile would be 0600 whatever the
/// umask), new or replacing one; key files stay 0600.
#[cfg(unix)]
#[test]
fn files_export_and_checkpoint_write_follow_the_umask() {
    let s = Sandbox::seeded();
    let keys = s.dir.path().join("keys");
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    let key = keys.join("example.org_actledger.key");
    assert_eq!(mode(&key), 0o600);
    let key = key.to_str().unwrap();
    for (umask, expected) in [("022", 0o644), ("027", 0o640), ("002", 0o664)] {
        for args in [
            vec!["export", "out.ndjson"],
            vec!["checkpoint", "--key", key, "--out", "cp"],
        ] {
            let output = with_umask(&s, umask, &args);
            assert!(output.status.success(), "{args:?}: {output:?}");
            let file = s.dir.path().join(args.last().unwrap());
            assert_eq!(
                mode(&file),
                expected,
                "{args:?} under umask {umask}: {:o}",
                mode(&file)
            );
        }
    }
}
