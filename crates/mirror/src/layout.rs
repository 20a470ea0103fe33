//! The files of a mirror, computed from the ledger: which paths a mirror of a checkpoint holds
//! and the bytes of each. `publish` writes them into a folder and `actledger serve` answers
//! them under its `/tlog/` prefix, both through this module, so that a folder and a server are
//! the same mirror byte for byte, and `clone` reads either.

use actledger_proof::{
    Bundle, MAX_BUNDLE_ENTRY, Tile, TilePath, TilePathError, TreeError, encode_bundle,
    parse_tile_path,
};
use actledger_store::{KeptCheckpoint, Ledger, OutOfRange, StoreError};

use actledger_core::OfficeId;

use crate::error::PublishError;
use crate::state::{STATE_FILE, office_bytes, office_file, state_bytes};

/// The name of the checkpoint in a mirror.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// The name of the signed state statement in a mirror, beside the checkpoint.
pub const STATEMENT_FILE: &str = "statement";

/// A file of a mirror, named by its path under the mirror's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorFile {
    /// `checkpoint`: the signed checkpoint.
    Checkpoint,
    /// `statement`: the signed statement of the answers' state at the checkpoint's size.
    Statement,
    /// `tile/<L>/<N>[.p/<W>]`: a tile of the Merkle tree.
    Tile(Tile),
    /// `tile/entries/<N>[.p/<W>]`: a bundle of entries.
    Bundle(Bundle),
    /// `state/offices.json`: every office's leaf of the answers' state.
    State,
    /// `state/offices/<OFFICE>.json`: one office's leaf and answer segments.
    OfficeState(OfficeId),
}

impl MirrorFile {
    /// Reads a path under the mirror's prefix, in its one spelling (tlog-tiles' paths refuse
    /// leading zeros, an `x000` group first and a `.p/256` suffix).
    pub fn parse(path: &str) -> Result<MirrorFile, TilePathError> {
        if let Some(office) = path
            .strip_prefix("state/offices/")
            .and_then(|rest| rest.strip_suffix(".json"))
        {
            return OfficeId::new(office)
                .map(MirrorFile::OfficeState)
                .map_err(|_| TilePathError {
                    path: path.to_owned(),
                    reason: "not an office id",
                });
        }
        Ok(match path {
            CHECKPOINT_FILE => MirrorFile::Checkpoint,
            STATEMENT_FILE => MirrorFile::Statement,
            STATE_FILE => MirrorFile::State,
            other => match parse_tile_path(other)? {
                TilePath::Tile(tile) => MirrorFile::Tile(tile),
                TilePath::Bundle(bundle) => MirrorFile::Bundle(bundle),
            },
        })
    }

    /// Its path under the mirror's prefix.
    pub fn path(&self) -> String {
        match self {
            MirrorFile::Checkpoint => CHECKPOINT_FILE.to_owned(),
            MirrorFile::Statement => STATEMENT_FILE.to_owned(),
            MirrorFile::Tile(tile) => tile.path(),
            MirrorFile::Bundle(bundle) => bundle.path(),
            MirrorFile::State => STATE_FILE.to_owned(),
            MirrorFile::OfficeState(office) => office_file(office.as_str()),
        }
    }

    /// Whether its bytes never change: a tile or bundle, full or partial, since its path names
    /// its width and so the leaves it covers. The checkpoint, the statement and the state's
    /// files are replaced as the ledger grows.
    pub fn is_immutable(&self) -> bool {
        matches!(self, MirrorFile::Tile(_) | MirrorFile::Bundle(_))
    }

    /// Whether a mirror whose checkpoint is of `size` entries has it: the checkpoint, the
    /// statement, and every tile and bundle of the tree of `size` leaves or of a smaller one
    /// (the partial tiles a mirror published at an earlier size keeps; a reader holding an
    /// older checkpoint asks for them).
    pub fn in_mirror_of(&self, size: u64) -> bool {
        let tile = match self {
            MirrorFile::Checkpoint
            | MirrorFile::Statement
            | MirrorFile::State
            | MirrorFile::OfficeState(_) => return true,
            MirrorFile::Tile(tile) => *tile,
            MirrorFile::Bundle(bundle) => bundle.tile(),
        };
        // A tile spans leaves `start .. end`; the tree of `end` leaves has it.
        tile.leaves().is_some_and(|(_, end)| end <= size)
    }
}

