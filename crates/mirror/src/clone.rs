//! Cloning: a ledger made, or brought up to date, from a mirror, trusting nothing but the
//! verifier key. The checkpoint must open with the key and the statement must name it; the
//! entries of the bundles must hash to the checkpoint's root, every tile fetched must hold
//! the hashes those entries imply, and the entries must then pass everything `import` checks.
//! Only then is anything written: a new ledger goes through `import` (built beside its path
//! and moved into place), an existing clone is extended all or nothing.
//!
//! A clone keeps the mirror's checkpoint and statement as a kept checkpoint, so that it can
//! answer with proofs, and `verify` checks the statement against the state it recomputes.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use actledger_core::HexHash;
use actledger_proof::{
    Checkpoint, Hash, HashReader, Statement, TreeError, VerifierKey, bundles_since, decode_bundle,
    stored_hash_count, stored_hashes_for_append, tile_bytes, tiles_since, tree_root,
};
use actledger_store::{ImportError, Importing, KeptCheckpoint, Ledger, StoreError, TreeHashes};
use serde::Serialize;

use crate::layout::{CHECKPOINT_FILE, STATEMENT_FILE};

/// What a clone did: `clone --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cloned {
    /// The origin of the mirror's checkpoint.
    pub origin: String,
    /// The entries the clone now holds (the checkpoint's size).
    pub size: u64,
    /// The Merkle root of the checkpoint.
    pub root: HexHash,
    /// The clone's head hash.
    pub head: HexHash,
    /// The entries the clone held before (none: a new ledger).
    pub previous_size: Option<u64>,
    /// The files read from the mirror, paths under it, in the order read.
    pub fetched: Vec<String>,
}

/// Why a clone made or changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloneError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file of the mirror could not be read from its folder.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file of the mirror could not be fetched over HTTP.
    #[error("fetching {url}: {reason}")]
    Fetch {
        /// The file's URL.
        url: String,
        /// Why (the status, or what failed).
        reason: String,
    },
    /// The scratch file the verified entries wait in could not be written or read.
    #[error("keeping the verified entries in a scratch file beside the ledger")]
    Scratch(#[source] io::Error),
    /// The mirror's checkpoint or statement does not verify.
    #[error("{path} does not verify with key {key}: {reason}")]
    NotSigned {
        /// The file (a path, or a URL).
        path: String,
        /// The key's name.
        key: String,
        /// Why.
        reason: String,
    },
    /// A bundle that is not one, or not of the width the checkpoint implies.
    #[error("{path} is not the bundle the checkpoint implies: {reason}")]
    Bundle {
        /// The file (a path, or a URL).
        path: String,
        /// Why.
        reason: String,
    },
    /// The entries do not hash to the checkpoint's root.
    #[error(
        "the mirror's entries do not hash to its checkpoint's root of size {size}: a bundle was changed"
    )]
    RootDiffers {
        /// The checkpoint's size.
        size: u64,
    },
    /// A tile that does not hold the hashes of the verified entries.
    #[error("{path} does not hold the hashes of the entries the checkpoint signs")]
    TileDiffers {
        /// The file (a path, or a URL).
        path: String,
    },
    /// The mirror's published state does not give the answer the statement signs.
    #[error("{path} does not give the state the statement signs: {reason}")]
    State {
        /// The file (a path, or a URL).
        path: String,
        /// Why.
        reason: String,
    },
    /// The mirror's checkpoint is of fewer entries than the clone holds.
    #[error(
        "the mirror's checkpoint is of {size} entries and the clone holds {count}: it does not extend the checkpoint the clone has"
    )]
    Behind {
        /// The mirror's size.
        size: u64,
        /// The clone's entries.
        count: u64,
    },
    /// The mirror's checkpoint is not of the clone's entries followed by new ones.
    #[error(
        "the mirror's checkpoint of size {size} does not extend the clone's {count} entries: the mirror rewrote history (or changed its new entries)"
    )]
    Rewritten {
        /// The mirror's size.
        size: u64,
        /// The clone's entries.
        count: u64,
    },
    /// The tree of the clone and the mirror could not be computed.
    #[error("computing the tree of the mirror's entries: {reason}")]
    Tree {
        /// Why.
        reason: String,
    },
    /// The verified entries are not a ledger `import` takes, or the ledger could not be made.
    #[error(transparent)]
    Import(ImportError),
}

impl CloneError {
    /// Whether the mirror does not verify (a finding, exit 3 at the command line), rather
    /// than a failure to read or write.
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self,
            CloneError::NotSigned { .. }
                | CloneError::Bundle { .. }
                | CloneError::RootDiffers { .. }
                | CloneError::TileDiffers { .. }
                | CloneError::Behind { .. }
                | CloneError::Rewritten { .. }
                | CloneError::State { .. }
        ) || matches!(self, CloneError::Import(ImportError::Line { .. }))
    }
}

/// Where a mirror is read from.
enum Origin {
    /// A folder.
    Dir(PathBuf),
    /// An `http(s)://` prefix (no trailing `/`), read with one agent (its connections reused).
    Http { prefix: String, agent: ureq::Agent },
}

