//! `/tlog/`: the log as C2SP tlog-tiles at the newest kept checkpoint. Every file `publish`
//! writes for that checkpoint (and those it kept from an earlier publish) is served byte for
//! byte at the same path under `/tlog/`, tiles and bundles immutable, the checkpoint and the
//! statement revalidated; nothing past the checkpoint's size, no malformed path, and nothing
//! at all while no checkpoint is kept.

use std::collections::BTreeMap;
use std::path::Path;

use actledger_core::parse_batch;
use actledger_proof::SignerKey;
use actledger_store::Ledger;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::common::*;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn key() -> SignerKey {
    SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap()
}

/// Appends acts until `ledger` holds `size` entries.
fn grow_to(ledger: &mut Ledger, size: u64) {
    if size <= ledger.head().count {
        return;
    }
    let batch: Vec<String> = (ledger.head().count..size)
        .map(|n| {
            format!(
                r#"{{"type":"act_issued","act":"RS-{n}-2025-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2025-01-01"}}"#
            )
        })
        .collect();
    ledger
        .append(parse_batch(batch.join("\n").as_bytes()).unwrap())
        .unwrap();
}

/// Signs and keeps a checkpoint of `ledger`'s head, as `checkpoint --key` does, and publishes
/// it into `mirror`, as `publish` does.
fn keep_and_publish(ledger: &Ledger, mirror: &Path) {
    let kept = actledger_answers::sign_checkpoint(ledger, &key()).unwrap();
    actledger_mirror::publish(ledger, mirror, &kept, &mut |_| {}).unwrap();
}

