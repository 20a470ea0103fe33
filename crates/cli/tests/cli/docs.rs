//! docs/CLI.md's table of typed appends is held to the command itself: every `append TYPE`
//! documented exists, and its required and optional flags are exactly those its `--help`
//! shows (the flags come from the core's event fields, so a field added there without the
//! table is caught here).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The flags a cell names: `--act`, `--issued-on DATE` → `--act`, `--issued-on`.
fn flags(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .filter(|part| part.starts_with("--"))
        .map(|part| part.split_whitespace().next().unwrap_or(part).to_owned())
        .collect()
}

/// (TYPE, required flags, optional flags) for each row of the table.
fn documented() -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CLI.md"))
            .expect("docs/CLI.md");
    let section = doc
        .split("### `append TYPE --field VALUE ...`")
        .nth(1)
        .expect("docs/CLI.md has the typed append section");
    let mut rows = Vec::new();
    for line in section
        .lines()
        .skip_while(|l| !l.starts_with("| TYPE"))
        .skip(2)
    {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 6, "a row of four cells: {line}");
        let name = cells[1]
            .split('`')
            .nth(1)
            .expect("TYPE in backticks")
            .to_owned();
        rows.push((name, flags(cells[3]), flags(cells[4])));
    }
    rows
}

/// The required and optional flags of `append TYPE`, read from its `--help`.
fn shown(name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_actledger"))
        .args(["append", name, "--help"])
        .output()
        .expect("running actledger");
    assert!(output.status.success(), "append {name} --help");
    let help = String::from_utf8_lossy(&output.stdout);
    let usage = help
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .expect("a usage line");
    let required: BTreeSet<String> = usage
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(str::to_owned)
        .collect();
    // The options of every command, and those `append` gives each of its types.
    let global = ["--ledger", "--wait", "--help", "--quiet", "--strict"];
    let all: BTreeSet<String> = help
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(',').to_owned())
        .filter(|w| !global.contains(&w.as_str()))
        .collect();
    let optional = all.difference(&required).cloned().collect();
    (required, optional)
}

#[test]
fn the_typed_append_table_matches_every_type_and_flag() {
    let rows = documented();
    assert_eq!(
        rows.len(),
        actledger_core::EVENT_TYPES.len(),
        "one row per event type"
    );
    for (name, required, optional) in rows {
        let (shown_required, shown_optional) = shown(&name);
        assert_eq!(
            required, shown_required,
            "the required flags of `append {name}`"
        );
        assert_eq!(
            optional, shown_optional,
            "the optional flags of `append {name}`"
        );
    }
}
