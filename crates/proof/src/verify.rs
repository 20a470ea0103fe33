//! Proof verification, written straight from RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Nothing here shares code with the proof generator in `tree.rs`: a verifier built from the
//! RFC text alone checks what the generator builds from the stored-hash layout.

use crate::hash::{EMPTY_ROOT, Hash, hash_to_hex, node_hash};

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is at or past the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index of the proof.
        index: u64,
        /// The tree size of the proof.
        size: u64,
    },
    /// The proof has more hashes than the path from the leaf (or old tree) to the root.
    #[error("the proof has more hashes than a tree of {size} leaves needs")]
    TooLong {
        /// The (new) tree size.
        size: u64,
    },
    /// The proof has fewer hashes than the path from the leaf (or old tree) to the root.
    #[error("the proof has fewer hashes than a tree of {size} leaves needs")]
    TooShort {
        /// The (new) tree size.
        size: u64,
    },
    /// The root the proof leads to is not the expected root.
    #[error("the proof leads to root {computed}, not {expected}")]
    RootMismatch {
        /// The expected root, in hex.
        expected: String,
        /// The root the proof leads to, in hex.
        computed: String,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("a tree of {old} leaves cannot be a prefix of a smaller tree of {new}")]
    OldLargerThanNew {
        /// The first (old) tree size.
        old: u64,
        /// The second (new) tree size.
        new: u64,
    },
    /// An empty consistency proof between two different non-empty sizes.
    #[error("the consistency proof from {old} to {new} leaves is empty")]
    EmptyProof {
        /// The first (old) tree size.
        old: u64,
        /// The second (new) tree size.
        new: u64,
    },
    /// Hashes in a consistency proof where none are needed (equal sizes, or an empty old tree).
    #[error("the consistency proof from {old} to {new} leaves must be empty")]
    NotEmpty {
        /// The first (old) tree size.
        old: u64,
        /// The second (new) tree size.
        new: u64,
    },
    /// Two trees of the same size with different roots.
    #[error("two trees of {size} leaves with different roots {old_root} and {new_root}")]
    DifferentRoots {
        /// The common tree size.
        size: u64,
        /// The first root, in hex.
        old_root: String,
        /// The second root, in hex.
        new_root: String,
    },
    /// An empty tree whose root is not the empty root.
    #[error("a tree of 0 leaves has root {}, not {root}", hash_to_hex(&EMPTY_ROOT))]
    NotEmptyRoot {
        /// The root given, in hex.
        root: String,
    },
}

fn root_mismatch(expected: &Hash, computed: &Hash) -> ProofError {
    ProofError::RootMismatch {
        expected: hash_to_hex(expected),
        computed: hash_to_hex(computed),
    }
}

/// Checks that `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` leaves
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let r = root_from_inclusion(leaf, index, size, proof, node_hash)?;
    if r != *root {
        return Err(root_mismatch(root, &r));
    }
    Ok(())
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1 to 5 but the last
/// comparison), with `node` hashing interior nodes: the log's tree and the trees of the
/// answers' state ([`crate::state`]) differ only in their domain prefixes.
pub(crate) fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    node: fn(&Hash, &Hash) -> Hash,
) -> Result<Hash, ProofError> {
    // 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2., 3.
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    // 4.
    for p in proof {
        // a.
        if s_n == 0 {
            return Err(ProofError::TooLong { size });
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            r = node(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        // c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5.
    if s_n != 0 {
        return Err(ProofError::TooShort { size });
    }
    Ok(r)
}

/// Checks that `proof` shows the tree of `old_size` leaves with root `old_root` to be a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// The RFC algorithm covers `0 < old_size < new_size`. Around it: equal sizes need an empty
/// proof and equal roots; an empty old tree needs an empty proof and the empty root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let (old, new) = (old_size, new_size);
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::NotEmpty { old, new });
        }
        if old_root != new_root {
            return Err(ProofError::DifferentRoots {
                size: old,
                old_root: hash_to_hex(old_root),
                new_root: hash_to_hex(new_root),
            });
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::NotEmpty { old, new });
        }
        if *old_root != EMPTY_ROOT {
            return Err(ProofError::NotEmptyRoot {
                root: hash_to_hex(old_root),
            });
        }
        return Ok(());
    }
    // 1.
    if proof.is_empty() {
        return Err(ProofError::EmptyProof { old, new });
    }
    // 2.
    let mut path = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // 3.
    let mut f_n = old - 1;
    let mut s_n = new - 1;
    // 4.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5.
    let (first, rest) = match path.split_first() {
        Some(split) => split,
        None => return Err(ProofError::EmptyProof { old, new }),
    };
    let mut f_r = *first;
    let mut s_r = *first;
    // 6.
    for c in rest {
        // a.
        if s_n == 0 {
            return Err(ProofError::TooLong { size: new });
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        // c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7.
    if s_n != 0 {
        return Err(ProofError::TooShort { size: new });
    }
    if f_r != *old_root {
        return Err(root_mismatch(old_root, &f_r));
    }
    if s_r != *new_root {
        return Err(root_mismatch(new_root, &s_r));
    }
    Ok(())
}
