//! The ledger on disk: an append-only chain of events, each entry bound to the one before it
//! by a SHA-256 hash, stored in sled, with the core's indexes and a query cache beside it.
//!
//! This is the only crate that knows sled. Everything else reads the ledger through the
//! core's [`Recorded`](actledger_core::Recorded) and [`Indexed`](actledger_core::Indexed)
//! traits, which [`Ledger`] implements, or through export lines that rebuild a ledger without
//! sled. `docs/FORMAT.md` defines the hash, the stored layout and the export line byte by
//! byte; `docs/verify_export.py` checks an export from that page alone.
//!
//! ```
//! use actledger_core::{Day, parse_batch, who_held};
//! use actledger_store::{Appended, Ledger, Verdict};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("ledger");
//! let mut ledger = Ledger::create(&path)?;
//! let report = ledger.append(parse_batch(br#"
//! {"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
//! {"type":"appointed","act":"RS-001-2024-PCM","person":"walter-astudillo","office":"MINDEF","on":"2024-01-02"}
//! "#)?)?;
//! let appended = ledger.appended(&report).collect::<Result<Vec<_>, _>>()?;
//! assert!(matches!(appended[1], (3, Appended::Recorded { seq: 2, .. })));
//!
//! let answer = who_held(&ledger, "MINDEF", Day::parse("2024-06-05")?, None)?;
//! assert_eq!(answer.holder.unwrap().person.as_str(), "walter-astudillo");
//! assert!(matches!(ledger.verify()?, Verdict::Intact { count: 2, .. }));
//!
//! let mut export = Vec::new();
//! ledger.export(&mut export, &mut |_| {})?;
//! let copy = Ledger::import(&dir.path().join("copy"), &mut &export[..], &mut |_| {})?;
//! assert_eq!(copy.head(), ledger.head());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod append;
mod cache;
mod chunk;
mod compact;
mod derived;
mod entry;
mod error;
mod index;
mod kept;
mod keys;
mod ledger;
mod loan;
mod lock;
mod open;
mod postings;
mod proofs;
mod read;
mod rebuild;
mod recovery;
mod repair;
mod report;
mod staging;
mod state;
mod transfer;
mod tree;
mod varint;
mod verify;
mod writes;

pub use append::PartCheck;
pub use cache::CACHE_VERSION;
pub use compact::{
    AppendedBatch, Compacted, Growth, GrowthBound, compact_if_grown, compact_path, folder_bytes,
};
pub use entry::{
    Entry, EntryError, FORMAT_VERSION, HASH_DOMAIN, Head, LAYOUT_VERSION, TIME_LEN, ZERO_HASH,
    format_time, parse_time,
};
pub use error::{
    AppendError, Difference, Finding, Findings, ImportError, OutOfRange, Problem, StoreError,
    Subject, Table, Verdict,
};
pub use kept::{KeptCheckpoint, OpenedKept};
pub use ledger::Ledger;
pub use loan::{LOAN_SOCKET, Lender, Loan, LoanRequest};
pub use lock::describe_process;
pub use recovery::Recovery;
pub use repair::{Repair, repair_path};
pub use report::{AppendReport, Appended, Run};
pub use state::{OfficeProof, OfficeState, office_leaf_hash};
pub use transfer::Importing;
pub use tree::TreeHashes;
pub use verify::{
    Scope, verify_path, verify_path_against, verify_path_against_waiting, verify_path_reporting,
    verify_path_scoped, verify_path_waiting,
};

/// Raw access to the stored layout, for tests that tamper with a ledger on disk. Not a
/// stable interface.
#[doc(hidden)]
#[allow(clippy::unwrap_used)] // helpers for tests: a failed step is the test's failure
pub mod testing {
    pub use crate::keys::*;

    use crate::entry::{Entry, EntryError};

    /// A ledger's sled database opened directly (its drop waits for the lock to be released).
    pub use crate::open::Sled;

    /// Entries per chunk of the log.
    pub const CHUNK_ENTRIES: u64 = crate::chunk::CHUNK;

    /// The key of the chunk holding the entry at `seq`.
    pub fn chunk_key(seq: actledger_core::Seq) -> [u8; 9] {
        entry(crate::chunk::chunk_first(seq))
    }

