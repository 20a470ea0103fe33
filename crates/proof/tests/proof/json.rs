//! The proof files of `prove --json` and their check against signed checkpoints, end to end.

use actledger_proof::{
    CheckProofError, Checkpoint, ConsistencyProof, InclusionProof, MemoryTree, ProofError,
    SignerKey, TreeError, hash_to_hex, leaf_hash,
};
use serde_json::json;

/// Export lines as `export` writes them (the content does not matter to the tree).
fn export_lines(count: u64) -> Vec<String> {
    (1..=count)
        .map(|seq| {
            format!(
                r#"{{"seq":{seq},"event":{{"type":"act_issued","act":"RS-{seq:03}-2024-PCM"}}}}"#
            )
        })
        .collect()
}

struct Ledger {
    lines: Vec<String>,
    tree: MemoryTree,
    key: SignerKey,
}

impl Ledger {
    fn new(count: u64) -> Self {
        let lines = export_lines(count);
        let mut tree = MemoryTree::new();
        for line in &lines {
            tree.push(line.as_bytes());
        }
        let key = SignerKey::from_seed("example.org/actledger", [11; 32]).unwrap();
        Self { lines, tree, key }
    }

    /// The signed checkpoint of size `size`, opened as a third party would.
    fn checkpoint(&self, size: u64) -> Checkpoint {
        let root = self.tree.root_at(size).unwrap();
        let signed = Checkpoint::new(self.key.name(), size, root)
            .sign(&self.key)
            .unwrap();
        let vkey = self.key.verifier_key().to_string();
        Checkpoint::open(signed.as_bytes(), &[vkey.parse().unwrap()])
            .unwrap()
            .checkpoint
    }

    fn inclusion(&self, seq: u64, size: u64) -> InclusionProof {
        let entry = self.lines[seq as usize - 1].clone();
        InclusionProof::generate(seq, size, entry, self.tree.stored_hashes()).unwrap()
    }
}

#[test]
fn inclusion_proof_json_has_the_cli_fields() {
    let ledger = Ledger::new(5);
    let proof = ledger.inclusion(3, 5);
    let value = serde_json::to_value(&proof).unwrap();
    let want_proof: Vec<String> = ledger
        .tree
        .inclusion_proof(2, 5)
        .unwrap()
        .iter()
        .map(hash_to_hex)
        .collect();
    assert_eq!(
        value,
        json!({
            "seq": 3,
            "leaf_index": 2,
            "tree_size": 5,
            "leaf_hash": hash_to_hex(&leaf_hash(ledger.lines[2].as_bytes())),
            "proof": want_proof,
            "entry": ledger.lines[2],
        })
    );
    let text = serde_json::to_string(&proof).unwrap();
    assert_eq!(
        serde_json::from_str::<InclusionProof>(&text).unwrap(),
        proof
    );
    assert!(
        text.chars()
            .all(|c| !c.is_ascii_uppercase() || text.contains("RS-"))
    );
}

#[test]
fn consistency_proof_json_has_the_cli_fields() {
    let ledger = Ledger::new(7);
    let proof = ConsistencyProof::generate(3, 7, ledger.tree.stored_hashes()).unwrap();
    let value = serde_json::to_value(&proof).unwrap();
    assert_eq!(
        value,
        json!({
            "first": 3,
            "second": 7,
            "first_root": hash_to_hex(&ledger.tree.root_at(3).unwrap()),
            "second_root": hash_to_hex(&ledger.tree.root_at(7).unwrap()),
            "proof": ledger.tree.consistency_proof(3, 7).unwrap().iter().map(hash_to_hex).collect::<Vec<_>>(),
        })
    );
    let back: ConsistencyProof = serde_json::from_value(value).unwrap();
    assert_eq!(back, proof);
}

#[test]
fn proof_json_readers_take_more_fields_but_only_lowercase_hex() {
    let ledger = Ledger::new(3);
    let mut value = serde_json::to_value(ledger.inclusion(1, 3)).unwrap();
    value["comment"] = json!("more fields may follow");
    serde_json::from_value::<InclusionProof>(value.clone()).unwrap();

    let upper = value["leaf_hash"].as_str().unwrap().to_uppercase();
    let mut bad = value.clone();
    bad["leaf_hash"] = json!(upper);
    let err = serde_json::from_value::<InclusionProof>(bad).unwrap_err();
    assert!(err.to_string().contains("lowercase"), "{err}");

    let mut bad = value.clone();
    bad["proof"] = json!(["abcd"]);
    let err = serde_json::from_value::<InclusionProof>(bad).unwrap_err();
    assert!(err.to_string().contains("64"), "{err}");

    let mut bad = value;
    bad.as_object_mut().unwrap().remove("entry");
    assert!(serde_json::from_value::<InclusionProof>(bad).is_err());
}

#[test]
fn every_entry_checks_against_a_signed_checkpoint() {
    let ledger = Ledger::new(20);
    for size in [1, 2, 7, 8, 13, 20] {
        let checkpoint = ledger.checkpoint(size);
        for seq in 1..=size {
            let proof = ledger.inclusion(seq, size);
            // Through JSON, as check-proof reads it.
            let text = serde_json::to_string(&proof).unwrap();
            let proof: InclusionProof = serde_json::from_str(&text).unwrap();
            proof.check(&checkpoint).unwrap();
        }
    }
}

