//! The Merkle tree kept beside the chain: roots and proofs from the stored hashes agree with a
//! tree built from the export alone, and a signed checkpoint catches what the chain cannot.

use std::path::Path;

use actledger_proof::{Checkpoint, MemoryTree, SignerKey, verify_consistency, verify_inclusion};
use actledger_store::testing::{self, META_HEAD, META_TREE};
use actledger_store::{Head, Ledger, Problem, Scope, Verdict, verify_path_against};

use crate::common::{batch, generated, ledger_with, numbered_batch, raw, scratch};

/// The tree a third party builds from the export lines alone.
fn tree_of_export(ledger: &Ledger) -> MemoryTree {
    let mut export = Vec::new();
    ledger.export(&mut export, &mut |_| {}).unwrap();
    let mut tree = MemoryTree::new();
    for line in export.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        tree.push(line);
    }
    tree
}

#[test]
fn roots_and_proofs_agree_with_the_export_at_every_size() {
    let s = scratch();
    // Batches of different sizes, so stored hashes of one batch depend on earlier ones.
    let mut ledger = Ledger::create(&s.path).unwrap();
    for (k, size) in [1usize, 2, 5, 1, 7, 3].iter().enumerate() {
        ledger
            .append(batch(&numbered_batch(k as u64, *size)))
            .unwrap();
    }
    let tree = tree_of_export(&ledger);
    let count = ledger.head().count;
    assert_eq!(tree.size(), count);
    for size in 1..=count {
        let root = ledger.tree_root(size).unwrap();
        assert_eq!(root, tree.root_at(size).unwrap(), "root of size {size}");
        for seq in 1..=size {
            let proof = ledger.inclusion_proof(seq, size).unwrap();
            verify_inclusion(&proof.leaf_hash, seq - 1, size, &proof.proof, &root).unwrap();
            assert_eq!(
                proof.entry.as_bytes(),
                ledger
                    .entry(seq)
                    .unwrap()
                    .unwrap()
                    .export_line()
                    .trim_end()
                    .as_bytes()
            );
        }
        for first in 1..=size {
            let proof = ledger.consistency_proof(first, size).unwrap();
            verify_consistency(
                first,
                size,
                &proof.first_root,
                &proof.second_root,
                &proof.proof,
            )
            .unwrap();
            assert_eq!(proof.second_root, root);
        }
    }
    assert!(ledger.inclusion_proof(0, count).is_err());
    assert!(ledger.inclusion_proof(count + 1, count + 1).is_err());
    assert!(ledger.consistency_proof(3, 2).is_err());
    assert!(ledger.tree_root(count + 1).is_err());
}

/// The stored hashes are kept in tiles of 128: appends whose hashes end inside a tile, fill
/// it exactly or run over into the next ones must give the roots and proofs of the export.
#[test]
fn roots_and_proofs_agree_across_tiles_of_stored_hashes() {
    let s = scratch();
    let mut ledger = Ledger::create(&s.path).unwrap();
    // About two stored hashes per entry: these sizes cross tile boundaries mid-batch, at a
    // batch's end and in a batch larger than a tile.
    for (k, size) in [1usize, 60, 67, 1, 130, 300, 9].iter().enumerate() {
        ledger
            .append(batch(&numbered_batch(k as u64, *size)))
            .unwrap();
    }
    let tree = tree_of_export(&ledger);
    let count = ledger.head().count;
    assert_eq!(tree.size(), count);
    for size in (1..=count).step_by(7).chain([count]) {
        let root = ledger.tree_root(size).unwrap();
        assert_eq!(root, tree.root_at(size).unwrap(), "root of size {size}");
        for seq in (1..=size).step_by(13).chain([size]) {
            let proof = ledger.inclusion_proof(seq, size).unwrap();
            verify_inclusion(&proof.leaf_hash, seq - 1, size, &proof.proof, &root).unwrap();
        }
        let proof = ledger.consistency_proof(1 + size / 2, size).unwrap();
        verify_consistency(
            1 + size / 2,
            size,
            &proof.first_root,
            &proof.second_root,
            &proof.proof,
        )
        .unwrap();
    }
    // The postings of this ledger cross blocks of 256 too: office MEF is named by batches 1
    // and 5 (positions 2..=61 and 260..=559, less their act_issued), act RS-00005-PCM by all
    // of batch 5.
    use actledger_core::{ActId, OfficeId, Recorded};
    let mef = ledger
        .office_events(&OfficeId::new("MEF").unwrap())
        .unwrap();
    let expected: Vec<u64> = (3..=61).chain(261..=559).collect();
    assert_eq!(mef, expected);
    let act = ledger
        .events_of_act(&ActId::new("RS-00005-PCM").unwrap())
        .unwrap();
    assert_eq!(act, (260..=559).collect::<Vec<u64>>());
    // Reopened, the tree is complete as stored: nothing to rebuild, same root.
    let root = ledger.tree_root(count).unwrap();
    drop(ledger);
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.tree_root(count).unwrap(), root);
}

