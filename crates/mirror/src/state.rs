//! The answers' state, published beside the checkpoint so that a reader can make and check an
//! answer bundle from the mirror alone: `state/offices.json` holds the size and every office's
//! leaf of the state (in the state's order), `state/offices/<OFFICE>.json` an office's leaf
//! with its answer segments.
//!
//! An office's file holds no size: it stays true for every state holding the same leaf, so a
//! publish writes only the files of the offices whose leaves changed since the mirror's last
//! state. A reader takes nothing on trust: the leaves must hash to the root the signed
//! statement names, and an office's segments to its leaf.

use actledger_answers::{Bundle, ProvenAnswer, answer_state, bundle_from_state, office_state};
use actledger_core::{Day, OfficeLeaf, SegmentLeaf, Seq};
use actledger_proof::VerifierKey;
use actledger_store::{KeptCheckpoint, Ledger};
use serde::{Deserialize, Serialize};

use crate::clone::{CloneError, Source, open_signed};
use crate::error::PublishError;
use crate::files::MirrorDir;
use crate::publish::Publishing;

/// The file of every office's leaf.
pub const STATE_FILE: &str = "state/offices.json";

/// The file of `office`'s leaf and segments. Office ids (`[A-Za-z0-9][A-Za-z0-9._-]*`) are
/// safe file names as they are.
pub fn office_file(office: &str) -> String {
    format!("state/offices/{office}.json")
}

/// `state/offices.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedState {
    /// The tree size the state is as of.
    size: Seq,
    /// Every office's leaf, in the state's order.
    offices: Vec<OfficeLeaf>,
}

/// `state/offices/<OFFICE>.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedOffice {
    /// The office's leaf.
    office: OfficeLeaf,
    /// Its answer segments, by day.
    segments: Vec<SegmentLeaf>,
}

/// The offices' leaves of the state `kept` signs: the ledger's kept state when `kept` is of its
/// head, else the leaves kept with the checkpoint (or the state recomputed from the log, for a
/// checkpoint kept before they were). Checked against the statement's root by whoever reads
/// them, and by `kept`'s own opening.
fn offices_of(ledger: &Ledger, kept: &KeptCheckpoint) -> Result<Vec<OfficeLeaf>, PublishError> {
    if kept.size == ledger.head().count {
        Ok(ledger.stored_state()?)
    } else if !kept.offices.is_empty() {
        Ok(kept.offices.clone())
    } else {
        Ok(answer_state(ledger, kept.size)?.offices)
    }
}

/// `office`'s answer segments as of `kept`'s size, checked against `leaf`, its leaf of the
/// state there.
fn office_of(
    ledger: &Ledger,
    kept: &KeptCheckpoint,
    leaf: &OfficeLeaf,
) -> Result<PublishedOffice, PublishError> {
    let office = if kept.size == ledger.head().count {
        ledger.head_office_state(&leaf.office)?
    } else {
        office_state(ledger, &leaf.office, kept.size)?
    };
    if office.leaf != *leaf {
        return Err(PublishError::StateDiffers {
            office: leaf.office.to_string(),
        });
    }
    Ok(PublishedOffice {
        office: office.leaf,
        segments: office.segments,
    })
}

/// The bytes of `state/offices.json` in the mirror of `kept`, a checkpoint the ledger kept.
pub(crate) fn state_bytes(ledger: &Ledger, kept: &KeptCheckpoint) -> Result<Vec<u8>, PublishError> {
    Ok(state_json(kept, offices_of(ledger, kept)?))
}

/// `state/offices.json` of `offices`, the leaves of the state `kept` signs.
fn state_json(kept: &KeptCheckpoint, offices: Vec<OfficeLeaf>) -> Vec<u8> {
    to_json(&PublishedState {
        size: kept.size,
        offices,
    })
}

/// Where `office` is among `leaves` (in the state's order), or where it would go.
fn find(leaves: &[OfficeLeaf], office: &str) -> Result<usize, usize> {
    leaves.binary_search_by(|leaf| leaf.office.as_str().as_bytes().cmp(office.as_bytes()))
}

/// The bytes of `state/offices/<office>.json` in the mirror of `kept`; none for an office the
/// state does not know.
pub(crate) fn office_bytes(
    ledger: &Ledger,
    kept: &KeptCheckpoint,
    office: &str,
) -> Result<Option<Vec<u8>>, PublishError> {
    let offices = offices_of(ledger, kept)?;
    match find(&offices, office) {
        Ok(i) => Ok(Some(to_json(&office_of(ledger, kept, &offices[i])?))),
        Err(_) => Ok(None),
    }
}

