//! Answer bundles: a who-held answer with the signed checkpoint and statement it is checked
//! against and the hashes that tie it to the state root (`docs/PROOFS.md`, "Answer
//! bundles"). Made from a ledger and a kept checkpoint; checked with the verifier key alone.

use actledger_core::{Day, Seq, WhoHeld};
use actledger_proof::{Checkpoint, Hash, StateTree, Statement, VerifierKey};
use actledger_store::{KeptCheckpoint, Ledger, OfficeProof, OfficeState, office_leaf_hash};
use serde::{Deserialize, Serialize};

use crate::as_of::AsOf;
use crate::error::AnswerError;
use crate::hash::HexHash;
use crate::state::{
    AnswerState, OfficeLeaf, SegmentLeaf, answer_state, kept_head_state, office_state,
};

/// The first field of every bundle: its format and version.
pub const BUNDLE_FORMAT: &str = "actledger answer bundle v1";

/// A leaf of a state tree with its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafProof {
    /// The leaf data, exactly the bytes hashed (canonical JSON, carried as a string).
    pub leaf: String,
    /// The leaf's index in its tree.
    pub index: u64,
    /// The audit path, the sibling nearest the leaf first.
    pub path: Vec<HexHash>,
}

/// An answer bundle, as written to its file: made with a typed answer (`A` =
/// [`ProvenAnswer`]), read back with the answer as JSON, to be compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle<A = serde_json::Value> {
    /// [`BUNDLE_FORMAT`].
    pub bundle: String,
    /// The `who-held --json` object as of the checkpoint's size, or `{"office", "on",
    /// "as_of", "known": false}` for an office unknown at that size.
    pub answer: A,
    /// The signed checkpoint.
    pub checkpoint: String,
    /// The signed state statement of the same size.
    pub statement: String,
    /// The office's leaf in the offices tree (a known office).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<LeafProof>,
    /// The segment covering the day in the office's segments tree (a day on record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<LeafProof>,
    /// The offices around an unknown one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<Vec<LeafProof>>,
}

/// The answer of a bundle for an office unknown as of its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownOffice {
    /// The office asked about.
    pub office: String,
    /// The day asked about.
    pub on: Day,
    /// The size the answer is as of.
    pub as_of: Seq,
    /// Always false.
    pub known: bool,
}

/// What a bundle proves: who held the office, or that it was unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProvenAnswer {
    /// A known office: the who-held answer.
    Held(WhoHeld),
    /// An office unknown as of the size.
    Unknown(UnknownOffice),
}

/// The checkpoint a bundle was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedAgainst {
    /// Its origin.
    pub origin: String,
    /// Its size.
    pub size: u64,
}

/// A bundle that checked: the `check-answer --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedAnswer {
    /// The answer.
    #[serde(flatten)]
    pub answer: ProvenAnswer,
    /// The checkpoint it holds against.
    pub checkpoint: CheckedAgainst,
}

/// Why a bundle does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

fn bad(reason: impl Into<String>) -> BundleError {
    BundleError(reason.into())
}

fn leaf_proof(tree: StateTree, leaf: String, index: usize, hashes: &[Hash]) -> LeafProof {
    let path = tree
        .path(hashes, index as u64)
        .expect("the index is a leaf of the tree");
    LeafProof {
        leaf,
        index: index as u64,
        path: path.into_iter().map(HexHash).collect(),
    }
}