#[test]
fn an_imported_ledger_has_the_same_tree() {
    let s = scratch();
    let ledger = ledger_with(&s.path, 5, 4);
    let mut export = Vec::new();
    ledger.export(&mut export, &mut |_| {}).unwrap();
    let copy = Ledger::import(&s.dir.path().join("copy"), &mut &export[..], &mut |_| {}).unwrap();
    let count = ledger.head().count;
    assert_eq!(
        copy.tree_root(count).unwrap(),
        ledger.tree_root(count).unwrap()
    );
}

#[test]
fn missing_tree_hashes_are_rebuilt_on_open() {
    let s = scratch();
    let root = {
        let ledger = ledger_with(&s.path, 6, 3);
        ledger.tree_root(ledger.head().count).unwrap()
    };
    {
        let db = raw(&s.path);
        for key in db.scan_prefix(b"H").keys() {
            db.remove(key.unwrap()).unwrap();
        }
        db.remove(META_TREE).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&s.path).unwrap();
    assert_eq!(ledger.tree_root(ledger.head().count).unwrap(), root);
}

fn signed_checkpoint(ledger: &Ledger) -> (Checkpoint, String) {
    let key = SignerKey::from_seed("example.org/actledger", [9; 32]).unwrap();
    let note = ledger.checkpoint(&key).unwrap();
    let opened = Checkpoint::open(note.as_bytes(), &[key.verifier_key().clone()]).unwrap();
    (opened.checkpoint, note)
}

#[test]
fn a_checkpoint_catches_a_cut_tail_with_a_rewritten_head() {
    let s = scratch();
    let checkpoint = {
        let ledger = ledger_with(&s.path, 4, 3);
        let (checkpoint, _) = signed_checkpoint(&ledger);
        assert_eq!(checkpoint.size, 12);
        checkpoint
    };
    assert!(
        verify_path_against(&s.path, &checkpoint, Scope::Everything)
            .unwrap()
            .is_intact()
    );
    {
        // The attack plain verification cannot see (see the tamper tests).
        let db = raw(&s.path);
        testing::remove_entry(&db, 12);
        let last = testing::read_entry(&db, 11);
        let head = Head {
            count: 11,
            hash: last.hash,
        };
        db.insert(META_HEAD, testing::encode_head(head, &last.time))
            .unwrap();
        db.flush().unwrap();
    }
    // The log alone shows nothing (the derived records, still holding entry 12, do).
    let log_only = actledger_store::verify_path_scoped(&s.path, Scope::Log).unwrap();
    assert!(log_only.is_intact(), "{log_only}");
    let verdict = verify_path_against(&s.path, &checkpoint, Scope::Everything).unwrap();
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 12,
                problem: Problem::ShorterThanCheckpoint {
                    count: 11,
                    size: 12
                }
            }
        ),
        "{verdict}"
    );
}

#[test]
fn a_checkpoint_catches_rewritten_history_and_accepts_extensions() {
    let s = scratch();
    let other = s.dir.path().join("other");
    // Two ledgers with the same length but a different third batch.
    let checkpoint = {
        let mut ledger = Ledger::create(&s.path).unwrap();
        for k in 0..3 {
            ledger.append(batch(&numbered_batch(k, 2))).unwrap();
        }
        signed_checkpoint(&ledger).0
    };
    {
        let mut ledger = Ledger::create(&other).unwrap();
        for k in [0, 1, 7] {
            ledger.append(batch(&numbered_batch(k, 2))).unwrap();
        }
    }
    let verdict = verify_path_against(&other, &checkpoint, Scope::Everything).unwrap();
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                seq: 6,
                problem: Problem::RootMismatch { size: 6, .. }
            }
        ),
        "{verdict}"
    );

    // The honest ledger grows: it still extends the old checkpoint.
    {
        let mut ledger = Ledger::open(&s.path).unwrap();
        ledger.append(batch(&numbered_batch(3, 2))).unwrap();
    }
    assert!(
        verify_path_against(&s.path, &checkpoint, Scope::Everything)
            .unwrap()
            .is_intact()
    );
}

#[test]
fn an_empty_ledger_extends_no_checkpoint() {
    let s = scratch();
    drop(Ledger::create(&s.path).unwrap());
    let checkpoint = Checkpoint::new("example.org/actledger", 0, actledger_proof::EMPTY_ROOT);
    let verdict = verify_path_against(&s.path, &checkpoint, Scope::Everything).unwrap();
    assert!(
        matches!(
            verdict,
            Verdict::Broken {
                problem: Problem::ShorterThanCheckpoint { count: 0, .. },
                ..
            }
        ),
        "{verdict}"
    );
    assert!(
        verify_path_against(
            &s.dir.path().join("missing"),
            &checkpoint,
            Scope::Everything
        )
        .is_err()
    );
}

