//! Proofs: the Merkle root of the first entries, inclusion and consistency proofs and
//! checkpoints, from the stored tree hashes (completed at open when they lag the head).

use actledger_core::Seq;
use actledger_proof::{Checkpoint, ConsistencyProof, Hash, InclusionProof, SignerKey};

use crate::error::{Damage, OutOfRange, StoreError, damaged, storage};
use crate::keys;
use crate::ledger::Ledger;
use crate::tree::{self, StoredTree, TreeAppender, TreeHashes, tree_error};
use crate::writes::WriteSet;

/// Entries per batch when completing the stored tree hashes.
const TREE_REBUILD_CHUNK: usize = 10_000;

impl Ledger {
    /// Completes the stored Merkle tree hashes up to the head: after a crash during a rebuild,
    /// or for a ledger whose tree record is missing, it resumes from the leaves it covers.
    pub(crate) fn ensure_tree(&self) -> Result<(), StoreError> {
        let mut leaves = tree::stored_leaves(&self.db, &self.path)?;
        if leaves > self.head.count {
            leaves = 0; // a record past the head vouches for nothing: start over
        }
        let rebuilt = leaves < self.head.count;
        while leaves < self.head.count {
            let mut batch = WriteSet::default();
            let mut tree = TreeAppender::new(&self.db, &self.path, leaves);
            for entry in self.entries(leaves + 1).take(TREE_REBUILD_CHUNK) {
                tree.push(&entry?)?;
                leaves += 1;
            }
            // The tree record goes in once the hashes it counts are durable (below).
            tree.write_hashes(&mut batch)?;
            batch.apply_in_slices(&self.db, &self.path)?;
        }
        if rebuilt {
            self.db.flush().map_err(storage(&self.path))?;
            self.db
                .insert(keys::META_TREE, &leaves.to_be_bytes()[..])
                .map_err(storage(&self.path))?;
        }
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }

    fn stored_tree(&self) -> StoredTree<'_> {
        StoredTree {
            db: &self.db,
            path: &self.path,
        }
    }

    /// The stored Merkle tree hashes (those of the first `head().count` leaves), by
    /// stored-hash index: what a mirror's tiles are read from (`actledger_proof::tile_hashes`).
    /// Derived like every stored tree hash: a reader that must not trust them recomputes.
    pub fn tree_hashes(&self) -> TreeHashes<'_> {
        TreeHashes(self.stored_tree())
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        if size > self.head.count {
            return Err(StoreError::OutOfRange(OutOfRange::TreeSize {
                size,
                count: self.head.count,
            }));
        }
        Ok(())
    }

    /// The Merkle root (RFC 6962) of the first `size` entries, from the stored hashes.
    pub fn tree_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_size(size)?;
        actledger_proof::tree_root(size, &self.stored_tree()).map_err(|e| tree_error(&self.path, e))
    }

    /// The proof that entry `seq` is in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, seq: Seq, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::OutOfRange(OutOfRange::NotInTree { seq, size }));
        }
        let entry = self
            .entry(seq)?
            .ok_or_else(|| damaged(&self.path, Damage::MissingEntry { seq }))?;
        let line = entry.export_line();
        let line = line.strip_suffix('\n').unwrap_or(&line).to_owned();
        InclusionProof::generate(seq, size, line, &self.stored_tree())
            .map_err(|e| tree_error(&self.path, e))
    }

    /// The proof that the tree of the first `first` entries is a prefix of the tree of the
    /// first `second`.
    pub fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        self.check_size(second)?;
        if first == 0 || first > second {
            return Err(StoreError::OutOfRange(OutOfRange::ConsistencySizes {
                first,
                second,
            }));
        }
        ConsistencyProof::generate(first, second, &self.stored_tree())
            .map_err(|e| tree_error(&self.path, e))
    }

    /// A checkpoint of the ledger at its head, signed with `key` (whose name is the origin).
    pub fn checkpoint(&self, key: &SignerKey) -> Result<String, StoreError> {
        let root = self.tree_root(self.head.count)?;
        Checkpoint::new(key.name(), self.head.count, root)
            .sign(key)
            .map_err(|e| StoreError::Signing {
                reason: e.to_string(),
            })
    }
}