/// The bundle answering who held `office` on `on`, against `kept` (a checkpoint this ledger
/// kept; its size is the answer's `as_of`). Refuses when the state recomputed from the log is
/// not the one the kept statement signs.
pub fn make_bundle(
    ledger: &Ledger,
    office: &str,
    on: Day,
    kept: &KeptCheckpoint,
) -> Result<Bundle<ProvenAnswer>, AnswerError> {
    let opened = kept
        .open()
        .map_err(|reason| AnswerError::Proof { reason })?;
    let size = kept.size;
    if size > ledger.head().count || ledger.tree_root(size)? != opened.checkpoint.root {
        return Err(AnswerError::Proof {
            reason: format!(
                "the ledger does not extend the checkpoint kept for size {size}: its root differs"
            ),
        });
    }
    // At the head, the state the ledger keeps; before it, the leaves kept with the checkpoint
    // (checked against its statement when opened), or the state computed from the log.
    let at_head = size == ledger.head().count;
    let (state, whence) = if at_head {
        (kept_head_state(ledger)?, "kept in the ledger at its head")
    } else if !kept.offices.is_empty() {
        let hashes = kept.offices.iter().map(office_leaf_hash).collect();
        let offices = kept.offices.clone();
        (
            AnswerState {
                size,
                offices,
                hashes,
            },
            "kept with the checkpoint",
        )
    } else {
        (answer_state(ledger, size)?, "recomputed from the log")
    };
    if state.root() != opened.statement.state_root
        || state.offices.len() as u64 != opened.statement.offices
    {
        return Err(AnswerError::Proof {
            reason: format!(
                "the state {whence} as of {size} is not the one the kept statement signs (`actledger verify` names what differs)"
            ),
        });
    }
    let proven = prove(&state, office, on, |leaf| {
        let id = &leaf.office;
        let proof = if at_head {
            ledger.head_office_proof(leaf, on)?
        } else {
            Some(office_state(ledger, id, size)?.proof_on(on))
        };
        let Some(proof) = proof.filter(|proof| proof.leaf == *leaf) else {
            return Err(AnswerError::Proof {
                reason: format!(
                    "the answer segments of {id} as of {size} are not the ones its leaf of the state commits to (`actledger verify` names what differs)"
                ),
            });
        };
        Ok(proof)
    })?;
    if let ProvenAnswer::Held(said) = &proven.answer {
        // What the proven leaves say must be what who-held answers from the ledger.
        let answer = crate::holder(ledger, said.office.as_str(), on, Some(AsOf::Seq(size)))?.answer;
        if *said != answer {
            return Err(AnswerError::Proof {
                reason: format!(
                    "the answer segments of {} disagree with who-held on {on} as of {size}",
                    said.office
                ),
            });
        }
    }
    Ok(proven.into_bundle(kept.checkpoint.clone(), kept.statement.clone()))
}

/// The bundle answering who held `office` on `on` from a published state (what a mirror
/// serves beside its checkpoint): the signed `checkpoint` and `statement`, every office's
/// leaf, and the asked office's answer segments, read by `segments` when the office is known.
/// Opens no ledger; refuses a state or segments that do not hash to what the statement signs,
/// so a bundle it makes checks (with the key the statement verifies with).
pub fn bundle_from_state(
    checkpoint: &str,
    statement: &Statement,
    signed_statement: &str,
    offices: Vec<OfficeLeaf>,
    office: &str,
    on: Day,
    segments: impl FnOnce(&OfficeLeaf) -> Result<Vec<SegmentLeaf>, AnswerError>,
) -> Result<Bundle<ProvenAnswer>, AnswerError> {
    let size = statement.size;
    let hashes = offices.iter().map(office_leaf_hash).collect();
    let state = AnswerState {
        size,
        offices,
        hashes,
    };
    if state.root() != statement.state_root || state.offices.len() as u64 != statement.offices {
        return Err(AnswerError::Proof {
            reason: format!(
                "the offices' leaves as of {size} do not hash to the state root the statement signs"
            ),
        });
    }
    let proven = prove(&state, office, on, |leaf| {
        let office_state =
            OfficeState::from_segments(&leaf.office, leaf.record_starts, segments(leaf)?);
        if office_state.leaf != *leaf {
            return Err(AnswerError::Proof {
                reason: format!(
                    "the answer segments of {} do not hash to its leaf of the state as of {size}",
                    leaf.office
                ),
            });
        }
        Ok(office_state.proof_on(on))
    })?;
    Ok(proven.into_bundle(checkpoint.to_owned(), signed_statement.to_owned()))
}

/// An answer and the leaves that prove it, before the signed notes join them.
struct Proven {
    answer: ProvenAnswer,
    office: Option<LeafProof>,
    segment: Option<LeafProof>,
    neighbours: Option<Vec<LeafProof>>,
}

impl Proven {
    fn into_bundle(self, checkpoint: String, statement: String) -> Bundle<ProvenAnswer> {
        Bundle {
            bundle: BUNDLE_FORMAT.to_owned(),
            answer: self.answer,
            checkpoint,
            statement,
            office: self.office,
            segment: self.segment,
            neighbours: self.neighbours,
        }
    }
}

