//! The proof files of the command line (`prove --json`), and their check against checkpoints.
//!
//! Hashes are 64 lowercase hex digits. The fields are the minimum the CLI spec fixes; unknown
//! fields are ignored when reading, so that more may follow.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::hash::{Hash, hash_to_hex, leaf_hash};
use crate::tree::{HashReader, TreeError, consistency_proof, inclusion_proof, tree_root};
use crate::verify::{ProofError, verify_consistency, verify_inclusion};

/// The proof that an entry is in the ledger of a given size: `prove SEQ|ACT --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    /// The entry's sequence number, from 1.
    pub seq: u64,
    /// Its leaf index, `seq - 1`.
    pub leaf_index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// SHA-256(0x00 || entry).
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub leaf_hash: Hash,
    /// The audit path, RFC 9162 order (the sibling nearest the leaf first).
    #[serde(with = "hex_hashes")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
    /// The entry's export line, without its newline: the leaf data.
    pub entry: String,
}

/// The proof that a ledger of one size extends the ledger of a smaller size:
/// `prove --from OLD --to NEW --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    /// The old size.
    pub first: u64,
    /// The new size.
    pub second: u64,
    /// The root of the old size.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub first_root: Hash,
    /// The root of the new size.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub second_root: Hash,
    /// The consistency proof, RFC 9162 order.
    #[serde(with = "hex_hashes")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
}

/// Why a proof file does not check against its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckProofError {
    /// The entry does not hash to the stated leaf hash.
    #[error("entry {seq} hashes to {computed}, not to the leaf hash {stated} of the proof")]
    LeafHashMismatch {
        /// The entry's sequence number.
        seq: u64,
        /// The leaf hash in the proof, in hex.
        stated: String,
        /// The hash of the entry, in hex.
        computed: String,
    },
    /// The leaf index is not `seq - 1`.
    #[error("the leaf index of entry {seq} is {}, not {leaf_index}", seq.saturating_sub(1))]
    IndexMismatch {
        /// The sequence number in the proof.
        seq: u64,
        /// The leaf index in the proof.
        leaf_index: u64,
    },
    /// Sequence number 0, which names no entry.
    #[error("sequence numbers start at 1")]
    SeqZero,
    /// The proof is for another tree size than the checkpoint's.
    #[error("the proof is for {which} size {proof}, the checkpoint is for size {checkpoint}")]
    SizeMismatch {
        /// Which size: "the" (inclusion), "the first" or "the second" (consistency).
        which: &'static str,
        /// The size in the proof.
        proof: u64,
        /// The size in the checkpoint.
        checkpoint: u64,
    },
    /// The proof states another root than the checkpoint's.
    #[error("the proof gives {which} root {proof}, the checkpoint {checkpoint}")]
    RootMismatch {
        /// Which root: "the first" or "the second".
        which: &'static str,
        /// The root in the proof, in hex.
        proof: String,
        /// The root in the checkpoint, in hex.
        checkpoint: String,
    },
    /// The two checkpoints are of different logs.
    #[error("the checkpoints are of different origins {old:?} and {new:?}")]
    OriginMismatch {
        /// The old checkpoint's origin.
        old: String,
        /// The new checkpoint's origin.
        new: String,
    },
    /// The hashes of the proof do not lead to the checkpoint's root.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl InclusionProof {
    /// The proof for entry `seq` (from 1) with export line `entry`, in the tree of `tree_size`
    /// entries, from the stored hashes.
    pub fn generate<R: HashReader + ?Sized>(
        seq: u64,
        tree_size: u64,
        entry: String,
        reader: &R,
    ) -> Result<Self, TreeError<R::Error>> {
        let Some(leaf_index) = seq.checked_sub(1) else {
            return Err(TreeError::SeqZero);
        };
        let proof = inclusion_proof(leaf_index, tree_size, reader)?;
        Ok(Self {
            seq,
            leaf_index,
            tree_size,
            leaf_hash: leaf_hash(entry.as_bytes()),
            proof,
            entry,
        })
    }

    /// Checks the proof against a checkpoint whose signature was verified: the entry hashes to
    /// the leaf hash, the leaf index is `seq - 1`, the sizes agree, and the audit path leads to
    /// the checkpoint's root.
    pub fn check(&self, checkpoint: &Checkpoint) -> Result<(), CheckProofError> {
        let computed = leaf_hash(self.entry.as_bytes());
        if computed != self.leaf_hash {
            return Err(CheckProofError::LeafHashMismatch {
                seq: self.seq,
                stated: hash_to_hex(&self.leaf_hash),
                computed: hash_to_hex(&computed),
            });
        }
        let Some(index) = self.seq.checked_sub(1) else {
            return Err(CheckProofError::SeqZero);
        };
        if self.leaf_index != index {
            return Err(CheckProofError::IndexMismatch {
                seq: self.seq,
                leaf_index: self.leaf_index,
            });
        }
        if self.tree_size != checkpoint.size {
            return Err(CheckProofError::SizeMismatch {
                which: "the",
                proof: self.tree_size,
                checkpoint: checkpoint.size,
            });
        }
        verify_inclusion(
            &self.leaf_hash,
            self.leaf_index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(())
    }
}

impl ConsistencyProof {
    /// The proof from the first `first` entries to the first `second`, with both roots, from
    /// the stored hashes.
    pub fn generate<R: HashReader + ?Sized>(
        first: u64,
        second: u64,
        reader: &R,
    ) -> Result<Self, TreeError<R::Error>> {
        let proof = consistency_proof(first, second, reader)?;
        Ok(Self {
            first,
            second,
            first_root: tree_root(first, reader)?,
            second_root: tree_root(second, reader)?,
            proof,
        })
    }

    /// Checks the proof against the old and the new checkpoint, both with verified signatures:
    /// same origin, sizes and roots as stated, and the proof shows the old tree to be a prefix
    /// of the new one.
    pub fn check(&self, old: &Checkpoint, new: &Checkpoint) -> Result<(), CheckProofError> {
        if old.origin != new.origin {
            return Err(CheckProofError::OriginMismatch {
                old: old.origin.clone(),
                new: new.origin.clone(),
            });
        }
        for (which, proof, checkpoint) in [
            ("the first", self.first, old.size),
            ("the second", self.second, new.size),
        ] {
            if proof != checkpoint {
                return Err(CheckProofError::SizeMismatch {
                    which,
                    proof,
                    checkpoint,
                });
            }
        }
        for (which, proof, checkpoint) in [
            ("the first", &self.first_root, &old.root),
            ("the second", &self.second_root, &new.root),
        ] {
            if proof != checkpoint {
                return Err(CheckProofError::RootMismatch {
                    which,
                    proof: hash_to_hex(proof),
                    checkpoint: hash_to_hex(checkpoint),
                });
            }
        }
        verify_consistency(old.size, new.size, &old.root, &new.root, &self.proof)?;
        Ok(())
    }
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::hash::{Hash, hash_from_hex, hash_to_hex};

    pub(super) fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash_to_hex(hash))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        hash_from_hex(&text).map_err(D::Error::custom)
    }
}

mod hex_hashes {
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::hash::{Hash, hash_from_hex, hash_to_hex};

    pub(super) fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hashes.len()))?;
        for hash in hashes {
            seq.serialize_element(&hash_to_hex(hash))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|text| hash_from_hex(text).map_err(D::Error::custom))
            .collect()
    }
}
