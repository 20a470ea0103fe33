//! The answers' state at a tree size: what every who-held answer as of that size says, as
//! the leaves of the proof crate's state trees (`actledger_proof::StateTree`), and the signed
//! statement that binds its root to a checkpoint.
//!
//! An office's **answer segments** as of size N partition the days from the start of its
//! record to the end of time into maximal runs over which `who-held` gives the same holder and
//! titular (names as of N), vacancies included. Each run is a leaf of the office's segments
//! tree; the office, the start of its record, its number of runs and their root are a leaf of
//! the offices tree, over every office known as of N in the byte order of their ids, whose root
//! is the state root. Leaves are canonical JSON (serde's serialization of the types below),
//! hashed as the bytes they are.

use std::collections::HashMap;

use actledger_core::{
    Day, Holder, OfficeId, PersonId, Seq, TitularState, held_in, name_of, offices_at, timeline_at,
};
use actledger_proof::{Hash, SignerKey, StateTree, Statement};
use actledger_store::{KeptCheckpoint, Ledger, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::AnswerError;
use crate::hash::HexHash;

/// One answer segment: days `from..=until` (`until` null: to the end of time) over which
/// who-held gives this holder and titular. The leaf data of an office's segments tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentLeaf {
    /// The first day.
    pub from: Day,
    /// The last day; null when the run never ends.
    pub until: Option<Day>,
    /// Who held the office, as `who-held --json` says it; null when vacant.
    pub holder: Option<Holder>,
    /// Its titular, present or away, as `who-held --json` says it; null when none.
    pub titular: Option<TitularState>,
}

impl SegmentLeaf {
    /// Whether the run covers `day`.
    pub fn covers(&self, day: Day) -> bool {
        self.from <= day && self.until.is_none_or(|until| day <= until)
    }
}

/// One office as the state commits to it: the leaf data of the offices tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeLeaf {
    /// The office.
    pub office: OfficeId,
    /// The first day on its record; null when no event in force shapes it.
    pub record_starts: Option<Day>,
    /// How many answer segments (the leaves of its segments tree).
    pub segments: u64,
    /// The root of its segments tree.
    pub segments_root: HexHash,
}

/// An office's answer segments and its leaf, as of a size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeState {
    /// The office's leaf.
    pub leaf: OfficeLeaf,
    /// Its answer segments, by day.
    pub segments: Vec<SegmentLeaf>,
    /// Their leaf hashes.
    pub hashes: Vec<Hash>,
}

impl OfficeState {
    /// The index of the segment covering `day`, if any.
    pub fn segment_at(&self, day: Day) -> Option<usize> {
        let after = self.segments.partition_point(|s| s.from <= day);
        after
            .checked_sub(1)
            .filter(|&i| self.segments[i].covers(day))
    }
}

/// The state as of a size: every known office's leaf, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerState {
    /// The tree size.
    pub size: Seq,
    /// The leaves, by office id.
    pub offices: Vec<OfficeLeaf>,
    /// Their hashes.
    pub hashes: Vec<Hash>,
}

impl AnswerState {
    /// The state root.
    pub fn root(&self) -> Hash {
        StateTree::Offices.root(&self.hashes)
    }

    /// The index of `office` among the offices, or where it would go.
    pub fn find(&self, office: &str) -> Result<usize, usize> {
        self.offices
            .binary_search_by(|leaf| leaf.office.as_str().as_bytes().cmp(office.as_bytes()))
    }
}

/// The canonical JSON of a leaf.
pub(crate) fn canonical<T: Serialize>(leaf: &T) -> String {
    serde_json::to_string(leaf).expect("a leaf serializes")
}

/// Names of persons as of a size, each read once.
struct Names<'a> {
    ledger: &'a Ledger,
    size: Seq,
    known: HashMap<PersonId, Option<String>>,
}

impl<'a> Names<'a> {
    fn new(ledger: &'a Ledger, size: Seq) -> Names<'a> {
        Names {
            ledger,
            size,
            known: HashMap::new(),
        }
    }

    fn of(&mut self, person: &PersonId) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.known.get(person) {
            return Ok(name.clone());
        }
        let name = name_of(self.ledger, person, self.size)?;
        self.known.insert(person.clone(), name.clone());
        Ok(name)
    }
}

