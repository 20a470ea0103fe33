//! The answers' state as Merkle trees derived from the log, and the signed statement that binds
//! it to a checkpoint: what lets a third party check a who-held answer offline.
//!
//! Two kinds of tree, shaped as RFC 6962's (split at the largest power of two below the size)
//! and hashed under prefixes of their own, distinct from the log's `0x00` (leaf) and `0x01`
//! (node), so that no hash of one tree can stand for a hash of another:
//!
//! - [`StateTree::Segments`]: one an office, over its answer segments in day order (leaf
//!   `0x10`, node `0x11`);
//! - [`StateTree::Offices`]: over every office known at a tree size, in the byte order of their
//!   identifiers (leaf `0x12`, node `0x13`); its root is the *state root*.
//!
//! An empty tree's root is SHA-256(`0x14` || the tree's node prefix).
//!
//! What a leaf holds is the answers crate's business (canonical JSON); this module hashes
//! bytes, builds roots and paths, and checks paths.

use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::verify::{ProofError, root_from_inclusion};

/// Which of the state's trees: each hashes its leaves and nodes under its own prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateTree {
    /// An office's answer segments.
    Segments,
    /// The offices, whose root is the state root.
    Offices,
}

const EMPTY_PREFIX: u8 = 0x14;

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn segment_node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x11], left, right])
}

fn office_node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x13], left, right])
}

impl StateTree {
    fn leaf_prefix(self) -> u8 {
        match self {
            StateTree::Segments => 0x10,
            StateTree::Offices => 0x12,
        }
    }

    fn node(self) -> fn(&Hash, &Hash) -> Hash {
        match self {
            StateTree::Segments => segment_node,
            StateTree::Offices => office_node,
        }
    }

    /// The hash of a leaf holding `data`.
    pub fn leaf_hash(self, data: &[u8]) -> Hash {
        sha256(&[&[self.leaf_prefix()], data])
    }

    /// The hash of an interior node.
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        (self.node())(left, right)
    }

    /// The root of a tree of no leaves.
    pub fn empty_root(self) -> Hash {
        let node_prefix = match self {
            StateTree::Segments => 0x11,
            StateTree::Offices => 0x13,
        };
        sha256(&[&[EMPTY_PREFIX, node_prefix]])
    }

    /// The root of the tree over `leaves` (leaf hashes).
    pub fn root(self, leaves: &(impl Leaves + ?Sized)) -> Hash {
        match leaves.len() {
            0 => self.empty_root(),
            n => self.subtree(leaves, 0, n),
        }
    }

    /// The audit path of the leaf at `index` (RFC 6962 §2.1.1, leaf first): the hashes
    /// [`StateTree::root_from_path`] takes. `None` when `index` is not a leaf of the tree.
    pub fn path(self, leaves: &(impl Leaves + ?Sized), index: u64) -> Option<Vec<Hash>> {
        if index >= leaves.len() {
            return None;
        }
        let mut path = Vec::new();
        self.push_path(leaves, index, 0, leaves.len(), &mut path);
        Some(path)
    }

    /// The root that `path` leads to from the leaf hash `leaf` at `index` of a tree of `size`
    /// leaves (RFC 9162 §2.1.3.2), or why it leads nowhere.
    pub fn root_from_path(
        self,
        leaf: &Hash,
        index: u64,
        size: u64,
        path: &[Hash],
    ) -> Result<Hash, ProofError> {
        root_from_inclusion(leaf, index, size, path, self.node())
    }

    fn subtree(self, leaves: &(impl Leaves + ?Sized), lo: u64, hi: u64) -> Hash {
        if let Some(known) = leaves.complete(lo, hi) {
            return known;
        }
        if hi - lo == 1 {
            return leaves.leaf(lo);
        }
        let k = split(hi - lo);
        self.node_hash(
            &self.subtree(leaves, lo, lo + k),
            &self.subtree(leaves, lo + k, hi),
        )
    }

    fn push_path(
        self,
        leaves: &(impl Leaves + ?Sized),
        index: u64,
        lo: u64,
        hi: u64,
        path: &mut Vec<Hash>,
    ) {
        if hi - lo == 1 {
            return;
        }
        let k = split(hi - lo);
        if index < lo + k {
            self.push_path(leaves, index, lo, lo + k, path);
            path.push(self.subtree(leaves, lo + k, hi));
        } else {
            self.push_path(leaves, index, lo + k, hi, path);
            path.push(self.subtree(leaves, lo, lo + k));
        }
    }
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The leaves of a tree, as a root or a path needs them.
pub trait Leaves {
    /// How many leaves.
    fn len(&self) -> u64;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The hash of leaf `index` (below [`Leaves::len`]).
    fn leaf(&self, index: u64) -> Hash;
    /// The root of the complete subtree over leaves `lo..hi`, when it is known without its
    /// leaves (a stored block's root); `None` makes the caller compute it from the leaves.
    fn complete(&self, _lo: u64, _hi: u64) -> Option<Hash> {
        None
    }
}