#[test]
fn a_tampered_inclusion_proof_does_not_check() {
    let ledger = Ledger::new(9);
    let checkpoint = ledger.checkpoint(9);
    let good = ledger.inclusion(4, 9);
    good.check(&checkpoint).unwrap();

    // Another entry text.
    let mut bad = good.clone();
    bad.entry = bad.entry.replace("RS-004", "RS-005");
    assert!(matches!(
        bad.check(&checkpoint),
        Err(CheckProofError::LeafHashMismatch { seq: 4, .. })
    ));
    // Another entry text with its own leaf hash: the path does not lead to the root.
    bad.leaf_hash = leaf_hash(bad.entry.as_bytes());
    assert!(matches!(
        bad.check(&checkpoint),
        Err(CheckProofError::Proof(ProofError::RootMismatch { .. }))
    ));
    // Another entry's proof passed off as this one's.
    let mut bad = ledger.inclusion(5, 9);
    bad.seq = 4;
    bad.leaf_index = 3;
    assert!(bad.check(&checkpoint).is_err());
    // Index and seq disagree.
    let mut bad = good.clone();
    bad.leaf_index = 4;
    assert_eq!(
        bad.check(&checkpoint),
        Err(CheckProofError::IndexMismatch {
            seq: 4,
            leaf_index: 4
        })
    );
    let mut bad = good.clone();
    bad.seq = 0;
    assert_eq!(bad.check(&checkpoint), Err(CheckProofError::SeqZero));
    // A proof for another size than the checkpoint's.
    let other = ledger.inclusion(4, 8);
    assert_eq!(
        other.check(&checkpoint),
        Err(CheckProofError::SizeMismatch {
            which: "the",
            proof: 8,
            checkpoint: 9
        })
    );
    // The size changed to the checkpoint's, the path left as it was.
    let mut bad = other;
    bad.tree_size = 9;
    assert!(bad.check(&checkpoint).is_err());
    // A flipped bit in the path.
    let mut bad = good;
    bad.proof[1][7] ^= 0x10;
    assert!(matches!(
        bad.check(&checkpoint),
        Err(CheckProofError::Proof(_))
    ));
}

#[test]
fn consistency_proofs_check_against_two_signed_checkpoints() {
    let ledger = Ledger::new(20);
    for (old, new) in [(0, 5), (1, 1), (1, 20), (4, 8), (5, 13), (13, 20), (20, 20)] {
        let proof = ConsistencyProof::generate(old, new, ledger.tree.stored_hashes()).unwrap();
        let text = serde_json::to_string(&proof).unwrap();
        let proof: ConsistencyProof = serde_json::from_str(&text).unwrap();
        proof
            .check(&ledger.checkpoint(old), &ledger.checkpoint(new))
            .unwrap();
    }
}

#[test]
fn a_consistency_proof_for_other_checkpoints_does_not_check() {
    let ledger = Ledger::new(20);
    let (old, new) = (ledger.checkpoint(6), ledger.checkpoint(15));
    let good = ConsistencyProof::generate(6, 15, ledger.tree.stored_hashes()).unwrap();
    good.check(&old, &new).unwrap();

    // Checkpoints in the wrong order, or of other sizes.
    assert!(good.check(&new, &old).is_err());
    assert!(matches!(
        good.check(&ledger.checkpoint(7), &new),
        Err(CheckProofError::SizeMismatch {
            which: "the first",
            ..
        })
    ));
    // A stated root that is not the checkpoint's.
    let mut bad = good.clone();
    bad.second_root = bad.first_root;
    assert!(matches!(
        bad.check(&old, &new),
        Err(CheckProofError::RootMismatch {
            which: "the second",
            ..
        })
    ));
    // A forked ledger: same first 6 entries, another 7th.
    let mut fork = MemoryTree::new();
    for (i, line) in ledger.lines.iter().take(15).enumerate() {
        let line = if i == 6 {
            line.replace("RS-007", "RS-777")
        } else {
            line.clone()
        };
        fork.push(line.as_bytes());
    }
    let forked = Checkpoint::new(ledger.key.name(), 15, fork.root());
    let mut bad = good.clone();
    bad.second_root = forked.root;
    assert!(matches!(
        bad.check(&old, &forked),
        Err(CheckProofError::Proof(_))
    ));
    // Another log.
    let mut elsewhere = new.clone();
    elsewhere.origin = "example.org/other".into();
    assert!(matches!(
        good.check(&old, &elsewhere),
        Err(CheckProofError::OriginMismatch { .. })
    ));
}

#[test]
fn proofs_for_entries_that_do_not_exist_are_not_made() {
    let ledger = Ledger::new(3);
    let hashes = ledger.tree.stored_hashes();
    assert!(matches!(
        InclusionProof::generate(0, 3, String::new(), hashes),
        Err(TreeError::SeqZero)
    ));
    assert!(matches!(
        InclusionProof::generate(4, 3, String::new(), hashes),
        Err(TreeError::IndexOutOfRange { index: 3, size: 3 })
    ));
    assert!(matches!(
        ConsistencyProof::generate(3, 2, hashes),
        Err(TreeError::OldLargerThanNew { old: 3, new: 2 })
    ));
}
