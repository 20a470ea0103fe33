//! Static mirrors of a ledger, as C2SP tlog-tiles lays them out
//! (<https://c2sp.org/tlog-tiles>): the signed `checkpoint`, the tiles of the Merkle tree
//! (`tile/<L>/<N>[.p/<W>]`), the entries in bundles (`tile/entries/<N>[.p/<W>]`, an entry being
//! its export line without the newline, so that it hashes to the ledger's Merkle leaf) and the
//! signed state `statement` that answer proofs need, with the answers' state (`state/`); the
//! data files, every titular and acting interval of every office as a CSV table, in Popolo and
//! as FollowTheMoney entities (`data/`); and for people, `index.html` and a page per office,
//! `offices/<OFFICE>.html`, drawn as of the checkpoint. Any web server, object store or CDN can
//! serve the folder as it is.
//!
//! This crate owns the mirror's files, as the store owns the ledger's: the proof crate computes
//! the tiles and bundles, the store gives the entries and stored hashes, and this crate defines
//! each file's bytes ([`MirrorFile`], [`file_bytes`]) and writes them in the order that keeps
//! readers safe. `actledger serve` answers the same files under `/tlog/` through
//! [`file_bytes`], so that a server and a folder are interchangeable for [`clone_mirror`].
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
mod data;
mod error;
mod files;
mod layout;
mod pages;
mod publish;
mod state;

pub use clone::{CloneError, Cloned, clone_mirror};
pub use data::{FTM_FILE, HOLDINGS_FILE, HOLDINGS_HEADER, POPOLO_FILE};
pub use error::PublishError;
pub use layout::{
    CHECKPOINT_FILE, MirrorFile, STATEMENT_FILE, bundle_bytes, file_bytes, tile_bytes,
};
pub use pages::INDEX_FILE;
pub use publish::{Published, publish, published_size};
pub use state::{STATE_FILE, bundle_from_mirror, office_file};
