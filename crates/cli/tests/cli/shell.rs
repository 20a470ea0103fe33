//! `completions SHELL` and `man`: scripts a shell accepts, a manual page `man` can read.

use std::process::Command;

fn actledger(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_actledger"))
        .args(args)
        .env_remove("ACTLEDGER_LEDGER")
        .output()
        .expect("running actledger")
}

#[test]
fn completions_are_printed_for_every_shell_and_bash_loads_them() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = actledger(&["completions", shell]);
        assert!(output.status.success(), "completions {shell}");
        let script = String::from_utf8(output.stdout).expect("UTF-8");
        for command in ["who-held", "append", "verify", "completions"] {
            assert!(script.contains(command), "{shell}'s script names {command}");
        }
    }
    let script = actledger(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("actledger.bash");
    std::fs::write(&file, script).expect("writing the script");
    // Sourced into bash, it registers a completion for the command; asked to complete
    // `actledger who`, it offers who-held.
    let probe = format!(
        "source {}; complete -p actledger; COMP_WORDS=(actledger who); COMP_CWORD=1; COMP_LINE='actledger who'; COMP_POINT=13; _actledger actledger who actledger; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let bash = Command::new("bash")
        .args(["-c", &probe])
        .output()
        .expect("bash");
    let said = String::from_utf8_lossy(&bash.stdout);
    assert!(
        bash.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    assert!(said.contains("-F _actledger actledger"), "{said}");
    assert!(said.lines().any(|l| l == "who-held"), "{said}");
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_shells() {
    let output = actledger(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("bash, elvish, fish, powershell, zsh"),
        "{said}"
    );
}

#[test]
fn man_prints_a_manual_page() {
    let output = actledger(&["man"]);
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(page.contains(".TH actledger 1"), "{page}");
    assert!(page.contains(".SH NAME"));
    assert!(page.contains("who\\-held"), "the commands are listed");
    // `man` itself renders it, where it is installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let file = dir.path().join("actledger.1");
        std::fs::write(&file, &page).expect("writing the page");
        let shown = Command::new("man")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .expect("man");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.status.success() && text.contains("who held this office"),
            "{text}"
        );
    }
}

#[test]
fn commands_that_open_no_ledger_do_not_offer_ledger_or_wait() {
    for command in ["keygen", "check-proof", "demo", "completions", "man"] {
        let help = String::from_utf8(actledger(&[command, "--help"]).stdout).expect("UTF-8");
        assert!(!help.contains("--ledger"), "{command}: {help}");
        assert!(!help.contains("--wait"), "{command}: {help}");
    }
    let help = String::from_utf8(actledger(&["who-held", "--help"]).stdout).expect("UTF-8");
    assert!(
        help.contains("--ledger") && help.contains("--wait"),
        "{help}"
    );
    // Still accepted, for scripts that pass them to every command.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let output = actledger(&[
        "--ledger",
        "x.db",
        "--wait",
        "1",
        "keygen",
        "t",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