/// The bytes of `file` in the mirror of `kept`, a checkpoint the ledger kept: the signed notes
/// as kept, the tiles from the ledger's stored tree hashes and the bundles from its entries.
/// The caller checks that the file is in that mirror ([`MirrorFile::in_mirror_of`]).
///
/// None for the file of an office the state does not know.
pub fn file_bytes(
    ledger: &Ledger,
    kept: &KeptCheckpoint,
    file: &MirrorFile,
) -> Result<Option<Vec<u8>>, PublishError> {
    match file {
        MirrorFile::Checkpoint => Ok(Some(kept.checkpoint.as_bytes().to_vec())),
        MirrorFile::Statement => Ok(Some(kept.statement.as_bytes().to_vec())),
        MirrorFile::Tile(tile) => tile_bytes(ledger, *tile).map(Some),
        MirrorFile::Bundle(bundle) => bundle_bytes(ledger, *bundle).map(Some),
        MirrorFile::State => state_bytes(ledger, kept).map(Some),
        MirrorFile::OfficeState(office) => office_bytes(ledger, kept, office.as_str()),
    }
}

/// The bytes of `tile`: its hashes, read from the ledger's stored tree hashes.
pub fn tile_bytes(ledger: &Ledger, tile: Tile) -> Result<Vec<u8>, PublishError> {
    actledger_proof::tile_bytes(tile, &ledger.tree_hashes()).map_err(|error| match error {
        TreeError::Read(store) => PublishError::Store(store),
        other => PublishError::Tree {
            tile: tile.path(),
            reason: other.to_string(),
        },
    })
}

/// The bytes of `bundle`: its entries' export lines without their newlines, each after its
/// length. An entry longer than a bundle's 16-bit length is an error naming it.
pub fn bundle_bytes(ledger: &Ledger, bundle: Bundle) -> Result<Vec<u8>, PublishError> {
    let first = bundle.first_leaf() + 1;
    let end = bundle.first_leaf().saturating_add(u64::from(bundle.width));
    let count = ledger.head().count;
    if end > count {
        // Fewer entries than the bundle holds: the tree it belongs to is not the ledger's yet.
        return Err(StoreError::OutOfRange(OutOfRange::TreeSize { size: end, count }).into());
    }
    let mut lines = Vec::with_capacity(usize::from(bundle.width));
    for entry in ledger.entries(first).take(usize::from(bundle.width)) {
        let mut line = entry?.export_line();
        line.pop();
        lines.push(line);
    }
    encode_bundle(lines.iter().map(String::as_bytes)).map_err(|e| {
        let (seq, len) = match e {
            actledger_proof::BundleError::EntryTooLong { position, len } => {
                (first + position as u64, len)
            }
            _ => (first, 0),
        };
        PublishError::EntryTooLong { seq, len }
    })
}

/// Refuses, before anything is written, an entry of `bundles` that a bundle cannot hold
/// (events are capped below it now; older ledgers may hold longer ones).
pub(crate) fn check_entry_lengths(ledger: &Ledger, bundles: &[Bundle]) -> Result<(), PublishError> {
    let Some(first) = bundles.first() else {
        return Ok(());
    };
    for entry in ledger.entries(first.first_leaf() + 1) {
        let entry = entry?;
        let len = entry.export_line_len();
        if len > MAX_BUNDLE_ENTRY {
            return Err(PublishError::EntryTooLong {
                seq: entry.seq,
                len,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_back_and_say_what_a_size_has() {
        for path in [
            "checkpoint",
            "statement",
            "tile/0/000",
            "tile/1/000.p/1",
            "tile/entries/001.p/44",
        ] {
            assert_eq!(MirrorFile::parse(path).unwrap().path(), path);
        }
        for bad in [
            "",
            "checkpoints",
            "tile/0/1",
            "tile/0/000.p/256",
            "/checkpoint",
        ] {
            assert!(MirrorFile::parse(bad).is_err(), "{bad}");
        }
        let has = |path: &str, size| MirrorFile::parse(path).unwrap().in_mirror_of(size);
        // The tree of 300 leaves, and the smaller trees before it.
        for path in [
            "checkpoint",
            "tile/0/000",
            "tile/entries/000",
            "tile/0/000.p/7",
            "tile/0/001.p/44",
            "tile/entries/001.p/3",
            "tile/1/000.p/1",
        ] {
            assert!(has(path, 300), "{path}");
        }
        for path in [
            "tile/0/001.p/45",
            "tile/0/001",
            "tile/entries/001",
            "tile/1/000.p/2",
            "tile/2/000.p/1",
            "tile/63/x018/x446/x744/x073/x709/x551/615",
        ] {
            assert!(!has(path, 300), "{path}");
        }
        assert!(!has("tile/0/000.p/1", 0));
        assert!(has("checkpoint", 0));
        assert!(MirrorFile::parse("tile/0/000").unwrap().is_immutable());
        assert!(
            MirrorFile::parse("tile/entries/000.p/1")
                .unwrap()
                .is_immutable()
        );
        assert!(!MirrorFile::Checkpoint.is_immutable());
    }
}