/// The most a file of a mirror may hold: a full bundle of the longest entries, with room.
const MAX_FILE: u64 = 32 << 20;

/// The mirror, and the paths read from it.
pub(crate) struct Source {
    origin: Origin,
    fetched: Vec<String>,
}

impl Source {
    /// The mirror at `source`: an `http://` or `https://` URL, else a folder.
    pub(crate) fn new(source: &str) -> Source {
        let origin = if source.starts_with("http://") || source.starts_with("https://") {
            // ureq verifies TLS with the web's roots (webpki-roots) and nothing else, and
            // accepts gzip, as tlog-tiles asks of clients.
            Origin::Http {
                prefix: source.trim_end_matches('/').to_owned(),
                agent: ureq::Agent::new_with_defaults(),
            }
        } else {
            Origin::Dir(PathBuf::from(source))
        };
        Source {
            origin,
            fetched: Vec::new(),
        }
    }

    /// How messages name the file `name` of the mirror.
    pub(crate) fn location(&self, name: &str) -> String {
        match &self.origin {
            Origin::Dir(dir) => dir.join(name).display().to_string(),
            Origin::Http { prefix, .. } => format!("{prefix}/{name}"),
        }
    }

    pub(crate) fn read(&mut self, name: &str) -> Result<Vec<u8>, CloneError> {
        let bytes = match &self.origin {
            Origin::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read(&path).map_err(|source| CloneError::Read { path, source })?
            }
            Origin::Http { prefix, agent } => {
                let url = format!("{prefix}/{name}");
                let failed = |e: ureq::Error| CloneError::Fetch {
                    url: url.clone(),
                    reason: e.to_string(),
                };
                agent
                    .get(&url)
                    .call()
                    .map_err(failed)?
                    .body_mut()
                    .with_config()
                    .limit(MAX_FILE)
                    .read_to_vec()
                    .map_err(failed)?
            }
        };
        self.fetched.push(name.to_owned());
        Ok(bytes)
    }
}

/// The mirror's checkpoint and statement, opened with `vkey`.
pub(crate) struct Signed {
    pub(crate) checkpoint: Checkpoint,
    pub(crate) checkpoint_text: String,
    pub(crate) statement: Statement,
    pub(crate) statement_text: String,
}

pub(crate) fn open_signed(source: &mut Source, vkey: &VerifierKey) -> Result<Signed, CloneError> {
    let keys = std::slice::from_ref(vkey);
    let not_signed = |source: &Source, name: &str, reason: String| CloneError::NotSigned {
        path: source.location(name),
        key: vkey.name().to_owned(),
        reason,
    };
    let checkpoint_bytes = source.read(CHECKPOINT_FILE)?;
    let checkpoint = Checkpoint::open(&checkpoint_bytes, keys)
        .map_err(|e| not_signed(source, CHECKPOINT_FILE, e.to_string()))?
        .checkpoint;
    let statement_bytes = source.read(STATEMENT_FILE)?;
    let statement = Statement::open(&statement_bytes, keys)
        .map_err(|e| not_signed(source, STATEMENT_FILE, e.to_string()))?;
    if !statement.binds(&checkpoint) {
        return Err(not_signed(
            source,
            STATEMENT_FILE,
            "it does not name the checkpoint's origin, size and root".to_owned(),
        ));
    }
    // Both opened, so both are the signer's UTF-8 notes.
    Ok(Signed {
        checkpoint,
        statement,
        checkpoint_text: String::from_utf8_lossy(&checkpoint_bytes).into_owned(),
        statement_text: String::from_utf8_lossy(&statement_bytes).into_owned(),
    })
}

/// The stored hashes of the clone's tree followed by those of the entries fetched.
struct Extended<'a> {
    kept: Option<TreeHashes<'a>>,
    first_new: u64,
    new: Vec<Hash>,
}

/// Why [`Extended`] gave no hash.
#[derive(Debug, thiserror::Error)]
enum HashesError {
    /// The clone's stored hashes could not be read.
    #[error(transparent)]
    Store(StoreError),
    /// A hash neither the clone holds nor computed yet (a bug of the caller).
    #[error("tree hash {index} is neither the clone's nor computed from the mirror")]
    Missing { index: u64 },
}

impl HashReader for Extended<'_> {
    type Error = HashesError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashesError> {
        let missing = |index| HashesError::Missing { index };
        indexes
            .iter()
            .map(|&index| match index.checked_sub(self.first_new) {
                Some(at) => self.new.get(at as usize).copied().ok_or(missing(index)),
                None => {
                    let kept = self.kept.as_ref().ok_or(missing(index))?;
                    let hashes = kept.read_hashes(&[index]).map_err(HashesError::Store)?;
                    hashes.first().copied().ok_or(missing(index))
                }
            })
            .collect()
    }
}

fn tree_failed(error: TreeError<HashesError>) -> CloneError {
    match error {
        TreeError::Read(HashesError::Store(store)) => CloneError::Store(store),
        other => CloneError::Tree {
            reason: other.to_string(),
        },
    }
}

