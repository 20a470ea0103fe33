//! The answers' state: what every who-held answer about an office says, as the leaves that the
//! proof crate's state trees hash (`docs/PROOFS.md`, "The state").
//!
//! An office's **answer segments** partition the days from the start of its record to the end
//! of time into maximal runs over which `who-held` gives the same holder and titular (names
//! included), vacancies included. Each run is a leaf of the office's segments tree; the office,
//! the start of its record, its number of runs and their root are a leaf of the offices tree,
//! whose root is the state root. Leaves are canonical JSON (serde's serialization of the types
//! below), hashed as the bytes they are. This module computes them from a timeline and a way
//! to name persons; the hashing is the proof crate's, the keeping the store's.

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::hash::HexHash;
use crate::id::{OfficeId, PersonId};
use crate::query::{Holder, TitularState, held_in};
use crate::timeline::Timeline;

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

    /// The leaf's canonical JSON: the bytes its segments tree hashes.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("a segment leaf serializes")
    }

    /// The segment with its persons named by `name`, as [`each_answer_segment`] would have
    /// named them. Runs merge when their persons are the same, and a person has one name, so
    /// segments computed with every name null and named afterwards are the named segments.
    pub fn named<E>(
        mut self,
        mut name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
    ) -> Result<SegmentLeaf, E> {
        if let Some(holder) = self.holder.as_mut() {
            holder.name = name(&holder.person)?;
        }
        if let Some(titular) = self.titular.as_mut() {
            titular.name = name(&titular.person)?;
        }
        Ok(self)
    }
}

/// The answer segment of `timeline` covering `day`, with its index among the office's
/// segments, its persons not named (every name null: [`SegmentLeaf::named`] names them). None
/// before the office's record starts. Naming one segment instead of all of them is what
/// proving one answer needs.
pub fn unnamed_segment_at(timeline: &Timeline, day: Day) -> Option<(usize, SegmentLeaf)> {
    let mut index = 0;
    let mut found = None;
    let unnamed = |_: &PersonId| Ok::<_, std::convert::Infallible>(None);
    let Ok(_) = each_answer_segment(timeline, unnamed, |segment| {
        if found.is_none() && segment.covers(day) {
            found = Some((index, segment));
        }
        index += 1;
    });
    found
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

impl OfficeLeaf {
    /// The leaf's canonical JSON: the bytes the offices tree hashes.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("an office leaf serializes")
    }
}

/// The first day on `timeline`'s record and its answer segments, persons named by `name`.
pub fn answer_segments<E>(
    timeline: &Timeline,
    name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
) -> Result<(Option<Day>, Vec<SegmentLeaf>), E> {
    let mut segments = Vec::new();
    let record_starts = each_answer_segment(timeline, name, |segment| segments.push(segment))?;
    Ok((record_starts, segments))
}

/// [`answer_segments`] one at a time, in day order, holding none of them: what hashing the
/// segments of an office with a long history needs. Returns the first day on the record.
pub fn each_answer_segment<E>(
    timeline: &Timeline,
    name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
    emit: impl FnMut(SegmentLeaf),
) -> Result<Option<Day>, E> {
    each_answer_segment_from(timeline, None, name, emit)
}

/// [`each_answer_segment`] from `from` on, when it is given: the segments starting on `from`
/// or later, the timeline's segments that end before it not even looked at. `from` must be
/// the first day of one of the answer segments the whole walk gives (a caller that keeps the
/// ones before it checks that the first segment emitted starts on `from`); then the segments
/// emitted are the whole walk's from there on.
pub fn each_answer_segment_from<E>(
    timeline: &Timeline,
    from: Option<Day>,
    mut name: impl FnMut(&PersonId) -> Result<Option<String>, E>,
    mut emit: impl FnMut(SegmentLeaf),
) -> Result<Option<Day>, E> {
    let record_starts = timeline.days_on_record().map(|(first, _)| first);
    // The run being extended: emitted once the next one starts.
    let mut open: Option<SegmentLeaf> = None;
    let mut push = |from: Day, until: Day, holder, titular| {
        let until = (until != Day::MAX).then_some(until);
        if let Some(last) = open.as_mut()
            && last.holder == holder
            && last.titular == titular
            && last.until.and_then(Day::next) == Some(from)
        {
            last.until = until;
            return;
        }
        if let Some(done) = open.replace(SegmentLeaf {
            from,
            until,
            holder,
            titular,
        }) {
            emit(done);
        }
    };
    if let Some(start) = record_starts {
        // The next day no run covers yet; `None` once a run reaches the end of time.
        let mut next = Some(
            from.unwrap_or_else(|| start.min(timeline.segments.first().map_or(start, |s| s.from))),
        );
        let skipped = from.map_or(0, |from| {
            timeline.segments.partition_point(|s| s.until < from)
        });
        for segment in &timeline.segments[skipped..] {
            if let Some(day) = next
                && day < segment.from
            {
                let before = segment.from.prev().expect("a day before a later one");
                push(day, before, None, None);
            }
            let (holder, titular) = held_in(segment, &mut name)?;
            push(segment.from, segment.until, holder, titular);
            next = segment.until.next();
        }
        if let Some(day) = next {
            push(day, Day::MAX, None, None);
        }
    }
    if let Some(last) = open {
        emit(last);
    }
    Ok(record_starts)
}