fn office_state_with(
    ledger: &Ledger,
    office: &OfficeId,
    names: &mut Names<'_>,
) -> Result<OfficeState, AnswerError> {
    let timeline = timeline_at(ledger, office, names.size)?;
    let record_starts = timeline.days_on_record().map(|(first, _)| first);
    let mut runs: Vec<SegmentLeaf> = Vec::new();
    let mut push = |from: Day, until: Day, holder, titular| {
        let until = (until != Day::MAX).then_some(until);
        if let Some(last) = runs.last_mut()
            && last.holder == holder
            && last.titular == titular
            && last.until.and_then(Day::next) == Some(from)
        {
            last.until = until;
            return;
        }
        runs.push(SegmentLeaf {
            from,
            until,
            holder,
            titular,
        });
    };
    if let Some(start) = record_starts {
        // The next day no run covers yet; `None` once a run reaches the end of time.
        let mut next = Some(start.min(timeline.segments.first().map_or(start, |s| s.from)));
        for segment in &timeline.segments {
            if let Some(day) = next
                && day < segment.from
            {
                let before = segment.from.prev().expect("a day before a later one");
                push(day, before, None, None);
            }
            let (holder, titular) = held_in(segment, |person| names.of(person))?;
            push(segment.from, segment.until, holder, titular);
            next = segment.until.next();
        }
        if let Some(day) = next {
            push(day, Day::MAX, None, None);
        }
    }
    let hashes: Vec<Hash> = runs
        .iter()
        .map(|run| StateTree::Segments.leaf_hash(canonical(run).as_bytes()))
        .collect();
    Ok(OfficeState {
        leaf: OfficeLeaf {
            office: office.clone(),
            record_starts,
            segments: hashes.len() as u64,
            segments_root: HexHash(StateTree::Segments.root(&hashes)),
        },
        segments: runs,
        hashes,
    })
}

/// An office's answer segments and leaf as of `size` (an office known at that size).
pub fn office_state(
    ledger: &Ledger,
    office: &OfficeId,
    size: Seq,
) -> Result<OfficeState, AnswerError> {
    office_state_with(ledger, office, &mut Names::new(ledger, size))
}

/// The answers' state as of `size` (0 to the head), computed from the log: at size 0, no
/// office.
pub fn answer_state(ledger: &Ledger, size: Seq) -> Result<AnswerState, AnswerError> {
    let head = ledger.head().count;
    if size > head {
        return Err(AnswerError::AsOfOutOfRange { as_of: size, head });
    }
    let mut names = Names::new(ledger, size);
    let mut known = offices_at(ledger, size)?;
    known.sort_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
    let mut offices = Vec::with_capacity(known.len());
    let mut hashes = Vec::with_capacity(known.len());
    for office in &known {
        let state = office_state_with(ledger, office, &mut names)?;
        hashes.push(StateTree::Offices.leaf_hash(canonical(&state.leaf).as_bytes()));
        offices.push(state.leaf);
    }
    Ok(AnswerState {
        size,
        offices,
        hashes,
    })
}

/// The statement of the state as of `size`, under `origin`.
pub fn statement(ledger: &Ledger, origin: &str, size: Seq) -> Result<Statement, AnswerError> {
    let state = answer_state(ledger, size)?;
    Ok(Statement {
        origin: origin.to_owned(),
        size,
        log_root: ledger.tree_root(size)?,
        offices: state.offices.len() as u64,
        state_root: state.root(),
    })
}

/// Signs a checkpoint of the ledger at its head and the statement of its state with `key`,
/// and keeps both in the ledger: what `checkpoint --key` does.
pub fn sign_checkpoint(ledger: &Ledger, key: &SignerKey) -> Result<KeptCheckpoint, AnswerError> {
    let size = ledger.head().count;
    let checkpoint = ledger.checkpoint(key)?;
    let statement = statement(ledger, key.name(), size)?
        .sign(key)
        .map_err(|e| StoreError::Signing {
            reason: e.to_string(),
        })?;
    let kept = KeptCheckpoint {
        size,
        vkey: key.verifier_key().to_string(),
        checkpoint,
        statement,
    };
    ledger.keep_checkpoint(&kept)?;
    Ok(kept)
}

/// Whether the state statement kept with the newest kept checkpoint signs the state the log
/// implies: a finding when it does not (or when the kept copy does not open). Older kept
/// statements are checked when a bundle is made against them.
pub fn check_newest_statement(
    ledger: &Ledger,
) -> Result<Option<actledger_store::Finding>, AnswerError> {
    use actledger_store::{Difference, Finding, Subject, Table};
    let Some(kept) = ledger.newest_kept_checkpoint()? else {
        return Ok(None);
    };
    let finding = |difference| Finding {
        table: Table::KeptCheckpoints,
        subject: Subject::Record(format!("C{}", kept.size)),
        difference,
    };
    let opened = match kept.open() {
        Ok(opened) => opened,
        Err(problem) => return Ok(Some(finding(Difference::Malformed(problem)))),
    };
    if kept.size > ledger.head().count {
        return Ok(None); // the store's own check names it
    }
    let implied = statement(ledger, &opened.statement.origin, kept.size)?;
    Ok((implied != opened.statement).then(|| Finding {
        table: Table::KeptCheckpoints,
        subject: Subject::Record(format!(
            "C{} (its state statement signs state root {}; the log implies {})",
            kept.size,
            HexHash(opened.statement.state_root),
            HexHash(implied.state_root)
        )),
        difference: Difference::Different,
    }))
}