/// What `state` says of `office` on `on`, with its proofs: the office's leaf and the segment
/// covering the day (given by `office_proof`, which checks it and its segments' hashes
/// against the leaf), or the neighbours of an office it does not know.
fn prove(
    state: &AnswerState,
    office: &str,
    on: Day,
    office_proof: impl FnOnce(&OfficeLeaf) -> Result<OfficeProof, AnswerError>,
) -> Result<Proven, AnswerError> {
    let size = state.size;
    let i = match state.find(office) {
        Ok(i) => i,
        Err(at) => {
            return Ok(Proven {
                answer: ProvenAnswer::Unknown(UnknownOffice {
                    office: office.to_owned(),
                    on,
                    as_of: size,
                    known: false,
                }),
                office: None,
                segment: None,
                neighbours: Some(neighbours(state, at)),
            });
        }
    };
    let leaf = &state.offices[i];
    let proof = office_proof(leaf)?;
    Ok(Proven {
        answer: ProvenAnswer::Held(what_it_says(
            leaf,
            proof.covering.as_ref().map(|(_, segment)| segment),
            on,
            size,
        )),
        office: Some(leaf_proof(
            StateTree::Offices,
            leaf.canonical(),
            i,
            &state.hashes,
        )),
        segment: proof.covering.as_ref().map(|(j, segment)| {
            leaf_proof(StateTree::Segments, segment.canonical(), *j, &proof.hashes)
        }),
        neighbours: None,
    })
}

fn neighbours(state: &AnswerState, at: usize) -> Vec<LeafProof> {
    let n = state.offices.len();
    let indexes = match (at, n) {
        (_, 0) => vec![],
        (0, _) => vec![0],
        (at, n) if at == n => vec![n - 1],
        (at, _) => vec![at - 1, at],
    };
    indexes
        .into_iter()
        .map(|i| {
            leaf_proof(
                StateTree::Offices,
                state.offices[i].canonical(),
                i,
                &state.hashes,
            )
        })
        .collect()
}

/// The who-held answer that an office's leaf and the segment covering the day (none before
/// its record starts) say, as of `size`.
fn what_it_says(office: &OfficeLeaf, segment: Option<&SegmentLeaf>, on: Day, size: Seq) -> WhoHeld {
    match segment {
        Some(segment) => WhoHeld {
            office: office.office.clone(),
            on,
            as_of: size,
            on_record: true,
            record_starts: None,
            holder: segment.holder.clone(),
            titular: segment.titular.clone(),
        },
        None => WhoHeld {
            office: office.office.clone(),
            on,
            as_of: size,
            on_record: false,
            record_starts: office.record_starts,
            holder: None,
            titular: None,
        },
    }
}

/// A leaf proof checked up to `root` in a tree of `size` leaves: the leaf, parsed.
fn check_leaf<T: serde::de::DeserializeOwned>(
    tree: StateTree,
    what: &str,
    proof: &LeafProof,
    size: u64,
    root: &Hash,
) -> Result<T, BundleError> {
    let path: Vec<Hash> = proof.path.iter().map(|h| h.0).collect();
    let leaf = tree.leaf_hash(proof.leaf.as_bytes());
    match tree.root_from_path(&leaf, proof.index, size, &path) {
        Ok(found) if found == *root => {}
        Ok(_) => return Err(bad(format!("the {what}'s path does not lead to its root"))),
        Err(e) => return Err(bad(format!("the {what}'s path does not verify: {e}"))),
    }
    serde_json::from_str(&proof.leaf)
        .map_err(|e| bad(format!("the {what}'s leaf does not parse: {e}")))
}

/// Checks a bundle with the verifier key alone: both signatures, the statement against the
/// checkpoint, every hash up to the state root, and that the answer is exactly what the proven
/// leaves say. The answer and the checkpoint it holds against, or why not.
pub fn check_bundle(bytes: &[u8], vkey: &VerifierKey) -> Result<CheckedAnswer, BundleError> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not an answer bundle: {e}")))?;
    if bundle.bundle != BUNDLE_FORMAT {
        return Err(bad(format!(
            "not an answer bundle of this version: {:?}",
            bundle.bundle
        )));
    }
    let keys = std::slice::from_ref(vkey);
    let checkpoint = Checkpoint::open(bundle.checkpoint.as_bytes(), keys)
        .map_err(|e| {
            bad(format!(
                "the checkpoint does not verify with key {}: {e}",
                vkey.name()
            ))
        })?
        .checkpoint;
    let statement = Statement::open(bundle.statement.as_bytes(), keys).map_err(|e| {
        bad(format!(
            "the statement does not verify with key {}: {e}",
            vkey.name()
        ))
    })?;
    if !statement.binds(&checkpoint) {
        return Err(bad(
            "the statement does not name the checkpoint's origin, size and root",
        ));
    }
    let size = checkpoint.size;
    let against = CheckedAgainst {
        origin: checkpoint.origin.clone(),
        size,
    };
    let unknown = bundle.answer.get("known").is_some();
    let answer = if unknown {
        check_unknown(&bundle, &statement)?
    } else {
        check_known(&bundle, &statement)?
    };
    Ok(CheckedAnswer {
        answer,
        checkpoint: against,
    })
}