/// How many files the state `signed` signs consists of, when the mirror holds them all and its
/// `state/offices.json` is that state's; none otherwise.
pub(crate) fn published_files(
    ledger: &Ledger,
    mirror: &MirrorDir,
    signed: &KeptCheckpoint,
) -> Result<Option<u64>, PublishError> {
    let offices = offices_of(ledger, signed)?;
    for leaf in &offices {
        if !mirror.path(&office_file(leaf.office.as_str())).is_file() {
            return Ok(None);
        }
    }
    let files = offices.len() as u64 + 1;
    if mirror.read(STATE_FILE)?.as_deref() != Some(state_json(signed, offices).as_slice()) {
        return Ok(None);
    }
    Ok(Some(files))
}

/// Writes the state `signed` signs: the files of the offices whose leaves the mirror does not
/// have yet, then the offices' leaves. Returns how many files the state consists of.
pub(crate) fn publish_state(
    ledger: &Ledger,
    signed: &KeptCheckpoint,
    publishing: &mut Publishing<'_>,
) -> Result<u64, PublishError> {
    let offices = offices_of(ledger, signed)?;
    let previous: Vec<OfficeLeaf> = publishing
        .mirror
        .read(STATE_FILE)?
        .and_then(|bytes| serde_json::from_slice::<PublishedState>(&bytes).ok())
        .map_or_else(Vec::new, |state| state.offices);
    for leaf in &offices {
        let name = office_file(leaf.office.as_str());
        let unchanged = find(&previous, leaf.office.as_str()).is_ok_and(|i| previous[i] == *leaf);
        if unchanged && publishing.mirror.path(&name).is_file() {
            continue;
        }
        publishing.put(&name, to_json(&office_of(ledger, signed, leaf)?), false)?;
    }
    let files = offices.len() as u64 + 1;
    publishing.put(STATE_FILE, state_json(signed, offices), false)?;
    Ok(files)
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("the state serializes");
    bytes.push(b'\n');
    bytes
}

/// The answer bundle of who held `office` on `on`, made from the mirror at `source` (a folder
/// or an `http(s)://` URL) alone and checked on the way: the checkpoint and statement must
/// open with `vkey`, the published leaves must hash to the statement's state root, and the
/// office's segments to its leaf. Writing the bundle, a reader has what `check-answer` checks.
pub fn bundle_from_mirror(
    source: &str,
    vkey: &VerifierKey,
    office: &str,
    on: Day,
) -> Result<Bundle<ProvenAnswer>, CloneError> {
    let mut source = Source::new(source);
    let signed = open_signed(&mut source, vkey)?;
    let state: PublishedState = read_json(&mut source, STATE_FILE)?;
    if state.size != signed.checkpoint.size {
        return Err(CloneError::State {
            path: source.location(STATE_FILE),
            reason: format!(
                "it is of size {} and the checkpoint of size {}: the mirror is being published, try again",
                state.size, signed.checkpoint.size
            ),
        });
    }
    // A known office's segments are read before the bundle is made, so that a file that
    // cannot be read or parsed is named as such; what does not hash is named after its file.
    let segments = match find(&state.offices, office) {
        Ok(i) => {
            let name = office_file(state.offices[i].office.as_str());
            let file: PublishedOffice = read_json(&mut source, &name)?;
            Some((name, file.segments))
        }
        Err(_) => None,
    };
    let checked = segments
        .as_ref()
        .map_or(STATE_FILE.to_owned(), |(name, _)| name.clone());
    bundle_from_state(
        &signed.checkpoint_text,
        &signed.statement,
        &signed.statement_text,
        state.offices,
        office,
        on,
        |_| Ok(segments.map(|(_, segments)| segments).unwrap_or_default()),
    )
    .map_err(|e| CloneError::State {
        path: source.location(&checked),
        reason: e.to_string(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(
    source: &mut Source,
    name: &str,
) -> Result<T, CloneError> {
    let bytes = source.read(name)?;
    serde_json::from_slice(&bytes).map_err(|e| CloneError::State {
        path: source.location(name),
        reason: format!("it does not parse: {e}"),
    })
}
