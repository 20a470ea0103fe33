//! What the store's operations fail with, and what verification finds.

use std::fmt;
use std::path::PathBuf;

use actledger_core::{InvalidEvent, Seq};

/// Why the store could not do what was asked (open, read, write).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another handle in this one) has the ledger open.
    #[error("the ledger at {} is in use by another process", .path.display())]
    InUse {
        /// The ledger's folder.
        path: PathBuf,
    },
    /// Another process still had the ledger open when the wait for it ran out
    /// ([`Ledger::open_waiting`](crate::Ledger::open_waiting)).
    #[error(
        "the ledger at {} is still in use by another process after waiting {:.1} s",
        .path.display(),
        .waited.as_secs_f64()
    )]
    StillInUse {
        /// The ledger's folder.
        path: PathBuf,
        /// How long the open waited.
        waited: std::time::Duration,
    },
    /// Nothing at the path, or something that is not a ledger made by `create` or `import`.
    #[error("there is no ledger at {}", .path.display())]
    NotALedger {
        /// The path given.
        path: PathBuf,
    },
    /// `create` (or `import`) found a ledger already there.
    #[error("a ledger already exists at {}", .path.display())]
    AlreadyExists {
        /// The ledger's folder.
        path: PathBuf,
    },
    /// The path exists and is not a ledger, so the store will not write there.
    #[error("{} exists and is not an empty folder", .path.display())]
    PathOccupied {
        /// The path given.
        path: PathBuf,
    },
    /// A ledger written with another (older, newer or unknown) layout.
    #[error(
        "the ledger at {} has unsupported format version {found}; this program reads version {} (export it with the program that wrote it, then import the export)",
        .path.display(),
        crate::LAYOUT_VERSION
    )]
    UnsupportedFormat {
        /// The ledger's folder.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The ledger's own records disagree with each other (run verification to see where).
    #[error("the ledger at {} is damaged: {reason}", .path.display())]
    Damaged {
        /// The ledger's folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A position or tree size the ledger does not have (a proof past the head...).
    #[error("{0}")]
    OutOfRange(String),
    /// An entry that cannot be read, or a chain that does not hold, found while reading.
    #[error("entry {seq}: {problem}")]
    Broken {
        /// The position of the entry.
        seq: Seq,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The storage engine failed.
    #[error("the storage engine failed on the ledger at {}: {reason}", .path.display())]
    Storage {
        /// The ledger's folder.
        path: PathBuf,
        /// What failed, in words (the engine's error is in the message once, not also as a
        /// cause, so that a printed chain does not repeat it).
        reason: String,
        /// The engine's error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file-system operation failed.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done ("creating", "renaming ... to").
        what: String,
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing an export failed.
    #[error("writing the export: {0}")]
    Write(#[source] std::io::Error),
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// An event breaks a rule of the spec: nothing of the batch was written.
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// The store failed: nothing of the batch was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an import was refused. Nothing is left behind at the path when it is.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line of the export is not what `export` writes, or breaks the chain or a rule.
    #[error("line {line}: {reason}")]
    Line {
        /// The 1-based line.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The path already holds a ledger with entries.
    #[error("the ledger at {} already holds {count} entries: import only makes a new ledger", .path.display())]
    NotEmpty {
        /// The ledger's folder.
        path: PathBuf,
        /// How many entries it holds.
        count: u64,
    },
    /// The export could not be read.
    #[error("reading the export at line {line}: {source}")]
    Read {
        /// The line being read.
        line: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every hash and link holds, and the stored head is the last entry.
    Intact {
        /// How many entries.
        count: u64,
        /// The hash of the last one (32 zero bytes when there is none).
        head: [u8; 32],
    },
    /// The first position at which something is wrong.
    Broken {
        /// The first bad position.
        seq: Seq,
        /// What is wrong there.
        problem: Problem,
    },
}

impl Verdict {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Intact { count, head } => {
                write!(f, "intact: {count} entries, head {}", hex::encode(head))
            }
            Verdict::Broken { seq, problem } => write!(f, "broken at entry {seq}: {problem}"),
        }
    }
}

/// What is wrong at a position of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The stored hash is not the hash of the entry's fields.
    HashMismatch {
        /// The hash the fields give.
        expected: [u8; 32],
        /// The hash stored with the entry.
        actual: [u8; 32],
    },
    /// Positions are missing: the next stored entry is a later one.
    Gap {
        /// The position that should come next.
        expected: Seq,
        /// The position found instead.
        found: Seq,
    },
    /// The entry stored at this position says it belongs at another.
    Misplaced {
        /// The position the entry names.
        found: Seq,
    },
    /// The entry's previous hash is not the hash of the entry before it.
    BrokenLink,
    /// The entry's recording time is earlier than the entry before it.
    TimeWentBack {
        /// The time of the entry before.
        previous: String,
        /// This entry's time.
        time: String,
    },
    /// The entry (or its key, or its event) cannot be read.
    Unparsable(String),
    /// The stored head (count and hash of the last entry) disagrees with the entries.
    HeadMismatch {
        /// The count the head records.
        stored_count: u64,
        /// The hash the head records.
        stored_hash: [u8; 32],
        /// How many entries the chain holds.
        found_count: u64,
        /// The hash of the chain's last entry.
        found_hash: [u8; 32],
    },
    /// The ledger's head record is missing or unreadable.
    NoHead(String),
    /// The ledger holds fewer entries than a checkpoint it should extend (or none at all).
    ShorterThanCheckpoint {
        /// The entries the ledger holds.
        count: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The Merkle root of the ledger's first entries is not the checkpoint's root.
    RootMismatch {
        /// The checkpoint's tree size.
        size: u64,
        /// The checkpoint's root.
        expected: [u8; 32],
        /// The root of the ledger's first `size` entries.
        actual: [u8; 32],
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::HashMismatch { expected, actual } => write!(
                f,
                "hash mismatch: the entry's fields hash to {}, but the stored hash is {}",
                hex::encode(expected),
                hex::encode(actual)
            ),
            Problem::Gap { expected, found } => write!(
                f,
                "gap: entry {expected} is missing (the next stored entry is {found})"
            ),
            Problem::Misplaced { found } => {
                write!(f, "misplaced: the entry stored here is entry {found}")
            }
            Problem::BrokenLink => {
                f.write_str("broken link: its previous hash is not the hash of the entry before it")
            }
            Problem::TimeWentBack { previous, time } => write!(
                f,
                "time went back: recorded at {time}, before the entry before it ({previous})"
            ),
            Problem::Unparsable(reason) => write!(f, "unreadable entry: {reason}"),
            Problem::HeadMismatch {
                stored_count,
                stored_hash,
                found_count,
                found_hash,
            } => write!(
                f,
                "head mismatch: the ledger records {stored_count} entries ending in {}, but its chain holds {found_count} ending in {}",
                hex::encode(stored_hash),
                hex::encode(found_hash)
            ),
            Problem::NoHead(reason) => write!(f, "no head record: {reason}"),
            Problem::ShorterThanCheckpoint { count, size } => write!(
                f,
                "the ledger holds {count} entries but the checkpoint vouches for {size}: entries were removed"
            ),
            Problem::RootMismatch {
                size,
                expected,
                actual,
            } => write!(
                f,
                "the Merkle root of the first {size} entries is {}, not the checkpoint's {}: history was rewritten",
                hex::encode(actual),
                hex::encode(expected)
            ),
        }
    }
}