impl Leaves for [Hash] {
    fn len(&self) -> u64 {
        <[Hash]>::len(self) as u64
    }

    fn leaf(&self, index: u64) -> Hash {
        self[usize::try_from(index).expect("a leaf index of a slice fits usize")]
    }
}

impl Leaves for Vec<Hash> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn leaf(&self, index: u64) -> Hash {
        self.as_slice().leaf(index)
    }
}

/// Leaves kept in blocks of `block` (a power of two), each full block known by its root, so
/// that a root or a path reads the leaves of at most the blocks it needs: the block of the leaf
/// asked for and the last, partial block. A full block aligned on its size is a complete
/// subtree of an RFC 6962 tree, so its root stands for its leaves.
#[derive(Debug, Clone)]
pub struct Blocked<'a> {
    /// Leaves in a block.
    pub block: u64,
    /// How many leaves in all.
    pub size: u64,
    /// The root of each full block, in order.
    pub full_roots: &'a [Hash],
    /// The leaves of the blocks given whole: `(first leaf index, leaf hashes)`.
    pub loaded: &'a [(u64, Vec<Hash>)],
    /// Which tree, to hash nodes inside a loaded block.
    pub tree: StateTree,
}

impl Leaves for Blocked<'_> {
    fn len(&self) -> u64 {
        self.size
    }

    fn leaf(&self, index: u64) -> Hash {
        for (first, leaves) in self.loaded {
            if (*first..*first + leaves.len() as u64).contains(&index) {
                return leaves[usize::try_from(index - first).expect("within a loaded block")];
            }
        }
        panic!("leaf {index} was not loaded: load its block, or give the block's root")
    }

    fn complete(&self, lo: u64, hi: u64) -> Option<Hash> {
        let aligned = hi - lo == self.block && lo.is_multiple_of(self.block);
        let block = usize::try_from(lo / self.block).ok()?;
        if aligned && !self.loaded.iter().any(|(first, _)| *first == lo) {
            return self.full_roots.get(block).copied();
        }
        None
    }
}

/// What the log signs about its answers' state at a tree size, in a signed note of its own
/// beside the checkpoint (under the same key): the origin, the tree size and the log's root,
/// as the checkpoint says them, then the number of offices and the state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The log's origin (the key's name).
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The log's root at that size.
    pub log_root: Hash,
    /// How many offices are known at that size (the leaves of the offices tree).
    pub offices: u64,
    /// The root of the offices tree.
    pub state_root: Hash,
}

/// The first line of a statement. No checkpoint can start with it: a checkpoint's first line
/// is its origin, which is a key's name, and key names hold no spaces.
pub const STATEMENT_HEADER: &str = "actledger state statement v1";

