//! What an append reports: what became of each input event, kept as runs (a batch of a
//! million new events is one run, not a million outcomes), and the walk that says it event by
//! event, each recorded event's hash read back from the log as it goes.

use actledger_core::{Outcome, Seq};

use crate::entry::Head;
use crate::error::{Problem, StoreError};
use crate::ledger::Ledger;

/// What became of one event of an appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Recorded at `seq`, with this entry hash.
    Recorded {
        /// Its position.
        seq: Seq,
        /// The hash of its entry.
        hash: [u8; 32],
    },
    /// Identical to the event already recorded at `seq`: skipped.
    AlreadyRecorded {
        /// The position of the identical event.
        seq: Seq,
    },
}

/// Input events that met the same fate one after the other: `len` events on consecutive input
/// lines from `first_line`, at consecutive positions from `first_seq`, all recorded now or all
/// already recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The input line of the first event.
    pub first_line: usize,
    /// The position of the first event.
    pub first_seq: Seq,
    /// How many events (at least one). A `u32`, so that a run takes no more memory than the
    /// one outcome it replaces when no two events merge; a longer run is split.
    pub len: u32,
    /// Recorded now (`true`) or already recorded (`false`).
    pub recorded: bool,
}

impl Run {
    /// The outcomes of the run's events, in order, with their input lines.
    pub fn outcomes(self) -> impl Iterator<Item = (usize, Outcome)> {
        (0..self.len).map(move |i| {
            let seq = self.first_seq + Seq::from(i);
            let outcome = if self.recorded {
                Outcome::Recorded(seq)
            } else {
                Outcome::AlreadyRecorded(seq)
            };
            (self.first_line + i as usize, outcome)
        })
    }

    /// Whether the event on `line` with `outcome` continues the run.
    fn continued_by(&self, line: usize, outcome: Outcome) -> bool {
        let next = self.len as usize;
        self.len < u32::MAX
            && self.recorded == matches!(outcome, Outcome::Recorded(_))
            && line.checked_sub(self.first_line) == Some(next)
            && outcome.seq().checked_sub(self.first_seq) == Some(next as Seq)
    }
}

/// The outcomes of a batch as runs, merged as they are pushed: their memory grows with the
/// irregularities of the input (blank lines, events already recorded amid new ones), not with
/// its size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Runs(Vec<Run>);

impl Runs {
    /// Adds the outcome of the next input event, on `line`.
    pub(crate) fn push(&mut self, line: usize, outcome: Outcome) {
        match self.0.last_mut() {
            Some(run) if run.continued_by(line, outcome) => run.len += 1,
            _ => self.0.push(Run {
                first_line: line,
                first_seq: outcome.seq(),
                len: 1,
                recorded: matches!(outcome, Outcome::Recorded(_)),
            }),
        }
    }
}

impl Extend<(usize, Outcome)> for Runs {
    fn extend<I: IntoIterator<Item = (usize, Outcome)>>(&mut self, outcomes: I) {
        for (line, outcome) in outcomes {
            self.push(line, outcome);
        }
    }
}

/// The result of an append that succeeded: durable on disk before it is returned. What became
/// of each event is kept as [`Run`]s, without hashes: [`Ledger::appended`] says it event by
/// event, each hash read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReport {
    runs: Vec<Run>,
    /// The head after the append.
    pub head: Head,
}

impl AppendReport {
    pub(crate) fn new(runs: Runs, head: Head) -> AppendReport {
        AppendReport { runs: runs.0, head }
    }

    /// The runs of outcomes, in input order.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// What became of each input event, in input order, with its input line: its position,
    /// without the hash of a recorded one (for that, [`Ledger::appended`]).
    pub fn outcomes(&self) -> impl Iterator<Item = (usize, Outcome)> + '_ {
        self.runs.iter().flat_map(|run| run.outcomes())
    }

    /// How many input events the batch had.
    pub fn events(&self) -> u64 {
        self.runs.iter().map(|run| u64::from(run.len)).sum()
    }

    /// How many of them were recorded now (the others were already recorded).
    pub fn recorded(&self) -> u64 {
        self.runs
            .iter()
            .filter(|run| run.recorded)
            .map(|run| u64::from(run.len))
            .sum()
    }
}

