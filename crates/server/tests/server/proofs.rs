//! The proof routes: inclusion and consistency proofs as `prove --json` prints them, and the
//! signed checkpoint they check against.

use actledger_proof::{Checkpoint, SignerKey};
use actledger_server::{AppState, Limits, router};
use axum::http::{StatusCode, header};

use crate::common::*;

const ORIGIN: &str = "example.org/actledger";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [7; 32]).unwrap()
}

fn signing_app(fixture: &Fixture) -> axum::Router {
    router(AppState::new(fixture.open(), Some(TOKEN), Limits::default()).with_signer(key()))
}

#[tokio::test]
async fn an_inclusion_proof_checks_against_the_signed_checkpoint() {
    let fixture = Fixture::seed();
    let app = signing_app(&fixture);
    let answer = get(&app, "/api/v1/entries/5/proof").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));
    assert!(answer.header(header::ETAG).is_some());
    let body = answer.json();
    assert_eq!(body["seq"], 5);
    assert_eq!(body["leaf_index"], 4);
    assert_eq!(body["tree_size"], 7);
    let proof: actledger_proof::InclusionProof = serde_json::from_slice(&answer.body).unwrap();

    let note = get(&app, "/api/v1/checkpoint").await;
    assert_eq!(note.status, StatusCode::OK);
    assert_eq!(note.content_type(), "text/plain; charset=utf-8");
    assert!(
        note.text().starts_with(&format!("{ORIGIN}\n7\n")),
        "{}",
        note.text()
    );
    let opened = Checkpoint::open(&note.body, &[key().verifier_key().clone()]).unwrap();
    proof.check(&opened.checkpoint).unwrap();

    // For a smaller tree: the same proof `prove 5 --size 6 --json` prints. Only `as_of`
    // pins an answer (docs/HTTP.md): this one revalidates with the head's tag.
    let pinned = get(&app, "/api/v1/entries/5/proof?tree_size=6").await;
    assert_eq!(pinned.header(header::CACHE_CONTROL), Some("no-cache"));
    drop(app);
    let ledger = fixture.open();
    let expected = ledger.inclusion_proof(5, 6).unwrap();
    assert_eq!(pinned.text(), serde_json::to_string(&expected).unwrap());
    let export_line = ledger.entry(5).unwrap().unwrap().export_line();
    assert_eq!(
        format!("{}\n", body["entry"].as_str().unwrap()),
        export_line
    );
}

#[tokio::test]
async fn a_consistency_proof_links_two_sizes() {
    let fixture = Fixture::seed();
    let app = signing_app(&fixture);
    let answer = get(&app, "/api/v1/proof/consistency?first=3&second=7").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));
    assert!(answer.header(header::ETAG).is_some());
    let proof: actledger_proof::ConsistencyProof = serde_json::from_slice(&answer.body).unwrap();
    drop(app);
    let ledger = fixture.open();
    let old = Checkpoint::new(ORIGIN, 3, ledger.tree_root(3).unwrap());
    let new = Checkpoint::new(ORIGIN, 7, ledger.tree_root(7).unwrap());
    proof.check(&old, &new).unwrap();
    assert_eq!(
        answer.text(),
        serde_json::to_string(&ledger.consistency_proof(3, 7).unwrap()).unwrap()
    );
}

#[tokio::test]
async fn bad_proof_requests_are_problems() {
    let fixture = Fixture::seed();
    let app = signing_app(&fixture);
    for uri in ["/api/v1/entries/0/proof", "/api/v1/entries/8/proof"] {
        get(&app, uri).await.problem(404);
    }
    for (uri, field) in [
        ("/api/v1/entries/x/proof", "seq"),
        ("/api/v1/entries/5/proof?tree_size=4", "tree_size"),
        ("/api/v1/entries/5/proof?tree_size=99", "tree_size"),
        ("/api/v1/entries/5/proof?tree_size=big", "tree_size"),
        ("/api/v1/proof/consistency?second=7", "first"),
        ("/api/v1/proof/consistency?first=3", "second"),
        ("/api/v1/proof/consistency?first=5&second=3", "first"),
        ("/api/v1/proof/consistency?first=0&second=3", "first"),
        ("/api/v1/proof/consistency?first=3&second=99", "second"),
    ] {
        let problem = get(&app, uri).await.problem(400);
        assert_eq!(problem["field"], field, "{uri}: {problem}");
    }
}

#[tokio::test]
async fn without_a_key_there_is_no_checkpoint() {
    let fixture = Fixture::seed();
    let problem = get(&fixture.app(), "/api/v1/checkpoint").await.problem(404);
    assert!(problem["detail"].as_str().unwrap().contains("signer key"));
}