    /// The stored value of a chunk holding `entries` (consecutive; their positions are
    /// implicit): its body packed.
    pub fn encode_chunk(entries: &[Entry]) -> Vec<u8> {
        crate::chunk::encode(entries)
    }

    /// The unpacked body of a chunk holding `entries`.
    pub fn encode_chunk_body(entries: &[Entry]) -> Vec<u8> {
        crate::chunk::encode_body(entries)
    }

    /// Reads every entry of the chunk stored under position `first` (its stored value).
    pub fn decode_chunk(
        first: actledger_core::Seq,
        value: &[u8],
    ) -> Result<Vec<Entry>, (actledger_core::Seq, EntryError)> {
        crate::chunk::decode(first, value)
    }

    /// Reads every entry of the unpacked body of the chunk under position `first`.
    pub fn decode_chunk_body(
        first: actledger_core::Seq,
        body: &[u8],
    ) -> Result<Vec<Entry>, (actledger_core::Seq, EntryError)> {
        crate::chunk::decode_body(first, body)
    }

    /// The stored value of a chunk whose unpacked body is `body` (any bytes).
    pub fn pack_chunk(body: &[u8]) -> Vec<u8> {
        crate::chunk::pack(body)
    }

    /// The unpacked body of a chunk's stored value, or why it does not unpack.
    pub fn unpack_chunk(value: &[u8]) -> Result<Vec<u8>, EntryError> {
        let mut body = crate::chunk::Body::default();
        body.unpack(value)?;
        Ok(body.bytes().to_vec())
    }

    /// The first position and the entries of the chunk holding `seq` (none when missing).
    pub fn chunk_of(db: &sled::Db, seq: actledger_core::Seq) -> (actledger_core::Seq, Vec<Entry>) {
        let first = crate::chunk::chunk_first(seq);
        let entries = db
            .get(entry(first))
            .unwrap()
            .map(|bytes| decode_chunk(first, &bytes).unwrap())
            .unwrap_or_default();
        (first, entries)
    }

    fn put_chunk(db: &sled::Db, first: actledger_core::Seq, entries: &[Entry]) {
        if entries.is_empty() {
            db.remove(entry(first)).unwrap();
        } else {
            db.insert(entry(first), encode_chunk(entries)).unwrap();
        }
    }

    /// The stored entry at `seq` (its `seq` and `prev` as the chunk implies them).
    pub fn read_entry(db: &sled::Db, seq: actledger_core::Seq) -> Entry {
        let (first, entries) = chunk_of(db, seq);
        entries[usize::try_from(seq - first).unwrap()].clone()
    }

    /// Rewrites the entry at `seq` inside its chunk (or adds it right after the chunk's last),
    /// fixing no hash. Only its time, hash and event are stored (and its `prev` when it is
    /// the first of its chunk).
    pub fn write_entry_raw(db: &sled::Db, seq: actledger_core::Seq, new: &Entry) {
        let (first, mut entries) = chunk_of(db, seq);
        let at = usize::try_from(seq - first).unwrap();
        if at == entries.len() {
            entries.push(new.clone());
        } else {
            entries[at] = new.clone();
        }
        put_chunk(db, first, &entries);
    }

    /// Removes the entry at `seq` from its chunk: the entries after it in the chunk move down
    /// one position.
    pub fn remove_entry(db: &sled::Db, seq: actledger_core::Seq) {
        let (first, mut entries) = chunk_of(db, seq);
        entries.remove(usize::try_from(seq - first).unwrap());
        put_chunk(db, first, &entries);
    }

    /// Puts `forged` at `seq` in its chunk: the entries from `seq` on in the chunk move up one
    /// position.
    pub fn insert_forged(db: &sled::Db, seq: actledger_core::Seq, forged: &Entry) {
        let (first, mut entries) = chunk_of(db, seq);
        entries.insert(usize::try_from(seq - first).unwrap(), forged.clone());
        put_chunk(db, first, &entries);
    }

    /// Swaps the stored entries at `a` and `b` (time, hash and event), fixing no hash.
    pub fn swap_entries(db: &sled::Db, a: actledger_core::Seq, b: actledger_core::Seq) {
        let (x, y) = (read_entry(db, a), read_entry(db, b));
        write_entry_raw(db, a, &y);
        write_entry_raw(db, b, &x);
    }

