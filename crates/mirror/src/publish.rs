//! Publishing: the tiles, bundles, data files, statement and checkpoint of a ledger at its
//! head, written into a folder, or added to the mirror already there.
//!
//! Order is what keeps a reader safe: the tiles and bundles first (then the data files, the
//! answers' state and the pages for people), then the statement, then,
//! once every folder written into is synced, the checkpoint. A reader that follows the
//! checkpoint therefore finds every file it names, and a publish interrupted at any point
//! leaves the previous checkpoint in force. The files before the checkpoint are written on a
//! second thread while the next is made; it is joined, and every folder it wrote into synced,
//! before the checkpoint is written.

use actledger_core::HexHash;
use actledger_proof::{Bundle, Checkpoint, bundles, bundles_since, tiles, tiles_since};
use actledger_store::{KeptCheckpoint, Ledger};
use serde::Serialize;

use crate::error::PublishError;
use crate::files::MirrorDir;
use crate::layout::{
    CHECKPOINT_FILE, STATEMENT_FILE, bundle_bytes, check_entry_lengths, tile_bytes,
};
use crate::state::publish_state;

/// What a publish did: `publish --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The origin of the checkpoint.
    pub origin: String,
    /// The number of entries the mirror now serves.
    pub size: u64,
    /// The Merkle root of the checkpoint.
    pub root: HexHash,
    /// The size of the checkpoint the mirror held before (none: a new mirror).
    pub previous_size: Option<u64>,
    /// The files written, paths under the mirror's folder, in the order written (the
    /// checkpoint last, when it changed).
    pub written: Vec<String>,
    /// How many of the files the mirror now consists of were already there, byte for byte.
    pub unchanged: u64,
}

/// Publishes the ledger at its head into the folder `dir`, with `signed`, a checkpoint of the
/// head and its statement (as `actledger_answers::sign_checkpoint` signs and keeps them).
/// `progress` receives, as bundles are written, how many entries they reach up to.
///
/// When `dir` already holds a mirror, its checkpoint must open with the same key and the
/// ledger must extend it; then only the tiles and bundles that checkpoint's size does not have
/// are made. A file already there with the right bytes is left as it is (a publish again with
/// nothing new writes nothing); a partial tile or bundle with other bytes is replaced; a full
/// one with other bytes is refused, since a full tile never changes. Partial tiles and bundles
/// that a wider one supersedes are left in place, so that a reader holding an older checkpoint
/// still finds the files it names.
pub fn publish(
    ledger: &Ledger,
    dir: &std::path::Path,
    signed: &KeptCheckpoint,
    progress: &mut dyn FnMut(u64),
) -> Result<Published, PublishError> {
    let opened = signed
        .open()
        .map_err(|reason| PublishError::Unsigned { reason })?;
    let checkpoint = opened.checkpoint;
    let size = checkpoint.size;
    let mut mirror = MirrorDir::create(dir)?;
    let previous = previous_size(ledger, &mirror, &opened.vkey, size)?;
    let old = previous.unwrap_or(0);
    if previous == Some(size) {
        // Nothing new: what the mirror's own checkpoint covers was written by the publish that
        // wrote it, so only files that went missing are made again.
        if let Some(files) = already_published(ledger, &mirror, signed)? {
            return Ok(Published {
                origin: checkpoint.origin,
                size,
                root: HexHash(checkpoint.root),
                previous_size: previous,
                written: Vec::new(),
                unchanged: files,
            });
        }
    }
    let new_bundles: Vec<Bundle> = bundles_since(old, size).collect();
    check_entry_lengths(ledger, &new_bundles)?;
    // Files are made on this thread and written (each synced, then renamed into place) on a
    // second one, so that the disk's work overlaps the next file's making.
    let (mut written, state_files, pages) = std::thread::scope(|scope| {
        let (files, to_write) = std::sync::mpsc::sync_channel(FILES_QUEUED);
        let root = mirror.root().to_owned();
        let writer = scope.spawn(move || write_files(&root, to_write));
        let mut publishing = Publishing {
            mirror: &mirror,
            written: Vec::new(),
            files,
        };
        let made = (|| {
            for tile in tiles_since(old, size) {
                let bytes = tile_bytes(ledger, tile)?;
                publishing.put(&tile.path(), bytes, tile.is_full())?;
            }
            for bundle in &new_bundles {
                let bytes = bundle_bytes(ledger, *bundle)?;
                publishing.put(&bundle.path(), bytes, bundle.is_full())?;
                progress(bundle.first_leaf() + u64::from(bundle.width));
            }
            crate::data::put_data_files(ledger, size, &mut publishing)?;
            let state_files = publish_state(ledger, signed, &mut publishing)?;
            let pages = crate::pages::put_pages(ledger, &checkpoint, &mut publishing)?;
            publishing.put(STATEMENT_FILE, signed.statement.as_bytes().to_vec(), false)?;
            Ok::<_, PublishError>((state_files, pages))
        })();
        let Publishing { written, files, .. } = publishing;
        drop(files);
        // The writer's error, if it stopped, is the cause of whatever this thread saw after.
        let mut wrote = writer.join().map_err(|_| PublishError::WriterPanicked)??;
        let (state_files, pages) = made?;
        // Every folder written into is synced before the checkpoint names what is in them.
        wrote.sync()?;
        Ok::<_, PublishError>((written, state_files, pages))
    })?;
    if mirror.read(CHECKPOINT_FILE)?.as_deref() != Some(signed.checkpoint.as_bytes()) {
        mirror.write(CHECKPOINT_FILE, signed.checkpoint.as_bytes())?;
        written.push(CHECKPOINT_FILE.to_owned());
    }
    mirror.sync()?;
    let files = file_count(
        size,
        crate::data::DATA_FILES.len() as u64 + state_files + pages,
    );
    Ok(Published {
        origin: checkpoint.origin,
        size,
        root: HexHash(checkpoint.root),
        previous_size: previous,
        unchanged: files.saturating_sub(written.len() as u64),
        written,
    })
}

