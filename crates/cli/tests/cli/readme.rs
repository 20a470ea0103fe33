//! The README's walkthrough, run: every `console` block's `$ ` commands are executed from the
//! workspace root against a fresh ledger, and what they print (stdout and stderr, as a
//! terminal shows them) must match the lines below them. `[..]` in an expected line matches
//! any text (hashes, times, temporary paths). So the README cannot drift from the product.

use std::path::Path;
use std::process::Command;

/// The blocks: (command, expected lines).
fn walkthrough(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_console = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push((command.to_owned(), Vec::new()));
        } else if let Some((_, expected)) = steps.last_mut() {
            expected.push(line.to_owned());
        }
    }
    steps
}

/// Whether `actual` matches `pattern`, where `[..]` matches any run of characters.
fn matches(pattern: &str, actual: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn the_readme_walkthrough_prints_what_it_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = walkthrough(&readme);
    assert!(
        steps.len() >= 10,
        "the README walkthrough has {} commands",
        steps.len()
    );
    let scratch = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_actledger"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for (command, expected) in &steps {
        // The first two commands of the README build and test; the walkthrough starts after.
        if command.starts_with("cargo ") {
            continue;
        }
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("{command} 2>&1"))
            .current_dir(&root)
            .env("PATH", &path)
            .env("ACTLEDGER_LEDGER", scratch.path().join("walkthrough.db"))
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&output.stdout);
        let actual: Vec<&str> = actual.lines().collect();
        let same = actual.len() == expected.len()
            && expected.iter().zip(&actual).all(|(e, a)| matches(e, a));
        if !same {
            failures.push(format!(
                "$ {command}\n--- README says:\n{}\n--- it prints:\n{}",
                expected.join("\n"),
                actual.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the README drifted:\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn wildcards_match_as_documented() {
    assert!(matches("head [..]", "head abc"));
    assert!(matches("a [..] b [..] c", "a x b y c"));
    assert!(!matches("a [..] b", "a x c"));
    assert!(matches("exact", "exact"));
    assert!(!matches("exact", "exact plus"));
}
