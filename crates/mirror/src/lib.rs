//! Static mirrors of a ledger, as C2SP tlog-tiles lays them out
//! (<https://c2sp.org/tlog-tiles>): the signed `checkpoint`, the tiles of the Merkle tree
//! (`tile/<L>/<N>[.p/<W>]`), the entries in bundles (`tile/entries/<N>[.p/<W>]`, an entry being
//! its export line without the newline, so that it hashes to the ledger's Merkle leaf) and the
//! signed state `statement` that answer proofs need; and for people, `index.html` and a page
//! per office, `offices/<OFFICE>.html`, drawn as of the checkpoint. Any web server, object
//! store or CDN can serve the folder as it is.
//!
//! This crate owns the mirror's files, as the store owns the ledger's: the proof crate computes
//! the tiles and bundles, the store gives the entries and stored hashes, and this crate writes
//! them in the order that keeps readers safe.
//!
//! ```
//! use actledger_core::parse_batch;
//! use actledger_proof::SignerKey;
//! use actledger_store::Ledger;
//!
//! let dir = tempfile::tempdir()?;
//! let mut ledger = Ledger::create(&dir.path().join("ledger"))?;
//! ledger.append(parse_batch(br#"
//! {"type":"act_issued","act":"RS-001-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
//! "#)?)?;
//! let key = SignerKey::from_seed("example.org/ledger", [7; 32])?;
//! let signed = actledger_answers::sign_checkpoint(&ledger, &key)?;
//!
//! let mirror = dir.path().join("mirror");
//! let published = actledger_mirror::publish(&ledger, &mirror, &signed, &mut |_| {})?;
//! assert_eq!(published.size, 1);
//! assert!(mirror.join("tile/entries/000.p/1").exists());
//! assert!(mirror.join("checkpoint").exists());
//!
//! // Nothing new: nothing written.
//! let again = actledger_mirror::publish(&ledger, &mirror, &signed, &mut |_| {})?;
//! assert!(again.written.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod clone;
mod error;
mod files;
mod pages;
mod publish;

pub use clone::{CloneError, Cloned, clone_mirror};
pub use error::PublishError;
pub use pages::INDEX_FILE;
pub use publish::{CHECKPOINT_FILE, Published, STATEMENT_FILE, publish, published_size};