fn check_known(bundle: &Bundle, statement: &Statement) -> Result<ProvenAnswer, BundleError> {
    let size = statement.size;
    let answer: WhoHeld = serde_json::from_value(bundle.answer.clone())
        .map_err(|e| bad(format!("the answer is not a who-held answer: {e}")))?;
    if bundle.neighbours.is_some() {
        return Err(bad("a bundle for a known office carries no neighbours"));
    }
    let proof = bundle
        .office
        .as_ref()
        .ok_or_else(|| bad("the bundle has no office leaf"))?;
    let office: OfficeLeaf = check_leaf(
        StateTree::Offices,
        "office",
        proof,
        statement.offices,
        &statement.state_root,
    )?;
    let segment = match &bundle.segment {
        Some(proof) => {
            let segment: SegmentLeaf = check_leaf(
                StateTree::Segments,
                "segment",
                proof,
                office.segments,
                &office.segments_root.0,
            )?;
            if !segment.covers(answer.on) {
                return Err(bad(format!(
                    "the proven segment does not cover {}",
                    answer.on
                )));
            }
            if proof.index == 0 && Some(segment.from) != office.record_starts {
                return Err(bad("the first segment does not start with the record"));
            }
            Some(segment)
        }
        None => {
            if office
                .record_starts
                .is_some_and(|starts| starts <= answer.on)
            {
                return Err(bad(format!(
                    "{} is on the record of {} (it starts on {}): the bundle lacks its segment",
                    answer.on,
                    office.office,
                    office
                        .record_starts
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                )));
            }
            None
        }
    };
    let said = what_it_says(&office, segment.as_ref(), answer.on, size);
    if serde_json::to_value(&said).expect("an answer serializes") != bundle.answer {
        return Err(bad(format!(
            "the answer is not what the proven segment says: it says {}",
            serde_json::to_string(&said).expect("an answer serializes")
        )));
    }
    Ok(ProvenAnswer::Held(said))
}

fn check_unknown(bundle: &Bundle, statement: &Statement) -> Result<ProvenAnswer, BundleError> {
    let answer: UnknownOffice = serde_json::from_value(bundle.answer.clone())
        .map_err(|e| bad(format!("the answer is not an unknown office's: {e}")))?;
    let exact = UnknownOffice {
        known: false,
        as_of: statement.size,
        ..answer.clone()
    };
    if answer != exact {
        return Err(bad(format!(
            "the answer for an unknown office must say known false as of {}",
            statement.size
        )));
    }
    if bundle.office.is_some() || bundle.segment.is_some() {
        return Err(bad("a bundle for an unknown office carries no office leaf"));
    }
    let proofs = bundle
        .neighbours
        .as_ref()
        .ok_or_else(|| bad("the bundle for an unknown office has no neighbours"))?;
    let mut found = Vec::new();
    for proof in proofs {
        let leaf: OfficeLeaf = check_leaf(
            StateTree::Offices,
            "neighbour",
            proof,
            statement.offices,
            &statement.state_root,
        )?;
        found.push((proof.index, leaf.office));
    }
    let x = answer.office.as_bytes();
    let n = statement.offices;
    let adjacent = match found.as_slice() {
        [] => n == 0,
        [(0, first)] => x < first.as_str().as_bytes(),
        [(i, last)] if *i + 1 == n => x > last.as_str().as_bytes(),
        [(i, before), (j, after)] => {
            *j == *i + 1 && before.as_str().as_bytes() < x && x < after.as_str().as_bytes()
        }
        _ => false,
    };
    if !adjacent {
        return Err(bad(format!(
            "the neighbours do not show that {:?} is unknown: they are not adjacent around it",
            answer.office
        )));
    }
    Ok(ProvenAnswer::Unknown(answer))
}
