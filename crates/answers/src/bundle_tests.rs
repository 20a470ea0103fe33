//! Bundles made from a ledger and checked in process: every byte of every hash, leaf and
//! signed note changed is refused (the CLI and Python tests sample the same through both
//! checkers).
#![allow(clippy::unwrap_used)]

use actledger_core::{Day, parse_batch};
use actledger_proof::SignerKey;
use actledger_store::Ledger;

use crate::bundle::{Bundle, ProvenAnswer, check_bundle, make_bundle};
use crate::state::sign_checkpoint;

const SEED: &str = include_str!("../../cli/data/seed.ndjson");

fn seeded() -> (tempfile::TempDir, Ledger, SignerKey) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(&dir.path().join("l.db")).unwrap();
    ledger
        .append(parse_batch(SEED.as_bytes()).unwrap())
        .unwrap();
    let key = SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap();
    (dir, ledger, key)
}

fn text(bundle: &Bundle<ProvenAnswer>) -> String {
    serde_json::to_string(bundle).unwrap()
}

#[test]
fn every_changed_byte_of_a_hash_a_leaf_or_a_note_is_refused() {
    let (_dir, ledger, key) = seeded();
    let kept = sign_checkpoint(&ledger, &key).unwrap();
    let vkey = key.verifier_key().clone();
    let on = Day::parse("2024-06-03").unwrap();
    let bundle = make_bundle(&ledger, "MINDEF", on, &kept).unwrap();
    let good = text(&bundle);
    let checked = check_bundle(good.as_bytes(), &vkey).unwrap();
    assert_eq!(checked.answer, bundle.answer);
    let mut tried = 0;
    for (tree, proof) in [("office", &bundle.office), ("segment", &bundle.segment)] {
        let proof = proof.as_ref().unwrap();
        for i in 0..proof.path.len() {
            for byte in 0..32 {
                let mut forged = bundle.clone();
                let hash = &mut match tree {
                    "office" => forged.office.as_mut(),
                    _ => forged.segment.as_mut(),
                }
                .unwrap()
                .path[i];
                hash.0[byte] ^= 1;
                assert!(check_bundle(text(&forged).as_bytes(), &vkey).is_err());
                tried += 1;
            }
        }
        for at in 0..proof.leaf.len() {
            let mut bytes = proof.leaf.clone().into_bytes();
            // A printable change keeps the leaf a JSON string.
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            let Ok(leaf) = String::from_utf8(bytes) else {
                continue;
            };
            let mut forged = bundle.clone();
            match tree {
                "office" => forged.office.as_mut(),
                _ => forged.segment.as_mut(),
            }
            .unwrap()
            .leaf = leaf;
            assert!(check_bundle(text(&forged).as_bytes(), &vkey).is_err());
            tried += 1;
        }
    }
    for note in ["checkpoint", "statement"] {
        let original = if note == "checkpoint" {
            &bundle.checkpoint
        } else {
            &bundle.statement
        };
        for at in 0..original.len() {
            let mut bytes = original.clone().into_bytes();
            if !bytes[at].is_ascii_alphanumeric() {
                continue;
            }
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            let mut forged = bundle.clone();
            if note == "checkpoint" {
                forged.checkpoint = changed;
            } else {
                forged.statement = changed;
            }
            assert!(
                check_bundle(text(&forged).as_bytes(), &vkey).is_err(),
                "{note} byte {at}"
            );
            tried += 1;
        }
    }
    assert!(tried > 500, "{tried}");
}

#[test]
fn a_state_the_statement_does_not_sign_gives_no_bundle() {
    let (_dir, mut ledger, key) = seeded();
    let kept = sign_checkpoint(&ledger, &key).unwrap();
    // The same size and log root, another state root: signed, but not the log's state.
    let mut statement = actledger_proof::Statement::open(
        kept.statement.as_bytes(),
        std::slice::from_ref(key.verifier_key()),
    )
    .unwrap();
    statement.state_root[0] ^= 1;
    let forged = actledger_store::KeptCheckpoint {
        statement: statement.sign(&key).unwrap(),
        ..kept.clone()
    };
    let on = Day::parse("2024-06-03").unwrap();
    assert!(matches!(
        make_bundle(&ledger, "MINDEF", on, &forged),
        Err(crate::AnswerError::Proof { .. })
    ));
    // A later append leaves the kept checkpoint's bundle as it was.
    let before = make_bundle(&ledger, "MINDEF", on, &kept).unwrap();
    ledger
        .append(parse_batch(br#"{"type":"act_issued","act":"RS-9-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#).unwrap())
        .unwrap();
    assert_eq!(make_bundle(&ledger, "MINDEF", on, &kept).unwrap(), before);
}

#[test]
fn a_bundle_against_an_older_checkpoint_reads_the_leaves_kept_with_it() {
    let (_dir, mut ledger, key) = seeded();
    let kept = sign_checkpoint(&ledger, &key).unwrap();
    assert_eq!(
        kept.offices.len() as u64,
        ledger.stored_state().unwrap().len() as u64
    );
    // A later append renames the acting minister and adds an office: the head's state moves.
    ledger
        .append(parse_batch(br#"{"type":"act_issued","act":"RS-9-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"appointed","act":"RS-9-2024-PCM","person":"jose-arista","person_name":"J. Arista","office":"MINEDU","on":"2024-01-02"}"#).unwrap())
        .unwrap();
    // The kept state at the head followed the rename into MINDEF, where the renamed person
    // was acting, and the new office: it is the state recomputed from the log.
    let head = ledger.head().count;
    let kept_now = crate::state::kept_head_state(&ledger).unwrap();
    assert_eq!(kept_now, crate::state::answer_state(&ledger, head).unwrap());
    assert_ne!(kept_now.offices, kept.offices);
    let on = Day::parse("2024-06-03").unwrap();
    let vkey = key.verifier_key().clone();
    // From the kept leaves, or from the state recomputed (a copy kept without them): the same
    // bundle, and it checks, as of the checkpoint's size.
    let bundle = make_bundle(&ledger, "MINDEF", on, &kept).unwrap();
    let recomputed = actledger_store::KeptCheckpoint {
        offices: Vec::new(),
        ..kept.clone()
    };
    assert_eq!(
        make_bundle(&ledger, "MINDEF", on, &recomputed).unwrap(),
        bundle
    );
    let checked = check_bundle(text(&bundle).as_bytes(), &vkey).unwrap();
    assert_eq!(checked.checkpoint.size, kept.size);
    // Kept leaves that are not the signed state do not open.
    let mut forged = kept.clone();
    forged.offices[0].segments += 1;
    assert!(forged.open().is_err());
    assert!(matches!(
        make_bundle(&ledger, "MINDEF", on, &forged),
        Err(crate::AnswerError::Proof { .. })
    ));
}
