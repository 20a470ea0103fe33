//! The Merkle tree over the entries (RFC 6962), kept beside the chain as the stored hashes of
//! Go's `sumdb/tlog` layout: appending entry `seq` (leaf `seq - 1`, whose data is the entry's
//! export line without its newline) stores about two hashes, and any root or proof then reads
//! O(log n) of them.
//!
//! Like the query cache, the stored hashes are derived from the log: they are rebuilt when
//! missing and never trusted by verification, which recomputes roots from the entries.
//!
//! The hashes are stored in tiles of [`TILE_LEN`] (128 since layout version 4, 256 in versions
//! 2 and 3; a tile of 4 KiB keeps sled's leaves of tiles small): the tile `t` (key `H` +
//! `t` u64 BE) holds the hashes of stored-hash indexes `t * TILE_LEN ..`, 32 bytes each, in
//! order. Stored-hash indexes only grow, so an append rewrites at most the last, partial
//! tile and adds new ones; a tile never holds more than [`TILE_LEN`] hashes.

use std::path::Path;

use actledger_proof::{Hash, HashReader, TreeError, stored_hash_count, stored_hashes_for_append};
use sled::Db;

use crate::entry::Entry;
use crate::error::StoreError;
use crate::error::{Damage, damaged, storage};
use crate::keys;
use crate::writes::Writes;

/// The stored tree hashes of a ledger, read from sled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredTree<'a> {
    pub db: &'a Db,
    pub path: &'a Path,
}

impl HashReader for StoredTree<'_> {
    type Error = StoreError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        indexes
            .iter()
            .map(|&index| read_one(self.db, self.path, index))
            .collect()
    }
}

/// The stored Merkle tree hashes of a ledger, read by stored-hash index
/// ([`Ledger::tree_hashes`](crate::Ledger::tree_hashes)): what the tiles of a published mirror
/// are read from, without sled showing.
#[derive(Debug, Clone, Copy)]
pub struct TreeHashes<'a>(pub(crate) StoredTree<'a>);

impl HashReader for TreeHashes<'_> {
    type Error = StoreError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        self.0.read_hashes(indexes)
    }
}

/// Stored hashes per tile (4 KiB of hashes).
pub const TILE_LEN: u64 = 128;

/// The bytes of a stored hash.
const HASH_LEN: usize = 32;

fn read_one(db: &Db, path: &Path, index: u64) -> Result<Hash, StoreError> {
    let missing = || {
        damaged(
            path,
            Damage::TreeHashes {
                reason: format!("the stored tree hash {index} is missing or malformed"),
            },
        )
    };
    let value = db
        .get(keys::tree_hash(index / TILE_LEN))
        .map_err(storage(path))?
        .ok_or_else(missing)?;
    if value.len() % HASH_LEN != 0 || value.len() > TILE_LEN as usize * HASH_LEN {
        return Err(missing());
    }
    let at = (index % TILE_LEN) as usize * HASH_LEN;
    value
        .get(at..at + HASH_LEN)
        .and_then(|bytes| <Hash>::try_from(bytes).ok())
        .ok_or_else(missing)
}

/// Stored hashes being computed for entries not written yet: reads see them first, then the
/// database (the hashes of one append depend on those of the entries just before it).
#[derive(Debug)]
pub(crate) struct TreeAppender<'a> {
    stored: StoredTree<'a>,
    leaves: u64,
    first_index: u64,
    pending: Vec<Hash>,
}

impl<'a> TreeAppender<'a> {
    /// Starts after the `leaves` leaves already stored.
    pub fn new(db: &'a Db, path: &'a Path, leaves: u64) -> Self {
        TreeAppender {
            stored: StoredTree { db, path },
            leaves,
            first_index: stored_hash_count(leaves),
            pending: Vec::new(),
        }
    }

    /// Adds the next entry as the next leaf.
    pub fn push(&mut self, entry: &Entry) -> Result<(), StoreError> {
        let line = entry.export_line();
        let data = line.strip_suffix('\n').unwrap_or(&line);
        let hashes = stored_hashes_for_append(self.leaves, data.as_bytes(), &*self)
            .map_err(|e| tree_error(self.stored.path, e))?;
        self.pending.extend(hashes);
        self.leaves += 1;
        Ok(())
    }

    /// Puts the new hashes, completing the last stored tile, and the tree record into `batch`.
    pub fn write(self, batch: &mut impl Writes) -> Result<(), StoreError> {
        let leaves = self.write_hashes(batch)?;
        batch.insert(keys::META_TREE, &leaves.to_be_bytes()[..]);
        Ok(())
    }

    /// Puts the new hashes, completing the last stored tile, into `batch`, without the tree
    /// record (for a caller that writes it once the hashes are durable); returns the leaves
    /// they cover.
    pub fn write_hashes(self, batch: &mut impl Writes) -> Result<u64, StoreError> {
        let path = self.stored.path;
        let mut tile = self.first_index / TILE_LEN;
        // The hashes already in the first tile touched: its first `kept` must be stored.
        let kept = (self.first_index % TILE_LEN) as usize * HASH_LEN;
        let mut bytes = Vec::with_capacity(TILE_LEN as usize * HASH_LEN);
        if kept > 0 {
            let stored = self
                .stored
                .db
                .get(keys::tree_hash(tile))
                .map_err(storage(path))?;
            match stored {
                Some(value) if value.len() >= kept => bytes.extend_from_slice(&value[..kept]),
                _ => {
                    return Err(damaged(
                        path,
                        Damage::TreeHashes {
                            reason: format!(
                                "the stored tree hashes before {} are missing",
                                self.first_index
                            ),
                        },
                    ));
                }
            }
        }
        for hash in &self.pending {
            bytes.extend_from_slice(hash);
            if bytes.len() == TILE_LEN as usize * HASH_LEN {
                batch.insert(&keys::tree_hash(tile), std::mem::take(&mut bytes));
                tile += 1;
            }
        }
        if !bytes.is_empty() {
            batch.insert(&keys::tree_hash(tile), bytes);
        }
        Ok(self.leaves)
    }
}

impl HashReader for TreeAppender<'_> {
    type Error = StoreError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        indexes
            .iter()
            .map(|&index| match index.checked_sub(self.first_index) {
                Some(offset) => self.pending.get(offset as usize).copied().ok_or_else(|| {
                    damaged(
                        self.stored.path,
                        Damage::TreeHashes {
                            reason: format!("tree hash {index} asked before it was computed"),
                        },
                    )
                }),
                None => read_one(self.stored.db, self.stored.path, index),
            })
            .collect()
    }
}

/// How many leaves the stored tree hashes cover (0 when the record is missing or malformed).
pub(crate) fn stored_leaves(db: &Db, path: &Path) -> Result<u64, StoreError> {
    let record = db.get(keys::META_TREE).map_err(storage(path))?;
    Ok(record
        .as_deref()
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

/// A tree error as a store error: reading failed, or the stored hashes do not add up.
pub(crate) fn tree_error(path: &Path, error: TreeError<StoreError>) -> StoreError {
    match error {
        TreeError::Read(store) => store,
        other => damaged(
            path,
            Damage::TreeHashes {
                reason: other.to_string(),
            },
        ),
    }
}
