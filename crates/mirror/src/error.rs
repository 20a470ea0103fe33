//! Why a publish failed.

use std::io;
use std::path::PathBuf;

use actledger_core::Seq;
use actledger_store::StoreError;

/// Why `publish` wrote no new checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The ledger could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An answer the mirror publishes (the data files' holdings, the answers' state) could
    /// not be made; its failures to read are `Store`.
    #[error("answering what the mirror publishes")]
    Answer(#[source] actledger_answers::AnswerError),
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
    /// The thread writing the mirror's files stopped before the last was handed to it (its
    /// own error is reported instead, when it has one).
    #[error("the mirror's writer stopped before every file was written")]
    WriterStopped,
    /// The thread writing the mirror's files panicked (a bug).
    #[error("the mirror's writer thread panicked")]
    WriterPanicked,
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
    /// An office's answer segments at the head are not the ones its kept leaf of the state
    /// commits to (the ledger's derived records need repair).
    #[error(
        "the answer segments of {office} are not the ones its kept leaf of the state commits to (`actledger verify` names what differs)"
    )]
    StateDiffers {
        /// The office.
        office: String,
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

impl From<actledger_answers::AnswerError> for PublishError {
    fn from(error: actledger_answers::AnswerError) -> PublishError {
        match error {
            actledger_answers::AnswerError::Store(store) => PublishError::Store(store),
            other => PublishError::Answer(other),
        }
    }
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
