//! The ledger handle: an open ledger's path, database, head and memo, and the head record
//! that stores the head.

use std::path::{Path, PathBuf};

use sled::Db;

use crate::cache::CACHE_VERSION;
use crate::entry::Head;
use crate::error::{StoreError, storage};
use crate::index::Memo;
use crate::keys;
use crate::open::Sled;
use crate::recovery::Recovery;

/// An open ledger. It holds the ledger's lock until dropped: one writer at a time.
pub struct Ledger {
    pub(crate) path: PathBuf,
    pub(crate) db: Sled,
    pub(crate) head: Head,
    /// The recording time of the last entry ("" when there is none).
    pub(crate) last_time: String,
    pub(crate) memo: Memo,
    /// What opening did about an append that had not completed, if there was one.
    pub(crate) recovery: Option<Recovery>,
    /// Failures a test asked for.
    pub(crate) faults: Faults,
    /// The loan of the ledger from its holder, if it was borrowed ([`crate::loan`]): last, so
    /// that it is given back only once the database and the lock are let go.
    pub(crate) loan: Option<crate::loan::Loan>,
}

/// Failures a test asks for, with the `fault-injection` feature (which only the store's own
/// tests enable, through its dev-dependencies); without it, none and no field. Also the size
/// of the parts a large append is written in, which tests make small.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The next append's flush reports a failure (after flushing).
    #[cfg(feature = "fault-injection")]
    pub(crate) fail_append_flush: std::sync::atomic::AtomicBool,
    /// The write of this part (from 1) of an append in parts reports a failure once flushed.
    #[cfg(feature = "fault-injection")]
    pub(crate) fail_part: std::sync::atomic::AtomicUsize,
    /// The recording time of every append, instead of the clock's.
    #[cfg(feature = "fault-injection")]
    pub(crate) fixed_time: std::sync::Mutex<Option<String>>,
    /// Events per part of an append written in parts; 0 for [`crate::append::PART_EVENTS`].
    pub(crate) part_events: usize,
}

impl Faults {
    /// Whether the write of part `part` (from 1) of an append in parts is to fail.
    pub(crate) fn part_fails(&self, part: usize) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.fail_part
                .compare_exchange(
                    part,
                    0,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            let _ = part;
            false
        }
    }

    /// The recording time a test fixed, if it did.
    pub(crate) fn fixed_time(&self) -> Option<String> {
        #[cfg(feature = "fault-injection")]
        {
            self.fixed_time.lock().ok().and_then(|time| time.clone())
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            None
        }
    }

    /// Events per part of an append written in parts.
    pub(crate) fn part_events(&self) -> usize {
        match self.part_events {
            0 => crate::append::PART_EVENTS,
            n => n,
        }
    }

    /// Whether the append flushing now is to fail (asked once per append).
    pub(crate) fn append_flush_fails(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.fail_append_flush
                .swap(false, std::sync::atomic::Ordering::Relaxed)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            false
        }
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// The head record: count, hash of the last entry, time of the last entry.
pub(crate) fn encode_head(head: Head, time: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + time.len());
    out.extend_from_slice(&head.count.to_be_bytes());
    out.extend_from_slice(&head.hash);
    out.extend_from_slice(time.as_bytes());
    out
}

fn decode_head(bytes: &[u8]) -> Result<(Head, String), String> {
    let (count, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or("the head record is cut short")?;
    let (hash, time) = rest
        .split_first_chunk::<32>()
        .ok_or("the head record is cut short")?;
    let time = std::str::from_utf8(time).map_err(|_| "the head record's time is not UTF-8")?;
    Ok((
        Head {
            count: u64::from_be_bytes(*count),
            hash: *hash,
        },
        time.to_owned(),
    ))
}

pub(crate) fn encode_cache_record(count: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&CACHE_VERSION.to_be_bytes());
    out[4..].copy_from_slice(&count.to_be_bytes());
    out
}

/// The head and the time of the last entry, as the head record gives them, or why it cannot.
pub(crate) type HeadRecord = Result<(Head, String), String>;

/// The stored head record, or why it cannot be had.
pub(crate) fn read_head(db: &Db, path: &Path) -> Result<HeadRecord, StoreError> {
    Ok(match db.get(keys::META_HEAD).map_err(storage(path))? {
        None => Err("the head record is missing".to_owned()),
        Some(bytes) => decode_head(&bytes),
    })
}

impl Ledger {
    /// What opening did about an append that had not completed (a crash or a failed write
    /// between its first write and its flush), if there was one: `crate::recovery`.
    pub fn recovery(&self) -> Option<Recovery> {
        self.recovery
    }

    /// The ledger's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this ledger was borrowed from a process that holds it and lends it (`serve`),
    /// which takes it back once this handle is dropped.
    pub fn is_borrowed(&self) -> bool {
        self.loan.is_some()
    }

    /// The position and hash of the last entry.
    pub fn head(&self) -> Head {
        self.head
    }
}