/// Every file under `dir`, by its path with `/`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy();
                files.insert(name.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A ledger of 300 entries, the seed case's 7 and acts, published (and kept) at 7 entries and
/// then at 300, with the folder `publish` wrote.
fn published() -> (Fixture, std::path::PathBuf) {
    let fixture = Fixture::seed();
    let mirror = fixture.dir.path().join("mirror");
    let mut ledger = fixture.open();
    grow_to(&mut ledger, 7);
    keep_and_publish(&ledger, &mirror);
    grow_to(&mut ledger, 300);
    keep_and_publish(&ledger, &mirror);
    (fixture, mirror)
}

#[tokio::test]
async fn every_file_publish_writes_is_served_byte_for_byte_under_tlog() {
    let (fixture, mirror) = published();
    // Entries past the kept checkpoint, which change an office's answers: what is served is
    // still the mirror of the kept checkpoint, the state recomputed at its size.
    let mut ledger = fixture.open();
    ledger
        .append(
            parse_batch(
                br#"{"type":"act_issued","act":"RS-900-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}
{"type":"left_office","act":"RS-900-2024-PCM","person":"walter-astudillo","office":"MINDEF","on":"2024-07-02"}"#,
            )
            .unwrap(),
        )
        .unwrap();
    drop(ledger);
    let app = fixture.app();
    let files = files(&mirror);
    // The full tile and bundle, the partial ones of both publishes, the level-1 tile.
    for path in [
        "tile/0/000",
        "tile/entries/000",
        "tile/0/000.p/7",
        "tile/entries/000.p/7",
        "tile/0/001.p/44",
        "tile/entries/001.p/44",
        "tile/1/000.p/1",
        "checkpoint",
        "statement",
        "state/offices.json",
        "state/offices/MINDEF.json",
        "state/offices/MEF.json",
    ] {
        assert!(files.contains_key(path), "{path} in {:?}", files.keys());
    }
    // The log and the answers' state; the pages and data files are the folder's own (a server
    // has its pages and API).
    let served_files = files.iter().filter(|(path, _)| {
        path.starts_with("tile/")
            || path.starts_with("state/")
            || !path.contains('/') && !path.ends_with(".html")
    });
    for (path, bytes) in served_files {
        let served = get(&app, &format!("/tlog/{path}")).await;
        assert_eq!(served.status, StatusCode::OK, "{path}: {}", served.text());
        assert!(served.body == *bytes, "{path} is served with other bytes");
        let (content_type, cache) = if path.starts_with("tile/") {
            ("application/octet-stream", IMMUTABLE)
        } else if path.starts_with("state/") {
            ("application/json", "no-cache")
        } else {
            ("text/plain; charset=utf-8", "no-cache")
        };
        assert_eq!(served.content_type(), content_type, "{path}");
        assert_eq!(served.header(header::CACHE_CONTROL), Some(cache), "{path}");
        assert_eq!(
            served.header(header::ETAG).is_some(),
            cache == "no-cache",
            "{path}"
        );
    }
    for missing in [
        "/tlog/state/offices/NOPE.json",
        "/tlog/state/offices/-bad.json",
        "/tlog/state/offices.txt",
        "/tlog/state/",
    ] {
        assert_eq!(
            get(&app, missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn the_checkpoint_is_revalidated_and_changes_with_a_new_kept_checkpoint() {
    let (fixture, _mirror) = published();
    let app = fixture.app();
    let first = get(&app, "/tlog/checkpoint").await;
    let tag = first.header(header::ETAG).unwrap().to_owned();
    let again = send(
        &app,
        Request::get("/tlog/checkpoint")
            .header(header::IF_NONE_MATCH, &tag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    // The statement names the same checkpoint.
    let statement = get(&app, "/tlog/statement").await;
    let vkeys = [key().verifier_key().clone()];
    let opened = actledger_proof::Checkpoint::open(&first.body, &vkeys).unwrap();
    let statement = actledger_proof::Statement::open(&statement.body, &vkeys).unwrap();
    assert!(statement.binds(&opened.checkpoint));
    assert_eq!(opened.checkpoint.size, 300);
    drop(app);
    // A new checkpoint kept: another tag, another note.
    {
        let mut ledger = fixture.open();
        grow_to(&mut ledger, 301);
        actledger_answers::sign_checkpoint(&ledger, &key()).unwrap();
    }
    let app = fixture.app();
    let newer = get(&app, "/tlog/checkpoint").await;
    assert_ne!(newer.header(header::ETAG), Some(tag.as_str()));
    let opened = actledger_proof::Checkpoint::open(&newer.body, &vkeys).unwrap();
    assert_eq!(opened.checkpoint.size, 301);
}

#[tokio::test]
async fn nothing_past_the_kept_checkpoint_and_no_malformed_path_is_served() {
    let (fixture, _mirror) = published();
    {
        // Entries appended after the checkpoint was kept are not in the log served.
        let mut ledger = fixture.open();
        grow_to(&mut ledger, 600);
    }
    let app = fixture.app();
    for path in [
        // Past the size of 300: a wider partial tile, the next full ones, level 2.
        "tile/0/001.p/45",
        "tile/entries/001.p/45",
        "tile/0/001",
        "tile/entries/001",
        "tile/0/002.p/1",
        "tile/1/000.p/2",
        "tile/2/000.p/1",
        // Not a tile path in its one spelling.
        "tile/0/1",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/00/000",
        "tile/0/x000/000",
        "tile/64/000",
        "tile/entries",
        "tile/",
        "tile/0/000/",
        "checkpoints",
        "",
    ] {
        let answer = get_accepting(&app, &format!("/tlog/{path}"), BROWSER).await;
        let problem = answer.problem(404);
        assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"));
        assert!(
            problem["detail"].as_str().unwrap().contains("/tlog/"),
            "{path}: {problem}"
        );
    }
    // A narrower partial tile is one of a smaller tree: a reader holding an older
    // checkpoint asks for it, so it is served though no publish wrote it.
    let older = get(&app, "/tlog/tile/0/001.p/3").await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(older.body.len(), 3 * 32);
    assert_eq!(older.header(header::CACHE_CONTROL), Some(IMMUTABLE));
    let older = get(&app, "/tlog/tile/entries/001.p/3").await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(
        actledger_proof::decode_bundle(&older.body).unwrap().len(),
        3
    );
}

#[tokio::test]
async fn with_no_kept_checkpoint_nothing_is_served_and_the_problem_says_how_to_keep_one() {
    let app = Fixture::seed().app();
    for path in [
        "checkpoint",
        "statement",
        "tile/0/000.p/7",
        "tile/entries/000.p/7",
    ] {
        let problem = get(&app, &format!("/tlog/{path}")).await.problem(404);
        assert_eq!(problem["type"], "urn:actledger:problem:no-kept-checkpoint");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("actledger checkpoint --key"), "{detail}");
    }
}