/// Why a text is not a statement, or a statement does not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The signed note does not open (signature, format).
    #[error(transparent)]
    Note(#[from] crate::note::NoteError),
    /// The note's text is not a statement: which line, and what is wrong with it.
    #[error("not a state statement: line {line} {problem}")]
    Format {
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// None of the keys that signed it is named as its origin.
    #[error("the statement is not signed by its origin's key")]
    NotSignedByOrigin,
    /// Signing with a key whose name is not the origin.
    #[error("the key {key:?} cannot sign a statement of {origin:?}: the key name is the origin")]
    KeyNotOrigin {
        /// The key's name.
        key: String,
        /// The origin.
        origin: String,
    },
}

impl Statement {
    /// The note text: the header, the origin, the size, the log root (base64), the number of
    /// offices and the state root (base64), a line each.
    pub fn to_note_text(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            "{STATEMENT_HEADER}\n{}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64.encode(self.log_root),
            self.offices,
            b64.encode(self.state_root)
        )
    }

    /// Reads a statement's note text, strictly: exactly the six lines of
    /// [`Statement::to_note_text`], numbers in decimal without leading zeros, roots as the
    /// canonical base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Statement, StatementError> {
        let bad = |line, problem| StatementError::Format { line, problem };
        let body = text
            .strip_suffix('\n')
            .ok_or(bad(1, "is not followed by a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [header, origin, size, log_root, offices, state_root] = lines.as_slice() else {
            return Err(bad(
                lines.len().min(7),
                "is missing or one too many: a statement has 6 lines",
            ));
        };
        if *header != STATEMENT_HEADER {
            return Err(bad(1, "is not the statement's header"));
        }
        if origin.is_empty() || origin.chars().any(|c| c < '\u{21}') {
            return Err(bad(2, "is not an origin"));
        }
        let number = |text: &str, line| {
            let canonical = !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_digit())
                && (text == "0" || !text.starts_with('0'));
            canonical
                .then(|| text.parse::<u64>().ok())
                .flatten()
                .ok_or(bad(line, "is not a number in decimal"))
        };
        let root = |text: &str, line| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|bytes| Hash::try_from(bytes).ok())
                .ok_or(bad(line, "is not the base64 of a 32-byte hash"))
        };
        Ok(Statement {
            origin: (*origin).to_owned(),
            size: number(size, 3)?,
            log_root: root(log_root, 4)?,
            offices: number(offices, 5)?,
            state_root: root(state_root, 6)?,
        })
    }

    /// Whether the statement names `checkpoint`'s origin, size and log root: the two notes are
    /// of one log at one size.
    pub fn binds(&self, checkpoint: &crate::Checkpoint) -> bool {
        self.origin == checkpoint.origin
            && self.size == checkpoint.size
            && self.log_root == checkpoint.root
    }

    /// Signs the statement with `key`, whose name must be the origin: the signed note.
    pub fn sign(&self, key: &crate::note::SignerKey) -> Result<String, StatementError> {
        if key.name() != self.origin {
            return Err(StatementError::KeyNotOrigin {
                key: key.name().to_owned(),
                origin: self.origin.clone(),
            });
        }
        Ok(crate::note::sign_note(&self.to_note_text(), key)?)
    }

    /// Opens a signed statement: the note verifies with `keys`, its text is a statement, and
    /// one of the keys that signed it is named as its origin.
    pub fn open(
        msg: &[u8],
        keys: &[crate::note::VerifierKey],
    ) -> Result<Statement, StatementError> {
        let note = crate::note::open_note(msg, keys)?;
        let statement = Statement::parse(&note.text)?;
        if !note
            .signers
            .iter()
            .any(|signer| signer.name == statement.origin)
        {
            return Err(StatementError::NotSignedByOrigin);
        }
        Ok(statement)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{MemoryTree, SignerKey, leaf_hash};

    fn leaves(tree: StateTree, n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| tree.leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn the_shape_is_rfc_6962s_and_the_domains_differ() {
        // Under the log's prefixes the same code gives the log's root: compare the shapes by
        // building the log's tree from the same data.
        for n in [1u64, 2, 3, 5, 64, 65, 129, 200] {
            let data: Vec<Vec<u8>> = (0..n).map(|i| format!("leaf {i}").into_bytes()).collect();
            let mut log = MemoryTree::new();
            for d in &data {
                log.push(d);
            }
            let segments = leaves(StateTree::Segments, n);
            let offices = leaves(StateTree::Offices, n);
            assert_ne!(StateTree::Segments.root(&segments), log.root());
            assert_ne!(
                StateTree::Segments.root(&segments),
                StateTree::Offices.root(&offices)
            );
            for index in 0..n {
                for (tree, hashes) in [
                    (StateTree::Segments, &segments),
                    (StateTree::Offices, &offices),
                ] {
                    let path = tree.path(hashes, index).unwrap();
                    let root = tree
                        .root_from_path(&hashes.leaf(index), index, n, &path)
                        .unwrap();
                    assert_eq!(root, tree.root(hashes));
                    // The same path under the other tree's prefixes leads elsewhere.
                    let other = match tree {
                        StateTree::Segments => StateTree::Offices,
                        StateTree::Offices => StateTree::Segments,
                    };
                    if n > 1 {
                        assert_ne!(
                            other
                                .root_from_path(&hashes.leaf(index), index, n, &path)
                                .unwrap(),
                            root
                        );
                    }
                }
            }
        }
        assert_ne!(StateTree::Segments.leaf_hash(b"x"), leaf_hash(b"x"));
        assert_ne!(
            StateTree::Segments.empty_root(),
            StateTree::Offices.empty_root()
        );
    }

    #[test]
    fn a_path_that_is_changed_moved_or_cut_leads_elsewhere() {
        let tree = StateTree::Offices;
        let hashes = leaves(tree, 13);
        let root = tree.root(&hashes);
        let path = tree.path(&hashes, 6).unwrap();
        let leaf = hashes.leaf(6);
        for i in 0..path.len() {
            for bit in [0, 7] {
                let mut changed = path.clone();
                changed[i][5] ^= 1 << bit;
                assert_ne!(tree.root_from_path(&leaf, 6, 13, &changed).ok(), Some(root));
            }
        }
        assert_ne!(tree.root_from_path(&leaf, 7, 13, &path).ok(), Some(root));
        // A size of another shape (the size itself is bound by what is signed: the statement's
        // number of offices, an office leaf's number of segments).
        assert_ne!(tree.root_from_path(&leaf, 6, 17, &path).ok(), Some(root));
        assert!(tree.root_from_path(&leaf, 6, 13, &path[1..]).is_err());
        assert!(tree.root_from_path(&leaf, 13, 13, &path).is_err());
        assert_eq!(tree.path(&hashes, 13), None);
    }

    #[test]
    fn blocks_known_by_their_roots_give_the_same_root_and_paths() {
        let tree = StateTree::Segments;
        for n in [1u64, 63, 64, 65, 128, 130, 257, 1000] {
            let hashes = leaves(tree, n);
            let block = 64;
            let full_roots: Vec<Hash> = hashes
                .chunks(64)
                .filter(|c| c.len() == 64)
                .map(|c| tree.root(&c.to_vec()))
                .collect();
            let tail_first = (n / block) * block;
            let tail = (tail_first, hashes[tail_first as usize..].to_vec());
            for index in [0, n / 2, n - 1] {
                let first = index / block * block;
                let own = (
                    first,
                    hashes[first as usize..(first + block).min(n) as usize].to_vec(),
                );
                let loaded = [own, tail.clone()];
                let blocked = Blocked {
                    block,
                    size: n,
                    full_roots: &full_roots,
                    loaded: &loaded,
                    tree,
                };
                assert_eq!(tree.root(&blocked), tree.root(&hashes), "n={n}");
                assert_eq!(
                    tree.path(&blocked, index),
                    tree.path(&hashes, index),
                    "n={n} i={index}"
                );
            }
        }
    }

    #[test]
    fn a_statement_signs_parses_and_refuses_what_is_not_one() {
        let key = SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap();
        let statement = Statement {
            origin: "example.org/actledger".into(),
            size: 7,
            log_root: [1; 32],
            offices: 3,
            state_root: [2; 32],
        };
        let signed = statement.sign(&key).unwrap();
        let vkey = key.verifier_key().clone();
        assert_eq!(
            Statement::open(signed.as_bytes(), std::slice::from_ref(&vkey)).unwrap(),
            statement
        );
        // A statement is no checkpoint, and a checkpoint no statement.
        assert!(crate::Checkpoint::open(signed.as_bytes(), std::slice::from_ref(&vkey)).is_err());
        let checkpoint = crate::Checkpoint::new("example.org/actledger", 7, [1; 32])
            .sign(&key)
            .unwrap();
        assert!(Statement::open(checkpoint.as_bytes(), std::slice::from_ref(&vkey)).is_err());
        // Another log's key.
        let other = SignerKey::from_seed("example.org/other", [8; 32]).unwrap();
        assert!(Statement::open(signed.as_bytes(), &[other.verifier_key().clone()]).is_err());
        assert!(statement.sign(&other).is_err());
        // Strict text.
        let text = statement.to_note_text();
        assert_eq!(Statement::parse(&text).unwrap(), statement);
        for bad in [
            text.replace("\n7\n", "\n07\n"),
            text.replace("\n3\n", "\n+3\n"),
            text.trim_end().to_owned(),
            format!("{text}extra\n"),
            text.replacen(STATEMENT_HEADER, "actledger state statement v2", 1),
        ] {
            assert!(Statement::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
