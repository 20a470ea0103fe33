//! A ledger seen with a validated batch not yet written, as replay and the queries see it:
//! what the answers would be if the batch were recorded, without writing it. `append --strict`
//! asks it for the anomalies a batch would add before deciding to write.

use std::collections::BTreeSet;

use crate::day::Day;
use crate::engine::affected_offices;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId, PersonId};
use crate::query::{Indexed, timeline_as_of};
use crate::recorded::{Recorded, WithPending};
use crate::timeline::Timeline;
use crate::validate::ValidBatch;

/// A ledger and a batch not yet written. Timelines at the head are the kept ones for the
/// offices the batch leaves alone, and replayed (ledger and batch) for those it touches.
#[derive(Debug)]
pub struct Pending<'a, I> {
    with: WithPending<'a, I>,
    affected: BTreeSet<OfficeId>,
}

impl<'a, I: Indexed> Pending<'a, I> {
    /// `ledger` as it would stand once `batch` is recorded.
    pub fn new(ledger: &'a I, batch: &'a ValidBatch) -> Result<Pending<'a, I>, I::Error> {
        let with = WithPending {
            ledger,
            pending: &batch.new_events,
        };
        let new = ledger.head() + 1..=with.head();
        let affected = affected_offices(&with, new)?;
        Ok(Pending { with, affected })
    }
}

impl<I: Indexed> Recorded for Pending<'_, I> {
    type Error = I::Error;

    fn head(&self) -> Seq {
        self.with.head()
    }

    fn event(&self, seq: Seq) -> Result<Event, I::Error> {
        self.with.event(seq)
    }

    fn find_identical(&self, event: &Event) -> Result<Option<Seq>, I::Error> {
        self.with.find_identical(event)
    }

    fn events_of_act(&self, act: &ActId) -> Result<Vec<Seq>, I::Error> {
        self.with.events_of_act(act)
    }

    fn revocations_of(&self, act: &ActId) -> Result<Vec<Seq>, I::Error> {
        self.with.revocations_of(act)
    }

    fn retractions_of(&self, seq: Seq) -> Result<Vec<Seq>, I::Error> {
        self.with.retractions_of(seq)
    }

    fn office_events(&self, office: &OfficeId) -> Result<Vec<Seq>, I::Error> {
        self.with.office_events(office)
    }

    fn person_events(&self, person: &PersonId) -> Result<Vec<Seq>, I::Error> {
        self.with.person_events(person)
    }

    fn offices(&self) -> Result<Vec<OfficeId>, I::Error> {
        self.with.offices()
    }
}

impl<I: Indexed> Indexed for Pending<'_, I> {
    fn head_timeline(&self, office: &OfficeId) -> Result<Option<Timeline>, I::Error> {
        if self.affected.contains(office) {
            Ok(Some(timeline_as_of(self, office, self.head())?))
        } else {
            self.with.ledger.head_timeline(office)
        }
    }

    fn head_timeline_since(
        &self,
        office: &OfficeId,
        day: Day,
    ) -> Result<Option<Timeline>, I::Error> {
        if self.affected.contains(office) {
            Ok(self.head_timeline(office)?.map(|t| t.since(day)))
        } else {
            self.with.ledger.head_timeline_since(office, day)
        }
    }

    fn head_timeline_unsegmented(&self, office: &OfficeId) -> Result<Option<Timeline>, I::Error> {
        if self.affected.contains(office) {
            let mut timeline = self.head_timeline(office)?;
            if let Some(timeline) = &mut timeline {
                timeline.segments = Vec::new();
            }
            Ok(timeline)
        } else {
            self.with.ledger.head_timeline_unsegmented(office)
        }
    }
}
