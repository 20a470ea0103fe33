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
//! assert!(matches!(report.outcomes[1], (3, Appended::Recorded { seq: 2, .. })));
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

mod entry;
mod error;
mod index;
mod keys;
mod ledger;
mod postings;
mod tree;

pub use entry::{
    Entry, EntryError, FORMAT_VERSION, HASH_DOMAIN, Head, LAYOUT_VERSION, TIME_LEN, ZERO_HASH,
    format_time, parse_time,
};
pub use error::{AppendError, ImportError, Problem, StoreError, Verdict};
pub use index::CACHE_VERSION;
pub use ledger::{
    AppendReport, Appended, Ledger, verify_path, verify_path_against, verify_path_waiting,
};

/// Raw access to the stored layout, for tests that tamper with a ledger on disk. Not a
/// stable interface.
#[doc(hidden)]
pub mod testing {
    pub use crate::keys::*;

    use crate::entry::{Entry, EntryError};

    /// A ledger's sled database opened directly (its drop waits for the lock to be released).
    pub use crate::ledger::Sled;

    /// The stored bytes of an entry (the value under its `L` key).
    pub fn encode_entry(entry: &Entry) -> Vec<u8> {
        crate::entry::encode(entry)
    }

    /// Reads the stored bytes of an entry.
    pub fn decode_entry(bytes: &[u8]) -> Result<Entry, EntryError> {
        crate::entry::decode(bytes).map(|stored| stored.to_entry())
    }

    /// The stored bytes of a head record.
    pub fn encode_head(head: crate::Head, time: &str) -> Vec<u8> {
        crate::ledger::encode_head(head, time)
    }

    /// Verifies a database opened directly (as `verify_path` does after opening it), so a
    /// test can tamper and verify many times without reopening.
    pub fn verify_db(db: &sled::Db) -> Result<crate::Verdict, crate::StoreError> {
        crate::ledger::verify_open_db(db)
    }
}
