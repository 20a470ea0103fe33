//! Proofs for actledger: a Merkle tree over the ledger's entries, hashed as RFC 6962 / RFC 9162
//! say, kept incrementally in the stored-hash layout of Go's `sumdb/tlog`; inclusion and
//! consistency proofs; checkpoints (C2SP tlog-checkpoint) signed as C2SP signed notes with
//! Ed25519 keys; the tree's tiles and entry bundles as C2SP tlog-tiles serves them.
//!
//! This crate does no I/O and knows nothing of sled. A store keeps the tree by appending, with
//! every entry, the hashes of [`stored_hashes_for_append`] under their stored-hash indexes, and
//! reads them back through [`HashReader`]: the root of any size and any proof then cost
//! O(log n) reads. [`MemoryTree`] is the same in memory.
//!
//! The leaf data of entry `seq` is its export line without the newline, and its leaf index is
//! `seq - 1`, so anyone can recompute the root of size N from the first N lines of an export.
//!
//! ```
//! use actledger_proof::{Checkpoint, InclusionProof, MemoryTree, SignerKey};
//!
//! // The export lines of a ledger with three entries, as leaves.
//! let lines = [r#"{"seq":1}"#, r#"{"seq":2}"#, r#"{"seq":3}"#];
//! let mut tree = MemoryTree::new();
//! for line in lines {
//!     tree.push(line.as_bytes());
//! }
//!
//! // The ledger signs a checkpoint of its current size with its key.
//! let key = SignerKey::from_seed("example.org/ledger", [7; 32])?;
//! let signed = Checkpoint::new(key.name(), tree.size(), tree.root()).sign(&key)?;
//!
//! // It proves that entry 2 is in the ledger of 3 entries.
//! let proof = InclusionProof::generate(2, 3, lines[1].to_owned(), tree.stored_hashes())?;
//!
//! // A third party holding the verifier key checks the signature, then the proof.
//! let vkey = key.verifier_key().to_string();
//! let opened = Checkpoint::open(signed.as_bytes(), &[vkey.parse()?])?;
//! proof.check(&opened.checkpoint)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod checkpoint;
mod hash;
mod json;
mod note;
mod state;
mod tiles;
mod tree;
mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use hash::{
    EMPTY_ROOT, Hash, HashParseError, hash_from_hex, hash_to_hex, leaf_hash, node_hash,
};
pub use json::{CheckProofError, ConsistencyProof, InclusionProof};
pub use note::{
    KeyError, MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES, NoteError, NoteSigner, SignerKey, VerifiedNote,
    VerifierKey, is_valid_key_name, open_note, sign_note,
};
pub use state::{Blocked, Leaves, STATEMENT_HEADER, StateTree, Statement, StatementError};
pub use tiles::{
    Bundle, BundleError, MAX_BUNDLE_ENTRY, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, Tile, TilePath,
    TilePathError, bundles, bundles_since, decode_bundle, encode_bundle, index_path,
    parse_tile_path, tile_bytes, tile_hashes, tiles, tiles_since,
};
pub use tree::{
    HashReader, MAX_TREE_SIZE, MemoryTree, MissingHash, RootAccumulator, TreeError,
    consistency_proof, inclusion_proof, split_stored_hash_index, stored_hash_count,
    stored_hash_index, stored_hashes_for_append, stored_hashes_for_leaf_hash, tree_root,
};
pub use verify::{ProofError, verify_consistency, verify_inclusion};
