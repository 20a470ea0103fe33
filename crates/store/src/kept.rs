//! The checkpoints the ledger signed, kept inside it (`C` + size): each with the state
//! statement signed beside it and the verifier key of their signer, so that an answer bundle can
//! be made against any of them later, and `verify` can check that each still holds.
//!
//! They are not derived from the log (a signature cannot be recomputed), so no repair rebuilds
//! them; `verify` checks that each opens with its key, that the checkpoint's root is the log's
//! root at its size, and that the statement names the same origin, size and log root.

use serde::{Deserialize, Serialize};

use actledger_core::OfficeLeaf;
use actledger_proof::{Checkpoint, StateTree, Statement, VerifierKey};

use crate::error::{
    Damage, Difference, Finding, Findings, StoreError, Subject, Table, damaged, storage,
};
use crate::keys;
use crate::ledger::Ledger;
use crate::state::office_leaf_hash;

/// A checkpoint and the state statement signed with it, as the ledger keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptCheckpoint {
    /// The tree size both are of.
    pub size: u64,
    /// The verifier key line of their signer.
    pub vkey: String,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The signed statement note.
    pub statement: String,
    /// The leaves of the offices tree the statement signs the root of, kept so that a bundle
    /// against this checkpoint, once the ledger has moved on, recomputes the asked office's
    /// state alone; empty in copies kept before they were (or for a state of no office).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offices: Vec<OfficeLeaf>,
}

/// What a kept copy holds, once opened with its own key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedKept {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The statement.
    pub statement: Statement,
    /// The key both open with.
    pub vkey: VerifierKey,
}

impl KeptCheckpoint {
    /// Opens both notes with the kept key and checks that they agree with each other and with
    /// the record's size: the reason when they do not.
    pub fn open(&self) -> Result<OpenedKept, String> {
        let vkey: VerifierKey = self
            .vkey
            .trim()
            .parse()
            .map_err(|e| format!("the kept verifier key does not parse: {e}"))?;
        let keys = std::slice::from_ref(&vkey);
        let checkpoint = Checkpoint::open(self.checkpoint.as_bytes(), keys)
            .map_err(|e| format!("the kept checkpoint does not verify with its key: {e}"))?
            .checkpoint;
        let statement = Statement::open(self.statement.as_bytes(), keys)
            .map_err(|e| format!("the kept statement does not verify with its key: {e}"))?;
        if checkpoint.size != self.size {
            return Err(format!(
                "the kept checkpoint is of size {}, kept as size {}",
                checkpoint.size, self.size
            ));
        }
        if !statement.binds(&checkpoint) {
            return Err(
                "the kept statement does not name the checkpoint's origin, size and root"
                    .to_owned(),
            );
        }
        if !self.offices.is_empty() {
            let hashes: Vec<_> = self.offices.iter().map(office_leaf_hash).collect();
            if hashes.len() as u64 != statement.offices
                || StateTree::Offices.root(&hashes) != statement.state_root
            {
                return Err(
                    "the kept leaves of the offices are not the state the kept statement signs"
                        .to_owned(),
                );
            }
        }
        Ok(OpenedKept {
            checkpoint,
            statement,
            vkey,
        })
    }
}

fn key(size: u64) -> [u8; 9] {
    let mut key = [keys::CHECKPOINT; 9];
    key[1..].copy_from_slice(&size.to_be_bytes());
    key
}

impl Ledger {
    /// Keeps a signed checkpoint and its statement (replacing any kept for the same size), durably.
    pub fn keep_checkpoint(&self, kept: &KeptCheckpoint) -> Result<(), StoreError> {
        let value = serde_json::to_vec(kept).expect("a kept checkpoint serializes");
        self.db
            .insert(key(kept.size), value)
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }

    /// The checkpoint kept for `size`, if any.
    pub fn kept_checkpoint(&self, size: u64) -> Result<Option<KeptCheckpoint>, StoreError> {
        match self.db.get(key(size)).map_err(storage(&self.path))? {
            Some(value) => Ok(Some(decode(&value).map_err(|reason| {
                damaged(&self.path, Damage::KeptCheckpoint { size, reason })
            })?)),
            None => Ok(None),
        }
    }

    /// The kept checkpoint of the largest size, if any.
    pub fn newest_kept_checkpoint(&self) -> Result<Option<KeptCheckpoint>, StoreError> {
        let Some((key, value)) = self
            .db
            .scan_prefix([keys::CHECKPOINT])
            .next_back()
            .transpose()
            .map_err(storage(&self.path))?
        else {
            return Ok(None);
        };
        let size = keys::seq_suffix(&key).unwrap_or(0);
        decode(&value)
            .map(Some)
            .map_err(|reason| damaged(&self.path, Damage::KeptCheckpoint { size, reason }))
    }

    /// Checks every kept checkpoint against the log of `count` entries (already verified).
    pub(crate) fn check_kept(&self, count: u64, findings: &mut Findings) -> Result<(), StoreError> {
        for item in self.db.scan_prefix([keys::CHECKPOINT]) {
            let (raw_key, value) = item.map_err(storage(&self.path))?;
            let subject = Subject::Record(format!(
                "C{}",
                keys::seq_suffix(&raw_key).map_or("?".to_owned(), |s| s.to_string())
            ));
            let mut find = |difference| {
                findings.push(Finding {
                    table: Table::KeptCheckpoints,
                    subject: subject.clone(),
                    difference,
                });
            };
            let size = match keys::seq_suffix(&raw_key) {
                Some(size) if raw_key.len() == 9 => size,
                _ => {
                    find(Difference::Malformed(
                        "not a kept checkpoint's key".to_owned(),
                    ));
                    continue;
                }
            };
            let kept = match decode(&value) {
                Ok(kept) if kept.size == size => kept,
                Ok(_) => {
                    find(Difference::Malformed("kept under another size".to_owned()));
                    continue;
                }
                Err(problem) => {
                    find(Difference::Malformed(problem));
                    continue;
                }
            };
            let opened = match kept.open() {
                Ok(opened) => opened,
                Err(problem) => {
                    find(Difference::Malformed(problem));
                    continue;
                }
            };
            if size > count || self.tree_root(size)? != opened.checkpoint.root {
                find(Difference::Different);
            }
        }
        Ok(())
    }
}

fn decode(value: &[u8]) -> Result<KeptCheckpoint, String> {
    serde_json::from_slice(value).map_err(|e| format!("not a kept checkpoint: {e}"))
}