/// The entries of the mirror after the first `count`, up to its checkpoint's size, verified
/// against the checkpoint with the clone's own tree (`kept`) below them, and written as export
/// lines into `scratch`.
fn fetch_verified(
    source: &mut Source,
    signed: &Signed,
    kept: Option<TreeHashes<'_>>,
    count: u64,
    scratch: &mut dyn Write,
) -> Result<(), CloneError> {
    let size = signed.checkpoint.size;
    let mut tree = Extended {
        kept,
        first_new: stored_hash_count(count),
        new: Vec::new(),
    };
    let mut leaf = count;
    for bundle in bundles_since(count, size) {
        let name = bundle.path();
        let bytes = source.read(&name)?;
        let location = source.location(&name);
        let bad = |reason: String| CloneError::Bundle {
            path: location.clone(),
            reason,
        };
        let entries = decode_bundle(&bytes).map_err(|e| bad(e.to_string()))?;
        if entries.len() != usize::from(bundle.width) {
            return Err(bad(format!(
                "it holds {} entries, not {}",
                entries.len(),
                bundle.width
            )));
        }
        // The first bundle may start among the entries the clone holds: those are its own.
        let skip = count.saturating_sub(bundle.first_leaf()) as usize;
        for entry in entries.into_iter().skip(skip) {
            let hashes = stored_hashes_for_append(leaf, entry, &tree).map_err(tree_failed)?;
            tree.new.extend(hashes);
            scratch
                .write_all(entry)
                .and_then(|()| scratch.write_all(b"\n"))
                .map_err(CloneError::Scratch)?;
            leaf += 1;
        }
    }
    if tree_root(size, &tree).map_err(tree_failed)? != signed.checkpoint.root {
        return Err(if count == 0 {
            CloneError::RootDiffers { size }
        } else {
            CloneError::Rewritten { size, count }
        });
    }
    for tile in tiles_since(count, size) {
        let name = tile.path();
        let bytes = source.read(&name)?;
        if bytes != tile_bytes(tile, &tree).map_err(tree_failed)? {
            return Err(CloneError::TileDiffers {
                path: source.location(&name),
            });
        }
    }
    Ok(())
}

/// A scratch file beside the ledger with no name, so that nothing is left of it whatever
/// happens to the process.
fn scratch_beside(ledger: &Path) -> Result<File, CloneError> {
    let dir = ledger
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::tempfile_in(dir).map_err(CloneError::Scratch)
}

/// Makes the ledger at `ledger_path` a clone of the mirror at `source` (a folder, or an
/// `http://` or `https://` URL of one: the prefix its files are under), whose
/// checkpoint `vkey` signs: a new ledger when there is none (or an empty one), else the
/// clone there brought up to the mirror's checkpoint. `progress` receives the bytes of
/// entries imported so far. See the module's comment for what is checked.
pub fn clone_mirror(
    source: &str,
    ledger_path: &Path,
    vkey: &VerifierKey,
    how: Importing<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Cloned, CloneError> {
    let mut source = Source::new(source);
    let signed = open_signed(&mut source, vkey)?;
    let existing = match Ledger::open_waiting(ledger_path, how.wait) {
        Ok(ledger) if ledger.head().count > 0 => Some(ledger),
        Ok(_) | Err(StoreError::NotALedger { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let mut scratch = BufWriter::new(scratch_beside(ledger_path)?);
    let size = signed.checkpoint.size;
    let (ledger, previous_size) = match existing {
        None => {
            fetch_verified(&mut source, &signed, None, 0, &mut scratch)?;
            let mut lines = rewound(scratch)?;
            let ledger = Ledger::import_with(ledger_path, &mut lines, progress, how)
                .map_err(CloneError::Import)?;
            (ledger, None)
        }
        Some(mut ledger) => {
            let count = ledger.head().count;
            if size < count {
                return Err(CloneError::Behind { size, count });
            }
            fetch_verified(
                &mut source,
                &signed,
                Some(ledger.tree_hashes()),
                count,
                &mut scratch,
            )?;
            if size > count {
                let mut lines = rewound(scratch)?;
                ledger
                    .extend_from_export(&mut lines, progress)
                    .map_err(CloneError::Import)?;
            }
            (ledger, Some(count))
        }
    };
    ledger.keep_checkpoint(&KeptCheckpoint {
        size,
        vkey: vkey.to_string(),
        checkpoint: signed.checkpoint_text,
        statement: signed.statement_text,
        offices: Vec::new(),
    })?;
    Ok(Cloned {
        origin: signed.checkpoint.origin,
        size,
        root: HexHash(signed.checkpoint.root),
        head: HexHash(ledger.head().hash),
        previous_size,
        fetched: source.fetched,
    })
}

/// The scratch file, written, as input to read from its start.
fn rewound(scratch: BufWriter<File>) -> Result<BufReader<File>, CloneError> {
    let mut file = scratch
        .into_inner()
        .map_err(|e| CloneError::Scratch(e.into_error()))?;
    file.rewind().map_err(CloneError::Scratch)?;
    Ok(BufReader::new(file))
}