/// An office with more segments than a block of kept segment hashes holds (600 one-day
/// titulars: ten `G` blocks of 64): a proof at the head of a day in several blocks and at their
/// edges is the one the
/// office's whole state gives, and appending one more titular rewrites only the last block.
#[test]
fn segment_hashes_kept_in_blocks_prove_every_day_and_change_at_the_end() {
    let s = scratch();
    let first = actledger_core::Day::parse("2020-01-01").unwrap();
    let day = |i: u32| actledger_core::Day::from_ordinal(first.ordinal() + i).unwrap();
    let appointment = |i: u32| {
        format!(
            r#"{{"type":"appointed","act":"RS-1","person":"p-{i}","person_name":"P {i}","office":"MINDEF","on":"{}"}}"#,
            day(i)
        )
    };
    let mut lines = vec![format!(
        r#"{{"type":"act_issued","act":"RS-1","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{first}"}}"#
    )];
    lines.extend((0..600).map(appointment));
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(&lines.join("\n"))).unwrap();
    let office = actledger_core::OfficeId::new("MINDEF").unwrap();
    let leaf = ledger.stored_office_leaf("MINDEF").unwrap().unwrap();
    assert_eq!(leaf.segments, 600);
    for i in [0, 63, 64, 300, 575, 576, 599] {
        let proof = ledger.head_office_proof(&leaf, day(i)).unwrap().unwrap();
        let whole = ledger.head_office_state(&office).unwrap().proof_on(day(i));
        assert_eq!(proof.covering.as_ref().map(|c| c.0), Some(i as usize));
        assert_eq!(proof.covering, whole.covering, "day {i}");
        assert_eq!(proof.hashes, whole.hashes, "day {i}");
    }
    let blocks = |path: &Path| -> Vec<(Vec<u8>, Vec<u8>)> {
        raw(path)
            .scan_prefix(testing::named_prefix(testing::SEGMENT_HASHES, "MINDEF"))
            .map(|item| {
                let (key, value) = item.unwrap();
                (key.to_vec(), value.to_vec())
            })
            .collect()
    };
    drop(ledger);
    let before = blocks(&s.path);
    let sizes: Vec<usize> = before.iter().map(|(_, value)| value.len() / 36).collect();
    let mut expected = vec![64; 9];
    expected.push(24);
    assert_eq!(sizes, expected);
    let mut ledger = Ledger::open(&s.path).unwrap();
    ledger.append(batch(&appointment(600))).unwrap();
    drop(ledger);
    let after = blocks(&s.path);
    assert_eq!(after[..9], before[..9], "the full blocks are unchanged");
    assert_eq!(after[9].1.len() / 36, 25);
    assert_eq!(after.len(), 10);
    let verdict = actledger_store::verify_path(&s.path).unwrap();
    assert!(
        matches!(verdict, Verdict::Intact { count: 602, .. }),
        "{verdict:?}"
    );
}

/// One act at a time, as a clerk appends: each append restates only the answer segments from
/// the days it changes, and the kept state is still what the whole history gives (`verify`
/// recomputes every office's segments, their `G` blocks and leaf). An appointment dated long
/// before the head changes an office from that day on.
#[test]
fn one_act_appends_restate_what_they_change_and_keep_the_whole_state() {
    let s = scratch();
    let text = generated(5, 2_600);
    let lines: Vec<&str> = text.lines().collect();
    let mut ledger = Ledger::create(&s.path).unwrap();
    ledger.append(batch(&lines[..2_000].join("\n"))).unwrap();
    // The rest, an act (its consecutive lines) per append.
    let mut acts: Vec<Vec<&str>> = Vec::new();
    let mut last_act = None;
    for line in &lines[2_000..] {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let act = event["act"].as_str().map(str::to_owned);
        if acts.is_empty() || act != last_act {
            acts.push(Vec::new());
        }
        acts.last_mut().unwrap().push(line);
        last_act = act;
    }
    assert!(acts.len() > 100, "{} acts", acts.len());
    for act in &acts {
        ledger.append(batch(&act.join("\n"))).unwrap();
    }
    // Backdated: an office's titular far before the head, and a trip of theirs.
    let office = actledger_core::Recorded::offices(&ledger).unwrap()[0].clone();
    ledger
        .append(batch(&format!(
            r#"{{"type":"act_issued","act":"RS-BACK-1","kind":"resolucion_suprema","issuer":"PCM","issued_on":"1961-01-01"}}
{{"type":"appointed","act":"RS-BACK-1","person":"back-dated","office":"{office}","on":"1961-01-05"}}
{{"type":"trip_authorized","act":"RS-BACK-1","person":"back-dated","office":"{office}","from":"1961-01-10","until":"1961-01-12"}}"#
        )))
        .unwrap();
    drop(ledger);
    let verdict = actledger_store::verify_path(&s.path).unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
}