    /// The key of the chunk holding `seq`, its unpacked body, and the byte range of that
    /// entry in the body (write a changed body back with [`pack_chunk`]).
    pub fn entry_location(
        db: &sled::Db,
        seq: actledger_core::Seq,
    ) -> ([u8; 9], Vec<u8>, std::ops::Range<usize>) {
        let key = chunk_key(seq);
        let body = unpack_chunk(&db.get(key).unwrap().unwrap()).unwrap();
        let range = crate::chunk::entry_range(crate::chunk::chunk_first(seq), &body, seq).unwrap();
        (key, body, range)
    }

    /// Rebuilds the ledger's cache replaying its offices in groups of at most
    /// `events_per_group` events (the rebuild at import and recovery uses a large group).
    pub fn rebuild_cache_in_groups(ledger: &crate::Ledger, events_per_group: usize) {
        ledger.rebuild_cache_in_groups(events_per_group).unwrap();
    }

    /// Every record (key and value) of an open ledger, in key order.
    pub fn all_records(ledger: &crate::Ledger) -> Vec<(Vec<u8>, Vec<u8>)> {
        ledger
            .db
            .iter()
            .map(|item| {
                let (key, value) = item.unwrap();
                (key.to_vec(), value.to_vec())
            })
            .collect()
    }

    /// Every cache record (`S` and `W` keys and values) of an open ledger, in key order.
    pub fn cache_records(ledger: &crate::Ledger) -> Vec<(Vec<u8>, Vec<u8>)> {
        [SEGMENT, TIMELINE]
            .into_iter()
            .flat_map(|prefix| ledger.db.scan_prefix([prefix]))
            .map(|item| {
                let (key, value) = item.unwrap();
                (key.to_vec(), value.to_vec())
            })
            .collect()
    }

    /// The stored bytes of the intent record of an append from `before` to `after`.
    pub fn encode_pending(before: crate::Head, after: crate::Head) -> Vec<u8> {
        crate::recovery::Pending {
            before,
            after: Some(after),
        }
        .encode()
    }

    /// The stored bytes of the intent record of an unfinished append in parts from `before`.
    pub fn encode_unfinished(before: crate::Head) -> Vec<u8> {
        crate::recovery::Pending {
            before,
            after: None,
        }
        .encode()
    }

    /// Makes `ledger` write appends larger than `events` events in parts of `events` (0: the
    /// store's own size, 10,000).
    pub fn set_part_events(ledger: &mut crate::Ledger, events: usize) {
        ledger.faults.part_events = events;
    }

    /// Makes the write of part `part` (from 1) of the next append in parts of `ledger` fail
    /// once flushed (the `fault-injection` feature, for tests only).
    #[cfg(feature = "fault-injection")]
    pub fn fail_part(ledger: &crate::Ledger, part: usize) {
        ledger
            .faults
            .fail_part
            .store(part, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes every append of `ledger` record its entries at `time` (RFC 3339, as stored)
    /// instead of the clock's time (the `fault-injection` feature, for tests only).
    #[cfg(feature = "fault-injection")]
    pub fn fix_time(ledger: &crate::Ledger, time: &str) {
        if let Ok(mut fixed) = ledger.faults.fixed_time.lock() {
            *fixed = Some(time.to_owned());
        }
    }

    /// Makes the next append of `ledger` fail once its batch is written and flushed, as when
    /// the flush reports an I/O error (the `fault-injection` feature, for tests only).
    #[cfg(feature = "fault-injection")]
    pub fn fail_next_append_flush(ledger: &crate::Ledger) {
        ledger
            .faults
            .fail_append_flush
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The stored bytes of a head record.
    pub fn encode_head(head: crate::Head, time: &str) -> Vec<u8> {
        crate::ledger::encode_head(head, time)
    }

    /// Verifies a database opened directly (as `verify_path` does after opening it), so a
    /// test can tamper and verify many times without reopening.
    pub fn verify_db(db: &sled::Db) -> Result<crate::Verdict, crate::StoreError> {
        crate::verify::verify_open_db(db, crate::verify::VERIFY_WINDOW)
    }

    /// [`verify_db`] reading `chunks` chunks of the log at a time (verification reads 512), so
    /// that a small ledger crosses windows.
    pub fn verify_db_in_windows(
        db: &sled::Db,
        chunks: usize,
    ) -> Result<crate::Verdict, crate::StoreError> {
        crate::verify::verify_open_db(db, chunks)
    }
}
