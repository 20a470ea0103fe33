//! Snapshots of what people and tools read: the OpenAPI document and the seed case's SVG.
//!
//! The expected files are in `tests/snapshots/`. When a change is meant, rewrite them and
//! review the diff:
//!
//! ```sh
//! UPDATE_SNAPSHOTS=1 cargo test -p actledger-server --test server snapshot
//! git diff crates/server/tests/snapshots
//! ```

use std::path::PathBuf;

use crate::common::*;

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; run UPDATE_SNAPSHOTS=1 cargo test -p actledger-server --test server snapshot",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()) + 1);
        panic!(
            "{name} differs from {} from line {line} on:\n  expected: {}\n  actual:   {}\nIf the change is meant: UPDATE_SNAPSHOTS=1 cargo test -p actledger-server --test server snapshot",
            path.display(),
            expected.lines().nth(line - 1).unwrap_or("(end)"),
            actual.lines().nth(line - 1).unwrap_or("(end)"),
        );
    }
}

#[tokio::test]
async fn snapshot_of_the_openapi_document() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/api/v1/openapi.json").await;
    let mut text = answer.text().to_owned();
    text.push('\n');
    snapshot("openapi.json", &text);
}

/// The `<svg>` element of the seed case's page, one element a line for readable diffs.
#[tokio::test]
async fn snapshot_of_the_seed_case_svg() {
    let fixture = Fixture::seed();
    let page = get(&fixture.app(), "/offices/MINDEF").await;
    let text = page.text();
    let start = text.find("<svg").unwrap();
    let end = text.find("</svg>").unwrap() + "</svg>".len();
    let svg = text[start..end].replace("><", ">\n<");
    snapshot("seed-timeline.svg", &format!("{svg}\n"));
}
