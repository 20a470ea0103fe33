//! Why a publish failed.

use std::io;
use std::path::PathBuf;

use actledger_answers::AnswerError;
use actledger_core::Seq;
use actledger_store::StoreError;

/// Why `publish` wrote no new checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The ledger could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The answers the pages show could not be had from the ledger.
    #[error("drawing the mirror's pages")]
    Pages(#[source] AnswerError),
    /// A file of the mirror could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file of the mirror could not be written.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The checkpoint to publish does not open with its own key (a bug of the signer).
    #[error("the checkpoint to publish does not open: {reason}")]
    Unsigned {
        /// Why.
        reason: String,
    },
    /// The stored tree hashes do not give a tile (the ledger's derived records need repair).
    #[error("the stored tree hashes do not give {tile}: {reason}")]
    Tree {
        /// The tile's path.
        tile: String,
        /// Why.
        reason: String,
    },
    /// An entry whose export line does not fit a bundle's 16-bit length.
    #[error(
        "entry {seq} cannot be published: its export line has {len} bytes, and an entry of a tile bundle has at most 65,535"
    )]
    EntryTooLong {
        /// The entry.
        seq: Seq,
        /// The length of its export line without the newline.
        len: usize,
    },
    /// The mirror's checkpoint is not one this ledger's key signed.
    #[error(
        "{} does not verify with key {key}: the folder holds the mirror of another log ({reason})",
        path.display()
    )]
    ForeignCheckpoint {
        /// The mirror's checkpoint file.
        path: PathBuf,
        /// The name of the key it was opened with.
        key: String,
        /// Why it does not open.
        reason: String,
    },
    /// The mirror holds more entries than the ledger.
    #[error(
        "{} is of {published} entries and the ledger holds {count}: the ledger does not extend the mirror",
        path.display()
    )]
    MirrorAhead {
        /// The mirror's checkpoint file.
        path: PathBuf,
        /// The size the mirror's checkpoint is of.
        published: u64,
        /// The entries of the ledger.
        count: u64,
    },
    /// The mirror's checkpoint is of another history than the ledger's.
    #[error(
        "{} is of another history: its root of size {size} is not the ledger's",
        path.display()
    )]
    Diverged {
        /// The mirror's checkpoint file.
        path: PathBuf,
        /// The size of the checkpoint.
        size: u64,
    },
    /// A full tile or bundle found in the mirror with other bytes than the ledger implies.
    #[error(
        "{} holds other bytes than this ledger's: a full tile or bundle is never rewritten, so the folder is not this ledger's mirror",
        path.display()
    )]
    FullTileDiffers {
        /// The file.
        path: PathBuf,
    },
}

impl PublishError {
    /// Whether the mirror found in the folder is not this ledger's (a finding, not a failure
    /// to read or write): another key's, another history's, or a ledger behind it.
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self,
            PublishError::ForeignCheckpoint { .. }
                | PublishError::MirrorAhead { .. }
                | PublishError::Diverged { .. }
                | PublishError::FullTileDiffers { .. }
        )
    }
}

impl From<AnswerError> for PublishError {
    fn from(error: AnswerError) -> PublishError {
        match error {
            AnswerError::Store(store) => PublishError::Store(store),
            other => PublishError::Pages(other),
        }
    }
}
