//! The days a batch can change, and the part of the anomalies that depends on them: what lets
//! `append` compare an office's anomalies before and after a batch from the end of its
//! timeline instead of its whole history.
//!
//! A batch that neither revokes nor retracts, and whose trips and leaves belong to acts it
//! issues, changes no office's day before the first day its events name (call it C): an
//! appointment or a departure on a day ends a tenure the day before it, a trip, leave or
//! delegation covers days from its own first day, and the only rule that reaches back (rule 3's
//! exemption, which looks up an act's absences whatever their days) needs an absence of an act
//! already recorded. So every fact a batch changes ends on C - 1 or later on both sides, and
//! everything on the days before C is the same before and after it. (A delegation the batch
//! records under an earlier act, without `until`, can take its `until` from that act's earlier
//! absence and end before its own first day: it takes effect on no day and shows no anomaly.)
//!
//! The anomalies that can differ are then those that end on C - 1 or later, and those of
//! `delegate_away` of a delegation ending that late (its range spans every day the delegate was
//! away while in charge, and can shrink to days before C). Each of them is computed exactly from
//! the facts that end on or after a *horizon*: a day no later than C - 2, than the first day
//! of every delegation and absence ending on C - 1 or later, and than the start of the
//! unattended run (if any) covering C - 2. The facts of different offices meet in these
//! computations (who held what, who was away), so one horizon serves every office compared.

use std::collections::BTreeSet;

use crate::anomaly::{Anomaly, AnomalyKind, is_unattended};
use crate::day::Day;
use crate::event::{Event, Seq};
use crate::id::{ActId, OfficeId};
use crate::query::Indexed;
use crate::timeline::Timeline;

/// The days a batch can change: from its first day `C` on. See the module's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangedDays {
    /// `C - 1`: the first day on which an anomaly may differ.
    watched: Day,
    /// `C - 2`: the latest horizon, and the first day read to find one.
    read_from: Day,
}

impl ChangedDays {
    /// The days `events` (a batch's new events) can change; `None` when they may change any
    /// day (a revocation, a retraction, or a trip or leave of an act they do not issue), when
    /// they name no day, or when their first day leaves no room before it.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<ChangedDays> {
        let mut first: Option<Day> = None;
        let mut issued: BTreeSet<&ActId> = BTreeSet::new();
        let mut absent_acts: Vec<&ActId> = Vec::new();
        for event in events {
            let day = match event {
                Event::ActIssued(e) => {
                    issued.insert(&e.act);
                    None
                }
                Event::Appointed(e) => Some(e.on),
                Event::LeftOffice(e) => Some(e.on),
                Event::TripAuthorized(e) => {
                    absent_acts.push(&e.act);
                    Some(e.from)
                }
                Event::LeaveGranted(e) => {
                    absent_acts.push(&e.act);
                    Some(e.from)
                }
                Event::DutiesDelegated(e) => Some(e.from),
                Event::ActRevoked(_) | Event::RecordRetracted(_) => return None,
            };
            if let Some(day) = day {
                first = Some(first.map_or(day, |f| f.min(day)));
            }
        }
        if absent_acts.iter().any(|act| !issued.contains(act)) {
            return None;
        }
        let watched = first?.prev()?;
        Some(ChangedDays {
            watched,
            read_from: watched.prev()?,
        })
    }

    /// The latest horizon: the day from which an office's timeline is read to find its own.
    pub fn read_from(&self) -> Day {
        self.read_from
    }

    /// The horizon `timeline` (of `office`, kept since [`read_from`](Self::read_from) or an
    /// earlier day) needs: the first day of its delegations and absences that end on `C - 1`
    /// or later, and the start of the unattended run covering `C - 2`, found in `ledger`'s
    /// segments before it. Never later than `C - 2`.
    pub fn horizon<I: Indexed>(
        &self,
        ledger: &I,
        office: &OfficeId,
        timeline: &Timeline,
    ) -> Result<Day, I::Error> {
        let mut horizon = self.read_from;
        for d in &timeline.delegations {
            if d.last_day() >= self.watched {
                horizon = horizon.min(d.from);
            }
        }
        for a in &timeline.absences {
            if a.until >= self.watched {
                horizon = horizon.min(a.from);
            }
        }
        if let Some(covering) = timeline.segment_at(self.read_from)
            && is_unattended(covering)
        {
            // The run goes back as far as unattended segments follow each other: one lookup
            // a segment of it (a few, for absences back to back with nobody in charge).
            let mut start = covering.from;
            while let Some(day) = start.prev() {
                match ledger.head_segment(office, day)? {
                    Some(s) if s.until == day && is_unattended(&s) => start = s.from,
                    _ => break,
                }
            }
            horizon = horizon.min(start);
        }
        Ok(horizon)
    }

    /// The delegations of `timeline` whose anomalies are compared whatever days they end on:
    /// those ending on `C - 1` or later.
    pub fn watched_delegations<'a>(
        &self,
        timeline: &'a Timeline,
    ) -> impl Iterator<Item = Seq> + 'a {
        let watched = self.watched;
        timeline
            .delegations
            .iter()
            .filter(move |d| d.last_day() >= watched)
            .map(|d| d.stint.seq)
    }

    /// Whether `anomaly` is one the batch can change: it ends on `C - 1` or later, or it is a
    /// `delegate_away` of one of `delegations` (the watched delegations of both sides).
    pub fn watches(&self, anomaly: &Anomaly, delegations: &BTreeSet<Seq>) -> bool {
        anomaly.until.is_some_and(|until| until >= self.watched)
            || (anomaly.kind == AnomalyKind::DelegateAway
                && anomaly
                    .events
                    .first()
                    .is_some_and(|d| delegations.contains(d)))
    }
}
