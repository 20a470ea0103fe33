//! The tree kept incrementally: the stored-hash layout, roots and proofs read from it.
//!
//! The layout is the one of Go's `golang.org/x/mod/sumdb/tlog` (and of Crosby and Wallach,
//! "Efficient Data Structures for Tamper-Evident Logging", §3.3): every complete subtree has one
//! stored hash, and the hashes are numbered in the order in which appends complete them. When
//! leaf `n` is appended, its leaf hash is stored, then the hash of every subtree that this leaf
//! completes, smallest first: `1 + trailing_ones(n)` hashes, two on average. The hashes of a tree
//! of `n` leaves take the indexes `0 .. stored_hash_count(n)`, so a store appends them under
//! consecutive keys and never rewrites one.
//!
//! The root of any size, an inclusion proof and a consistency proof each need at most about
//! `2 * log2(n)` stored hashes, read in one [`HashReader::read_hashes`] call.

use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// The largest tree this crate computes over: 2^62 leaves.
///
/// It keeps every stored-hash index within a `u64`; a ledger will not come near it.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// The stored-hash index of the complete subtree at `level` (0 for leaves) and position `n` in
/// that level, that is the subtree over leaves `n * 2^level .. (n + 1) * 2^level`.
///
/// The subtree is completed by the append of leaf `m = (n + 1) * 2^level - 1`, after the
/// `2m - popcount(m)` hashes stored before that leaf, and it is the `level`-th hash of that
/// append. Meaningful for subtrees inside a tree of at most [`MAX_TREE_SIZE`] leaves; beyond
/// that the arithmetic wraps (it never panics).
pub const fn stored_hash_index(level: u8, n: u64) -> u64 {
    let last_leaf = n.wrapping_add(1).wrapping_shl(level as u32).wrapping_sub(1);
    stored_before(last_leaf).wrapping_add(level as u64)
}

/// The number of hashes stored before leaf `m`'s: one for every complete subtree of the first
/// `m` leaves, `m + m/2 + m/4 + ... = 2m - popcount(m)`.
const fn stored_before(m: u64) -> u64 {
    m.wrapping_mul(2).wrapping_sub(m.count_ones() as u64)
}

/// The inverse of [`stored_hash_index`]: the `(level, n)` of the subtree stored at `index`.
///
/// Meaningful for the indexes of trees of at most [`MAX_TREE_SIZE`] leaves.
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    // Leaf m's hashes start at 2m - popcount(m), in [2m - 64, 2m]. From m = index / 2, where
    // they start at or before `index`, the leaf whose group holds `index` is at most 33 ahead.
    let mut m = index / 2;
    for _ in 0..64 {
        if stored_before(m + 1) > index {
            break;
        }
        m += 1;
    }
    let level = index.wrapping_sub(stored_before(m));
    // A group holds at most 64 hashes, so the level fits in a u8.
    let level = u8::try_from(level).unwrap_or(u8::MAX);
    (level, m >> level)
}

/// The number of hashes stored for a tree of `size` leaves (also the index at which the hashes
/// of leaf `size` will be stored).
pub const fn stored_hash_count(size: u64) -> u64 {
    stored_before(size)
}

/// Reads stored hashes by their stored-hash index.
///
/// The store implements it over its own keys; `Vec<Hash>` and `[Hash]` implement it with the
/// hash of index `i` at position `i`, which is what tests and [`MemoryTree`] use.
pub trait HashReader {
    /// Why a read failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hashes at `indexes`, in the same order. A hash that is not there is an
    /// error, never a made-up value.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;
}

/// A hash asked of an in-memory reader that it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash at index {index}")]
pub struct MissingHash {
    /// The stored-hash index asked for.
    pub index: u64,
}

impl HashReader for [Hash] {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MissingHash> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or(MissingHash { index })
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MissingHash> {
        self.as_slice().read_hashes(indexes)
    }
}