impl Ledger {
    /// What became of each event of the append that `report` reports, in input order, with its
    /// input line; the hash of each event recorded is read back from the log as the walk
    /// reaches it, so that the walk holds one chunk of the log, whatever the batch's size. The
    /// events a batch records are consecutive, in input order: one pass over the log, from the
    /// first of them. Entries are never changed, so the walk says the same after later appends.
    pub fn appended<'a>(
        &'a self,
        report: &'a AppendReport,
    ) -> impl Iterator<Item = Result<(usize, Appended), StoreError>> + 'a {
        let first = report.runs.iter().find(|run| run.recorded);
        // Past the head when nothing was recorded: then the log is not read at all.
        let mut entries = self.entries(first.map_or(self.head.count + 1, |run| run.first_seq));
        report.outcomes().map(move |(line, outcome)| match outcome {
            Outcome::Recorded(seq) => {
                let entry = entries.next().transpose()?.filter(|e| e.seq == seq);
                let entry = entry.ok_or_else(|| StoreError::Broken {
                    seq,
                    problem: Problem::Unparsable("the entry is missing".into()),
                })?;
                Ok((
                    line,
                    Appended::Recorded {
                        seq,
                        hash: entry.hash,
                    },
                ))
            }
            Outcome::AlreadyRecorded(seq) => Ok((line, Appended::AlreadyRecorded { seq })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ZERO_HASH;

    const EMPTY: Head = Head {
        count: 0,
        hash: ZERO_HASH,
    };

    fn runs(outcomes: &[(usize, Outcome)]) -> Vec<Run> {
        let mut runs = Runs::default();
        runs.extend(outcomes.iter().copied());
        runs.0
    }

    fn run(first_line: usize, first_seq: Seq, len: u32, recorded: bool) -> Run {
        Run {
            first_line,
            first_seq,
            len,
            recorded,
        }
    }

    /// The outcomes the runs give back, for comparison with those pushed.
    fn expanded(runs: &[Run]) -> Vec<(usize, Outcome)> {
        let report = AppendReport::new(Runs(runs.to_vec()), EMPTY);
        report.outcomes().collect()
    }

    #[test]
    fn a_single_event_is_one_run() {
        let outcomes = [(1, Outcome::Recorded(7))];
        assert_eq!(runs(&outcomes), [run(1, 7, 1, true)]);
        assert_eq!(expanded(&runs(&outcomes)), outcomes);
    }

    #[test]
    fn no_event_is_no_run() {
        assert_eq!(runs(&[]), []);
        let report = AppendReport::new(Runs::default(), EMPTY);
        assert_eq!((report.events(), report.recorded()), (0, 0));
    }

    #[test]
    fn consecutive_lines_and_positions_make_one_run() {
        let outcomes: Vec<_> = (1..=1000)
            .map(|i| (i, Outcome::Recorded(i as Seq + 5)))
            .collect();
        assert_eq!(runs(&outcomes), [run(1, 6, 1000, true)]);
        assert_eq!(expanded(&runs(&outcomes)), outcomes);
    }

    #[test]
    fn a_batch_appended_again_is_one_run_of_already_recorded() {
        let outcomes: Vec<_> = (1..=50)
            .map(|i| (i, Outcome::AlreadyRecorded(i as Seq)))
            .collect();
        assert_eq!(runs(&outcomes), [run(1, 1, 50, false)]);
    }

    #[test]
    fn blank_lines_split_runs() {
        // Lines 3 and 6 were blank: the positions go on, the lines skip.
        let outcomes = [
            (1, Outcome::Recorded(1)),
            (2, Outcome::Recorded(2)),
            (4, Outcome::Recorded(3)),
            (5, Outcome::Recorded(4)),
            (7, Outcome::Recorded(5)),
        ];
        assert_eq!(
            runs(&outcomes),
            [run(1, 1, 2, true), run(4, 3, 2, true), run(7, 5, 1, true)]
        );
        assert_eq!(expanded(&runs(&outcomes)), outcomes);
    }

    #[test]
    fn an_event_already_recorded_in_the_middle_splits_the_run() {
        let outcomes = [
            (1, Outcome::Recorded(11)),
            (2, Outcome::Recorded(12)),
            (3, Outcome::AlreadyRecorded(4)),
            (4, Outcome::AlreadyRecorded(5)),
            (5, Outcome::Recorded(13)),
            (6, Outcome::Recorded(14)),
        ];
        let found = runs(&outcomes);
        assert_eq!(
            found,
            [
                run(1, 11, 2, true),
                run(3, 4, 2, false),
                run(5, 13, 2, true)
            ]
        );
        assert_eq!(expanded(&found), outcomes);
        let report = AppendReport::new(Runs(found), EMPTY);
        assert_eq!((report.events(), report.recorded()), (6, 4));
    }

    #[test]
    fn already_recorded_out_of_order_or_repeated_are_runs_of_one() {
        // The same event twice in a batch: both already recorded at the same position.
        let outcomes = [
            (1, Outcome::AlreadyRecorded(9)),
            (2, Outcome::AlreadyRecorded(9)),
            (3, Outcome::AlreadyRecorded(3)),
            (4, Outcome::AlreadyRecorded(4)),
        ];
        assert_eq!(
            runs(&outcomes),
            [
                run(1, 9, 1, false),
                run(2, 9, 1, false),
                run(3, 3, 2, false)
            ]
        );
        assert_eq!(expanded(&runs(&outcomes)), outcomes);
    }

    #[test]
    fn a_full_run_is_split() {
        let mut runs = Runs(vec![run(1, 1, u32::MAX, true)]);
        let next = 1 + u32::MAX as usize;
        runs.push(next, Outcome::Recorded(next as Seq));
        assert_eq!(
            runs.0,
            [run(1, 1, u32::MAX, true), run(next, next as Seq, 1, true)]
        );
    }

    #[test]
    fn a_run_is_no_larger_than_the_outcome_it_replaces() {
        assert!(std::mem::size_of::<Run>() <= std::mem::size_of::<(usize, Outcome)>());
    }
}