/// How many files the mirror in `mirror` consists of, when it already is the mirror of
/// `signed` (the same checkpoint and statement, the same state) with every file of it there;
/// none when something must be written.
fn already_published(
    ledger: &Ledger,
    mirror: &MirrorDir,
    signed: &KeptCheckpoint,
) -> Result<Option<u64>, PublishError> {
    let same = |name: &str, bytes: &[u8]| -> Result<bool, PublishError> {
        Ok(mirror.read(name)?.as_deref() == Some(bytes))
    };
    if !same(CHECKPOINT_FILE, signed.checkpoint.as_bytes())?
        || !same(STATEMENT_FILE, signed.statement.as_bytes())?
    {
        return Ok(None);
    }
    let Some(state) = crate::state::published_files(ledger, mirror, signed)? else {
        return Ok(None);
    };
    let pages = crate::pages::page_files(ledger, signed.size)?;
    let data = crate::data::DATA_FILES;
    let derived = data.iter().map(|name| (*name).to_owned()).chain(pages);
    let mut count = state;
    for name in derived {
        if !mirror.path(&name).is_file() {
            return Ok(None);
        }
        count += 1;
    }
    Ok(Some(file_count(signed.size, count)))
}

/// How many files the mirror of a checkpoint of `size` entries consists of: its tiles and
/// bundles, the statement and the checkpoint, and `derived` (data files, state files, pages).
fn file_count(size: u64, derived: u64) -> u64 {
    tiles(size).count() as u64 + bundles(size).count() as u64 + derived + 2
}

/// The size of the checkpoint of the mirror in `dir`, when there is one (none when `dir` or its
/// checkpoint is missing): it must open with `vkey`, and the ledger must extend it. What a
/// caller checks before signing a new checkpoint for a publish, so that a publish refused for
/// its folder signs and keeps nothing.
pub fn published_size(
    ledger: &Ledger,
    dir: &std::path::Path,
    vkey: &actledger_proof::VerifierKey,
) -> Result<Option<u64>, PublishError> {
    previous_size(ledger, &MirrorDir::at(dir), vkey, ledger.head().count)
}

/// The size of the mirror's checkpoint, when there is one that this ledger extends.
fn previous_size(
    ledger: &Ledger,
    mirror: &MirrorDir,
    vkey: &actledger_proof::VerifierKey,
    size: u64,
) -> Result<Option<u64>, PublishError> {
    let Some(bytes) = mirror.read(CHECKPOINT_FILE)? else {
        return Ok(None);
    };
    let path = mirror.path(CHECKPOINT_FILE);
    let published = Checkpoint::open(&bytes, std::slice::from_ref(vkey))
        .map_err(|e| PublishError::ForeignCheckpoint {
            path: path.clone(),
            key: vkey.name().to_owned(),
            reason: e.to_string(),
        })?
        .checkpoint;
    if published.size > size {
        return Err(PublishError::MirrorAhead {
            path,
            published: published.size,
            count: size,
        });
    }
    if ledger.tree_root(published.size)? != published.root {
        return Err(PublishError::Diverged {
            path,
            size: published.size,
        });
    }
    Ok(Some(published.size))
}

/// How many made files may wait for the writer beyond the one it writes: each can be a data
/// file of a hundred megabytes at 1,000,000 events, so none (a hand-over: the next file is
/// made while one is written).
const FILES_QUEUED: usize = 0;

/// Writes each file received into the mirror at `root`, in order; stops at the first that
/// cannot be written (the sender then finds the channel closed). Returns the mirror, whose
/// folders written into are still to be synced.
fn write_files(
    root: &std::path::Path,
    files: std::sync::mpsc::Receiver<(String, Vec<u8>)>,
) -> Result<MirrorDir, PublishError> {
    let mut mirror = MirrorDir::at(root);
    for (name, bytes) in files {
        mirror.write(&name, &bytes)?;
    }
    Ok(mirror)
}

/// The files written so far, and the way to the thread that writes them.
pub(crate) struct Publishing<'a> {
    pub(crate) mirror: &'a MirrorDir,
    written: Vec<String>,
    files: std::sync::mpsc::SyncSender<(String, Vec<u8>)>,
}

impl Publishing<'_> {
    /// Makes `name` hold `bytes`: left alone when it already does; refused when it is `full`
    /// (never rewritten) and holds other bytes; written otherwise (by the writer thread,
    /// before the checkpoint).
    ///
    /// What is there is read from the folder, which the writer may not have reached yet: each
    /// name is put once a publish, so nothing put is compared with a queued file.
    pub(crate) fn put(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        full: bool,
    ) -> Result<(), PublishError> {
        let there = match self.mirror.read(name) {
            // A file where a folder of its path goes: the file is not there, and writing it
            // says why (on the writer, whose error is the one reported).
            Err(PublishError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotADirectory =>
            {
                None
            }
            there => there?,
        };
        match there {
            Some(there) if there == bytes => return Ok(()),
            Some(_) if full => {
                return Err(PublishError::FullTileDiffers {
                    path: self.mirror.path(name),
                });
            }
            _ => {}
        }
        self.files
            .send((name.to_owned(), bytes))
            .map_err(|_| PublishError::WriterStopped)?;
        self.written.push(name.to_owned());
        Ok(())
    }
}