/// Why a root or a proof could not be computed from stored hashes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError<E> {
    /// The reader failed.
    #[error("could not read the stored tree hashes")]
    Read(#[source] E),
    /// The reader returned another number of hashes than asked: a bug in the reader.
    #[error("asked the store for {asked} tree hashes and got {got}")]
    ReadCount {
        /// How many hashes were asked for.
        asked: usize,
        /// How many came back.
        got: usize,
    },
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof asked from a larger tree to a smaller one.
    #[error("no consistency proof from a tree of {old} leaves to a smaller one of {new}")]
    OldLargerThanNew {
        /// The first (old) tree size.
        old: u64,
        /// The second (new) tree size.
        new: u64,
    },
    /// Sequence number 0, which names no entry.
    #[error("sequence numbers start at 1, so 0 names no entry")]
    SeqZero,
    /// A tree size beyond [`MAX_TREE_SIZE`].
    #[error("a tree of {size} leaves is larger than this implementation handles")]
    TooLarge {
        /// The tree size asked for.
        size: u64,
    },
}

fn check_size<E>(size: u64) -> Result<(), TreeError<E>> {
    if size > MAX_TREE_SIZE {
        Err(TreeError::TooLarge { size })
    } else {
        Ok(())
    }
}

pub(crate) fn read_exact<R: HashReader + ?Sized>(
    reader: &R,
    indexes: &[u64],
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(indexes).map_err(TreeError::Read)?;
    if hashes.len() != indexes.len() {
        return Err(TreeError::ReadCount {
            asked: indexes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The hashes to store when appending leaf `n` (0-based) with `data`, in the order of their
/// stored-hash indexes, which start at [`stored_hash_index`]`(0, n)` (that is
/// [`stored_hash_count`]`(n)`) and are consecutive.
///
/// Reads the `trailing_ones(n)` hashes of the subtrees that the new leaf completes, so the store
/// must already hold the hashes of leaves `0 .. n`. At most `1 + log2(n)` hashes come back.
pub fn stored_hashes_for_append<R: HashReader + ?Sized>(
    n: u64,
    data: &[u8],
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    stored_hashes_for_leaf_hash(n, leaf_hash(data), reader)
}

/// Like [`stored_hashes_for_append`], given the leaf hash rather than the leaf data.
pub fn stored_hashes_for_leaf_hash<R: HashReader + ?Sized>(
    n: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    check_size(n.saturating_add(1))?;
    // Each trailing one bit of n is a subtree that leaf n completes: at level i it joins the
    // left sibling (i, (n >> i) - 1) with the subtree just finished on the right.
    let completed = n.trailing_ones();
    let indexes: Vec<u64> = (0..completed)
        .map(|level| stored_hash_index(level as u8, (n >> level) - 1))
        .collect();
    let siblings = read_exact(reader, &indexes)?;
    let mut hashes = Vec::with_capacity(siblings.len() + 1);
    let mut current = leaf;
    hashes.push(current);
    for sibling in &siblings {
        current = node_hash(sibling, &current);
        hashes.push(current);
    }
    Ok(hashes)
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 6962 splits a tree.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Appends the stored-hash indexes of the complete subtrees that make up leaves `lo .. hi`,
/// largest (leftmost) first. Every range the RFC recursion produces is aligned so that this
/// decomposition is exact; there are `popcount(hi - lo)` of them.
fn push_range_indexes(mut lo: u64, hi: u64, out: &mut Vec<u64>) {
    while lo < hi {
        let width = 1u64 << (63 - (hi - lo).leading_zeros());
        debug_assert_eq!(lo % width, 0, "unaligned subtree range");
        let level = width.trailing_zeros() as u8;
        out.push(stored_hash_index(level, lo >> level));
        lo += width;
    }
}

/// The hash of a range from the hashes of its complete subtrees, left to right: the smaller
/// subtrees on the right hang below the larger ones, as in RFC 6962's MTH.
fn fold_range(parts: &[Hash]) -> Hash {
    let mut iter = parts.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |right, left| node_hash(left, &right))
}

/// The hashes of the ranges `lo .. hi` given, in that order, with one read.
fn range_hashes<R: HashReader + ?Sized>(
    ranges: &[(u64, u64)],
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    let mut indexes = Vec::new();
    for &(lo, hi) in ranges {
        push_range_indexes(lo, hi, &mut indexes);
    }
    let parts = read_exact(reader, &indexes)?;
    let mut hashes = Vec::with_capacity(ranges.len());
    let mut at = 0;
    for &(lo, hi) in ranges {
        let count = (hi - lo).count_ones() as usize;
        hashes.push(fold_range(&parts[at..at + count]));
        at += count;
    }
    Ok(hashes)
}

/// The root of the tree of the first `size` leaves (RFC 6962 MTH), from at most
/// `1 + log2(size)` stored hashes. The root of the empty tree is [`EMPTY_ROOT`].
pub fn tree_root<R: HashReader + ?Sized>(
    size: u64,
    reader: &R,
) -> Result<Hash, TreeError<R::Error>> {
    check_size(size)?;
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let hashes = range_hashes(&[(0, size)], reader)?;
    Ok(hashes.first().copied().unwrap_or(EMPTY_ROOT))
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves: the audit path
/// of RFC 9162 §2.1.3.1 (RFC 6962 §2.1.1), the sibling nearest the leaf first.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    check_size(size)?;
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // Walk down from the root to the leaf, noting the subtree not taken at each step.
    let mut siblings = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
        }
    }
    siblings.reverse();
    range_hashes(&siblings, reader)
}

/// The consistency proof that the tree of the first `old` leaves is a prefix of the tree of the
/// first `new` leaves: RFC 9162 §2.1.4.1 (RFC 6962 §2.1.2), in the order a verifier reads it.
///
/// Empty when `old == new` or `old == 0`, where there is nothing to prove.
pub fn consistency_proof<R: HashReader + ?Sized>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    check_size(new)?;
    if old > new {
        return Err(TreeError::OldLargerThanNew { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo..hi], b), unrolled: `known` is b, true while the range still starts at
    // leaf 0, whose old root the verifier already has.
    let mut nodes = Vec::new();
    let (mut lo, mut hi) = (0, new);
    let mut known = true;
    loop {
        if old == hi {
            if !known {
                nodes.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            nodes.push((lo + k, hi));
            hi = lo + k;
        } else {
            nodes.push((lo, lo + k));
            lo += k;
            known = false;
        }
    }
    nodes.reverse();
    range_hashes(&nodes, reader)
}

/// The root of a growing tree computed leaf by leaf in O(log n) memory: the hashes of the
/// perfect subtrees that make up the tree so far (RFC 6962's split at the largest power of
/// two), largest first.
///
/// Verification uses it to recompute the root of the first N entries straight from the log,
/// trusting no stored hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootAccumulator {
    /// (leaves covered, subtree hash), sizes strictly decreasing powers of two.
    subtrees: Vec<(u64, Hash)>,
    size: u64,
}

impl RootAccumulator {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf given its data.
    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// Appends a leaf given its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.subtrees.last() {
            if size != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree so far ([`EMPTY_ROOT`] when empty).
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = subtrees.next() else {
            return EMPTY_ROOT;
        };
        for (_, left) in subtrees {
            root = node_hash(left, &root);
        }
        root
    }
}

/// A whole tree in memory: the stored hashes of [`stored_hashes_for_append`] in a `Vec`.
///
/// For tests, and for checking a ledger export without a store: push the export lines, then ask
/// for the root of any size or for proofs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf with `data` and returns its leaf index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf given its leaf hash and returns its leaf index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size;
        let hashes = stored_hashes_for_leaf_hash(index, leaf, &self.hashes)
            .expect("a memory tree holds every hash that its next append reads");
        self.hashes.extend(hashes);
        self.size += 1;
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored hashes, the one of stored-hash index `i` at position `i`.
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError<MissingHash>> {
        if size > self.size {
            return Err(TreeError::IndexOutOfRange {
                index: size - 1,
                size: self.size,
            });
        }
        tree_root(size, &self.hashes)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, TreeError<MissingHash>> {
        if size > self.size {
            return Err(TreeError::IndexOutOfRange {
                index: size - 1,
                size: self.size,
            });
        }
        inclusion_proof(index, size, &self.hashes)
    }

    /// The consistency proof from the first `old` leaves to the first `new` leaves.
    pub fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, TreeError<MissingHash>> {
        if new > self.size {
            return Err(TreeError::IndexOutOfRange {
                index: new - 1,
                size: self.size,
            });
        }
        consistency_proof(old, new, &self.hashes)
    }
}
