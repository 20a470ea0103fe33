//! Every titular and acting interval of every office: who held which office from which day to
//! which day, in what capacity and on what acts. The mirror's data files (a CSV table, Popolo,
//! FollowTheMoney) are this one answer in three formats.
//!
//! The intervals are the `history` rows of each office without its vacancies (the core's
//! `history_of` over the office's timeline, so no replay of its own), with one difference:
//! rows of the same person in the same capacity that follow each other without a day between
//! them are one interval, resting on every act of the rows it joins (a titular sworn in again
//! by a new act, a delegation extended by a second one). A trip or a leave is no interval: the
//! titular stays titular over it, and the acting holder in charge meanwhile has an acting
//! interval of their own that overlaps it.

use actledger_core::{
    ActId, Capacity, Day, HistoryRow, Liveness, OfficeId, PersonId, Role, Seq, history_of,
    office_name, offices_at, timeline_at,
};
use actledger_store::Ledger;
use serde::Serialize;

use crate::as_of::{AsOf, resolve};
use crate::error::AnswerError;
use crate::names::Names;
use crate::queries::AsOfAnswer;

/// One interval over which a person held an office in one capacity. Days are inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// Titular or acting.
    pub capacity: Capacity,
    /// Who.
    pub person: PersonId,
    /// Their latest recorded name; `None` when no event names them.
    pub name: Option<String>,
    /// The first day held.
    pub from: Day,
    /// The last day held; `None` while it lasts.
    pub until: Option<Day>,
    /// The acts it rests on, in the order their rows follow (several when rows joined).
    pub basis: Vec<ActId>,
    /// The positions of the events it rests on, in the same order.
    pub events: Vec<Seq>,
}

impl Holding {
    /// Whether the interval still lasts on `day`: it has no last day, or its last day is not
    /// before `day`. (An interval recorded ahead of its days counts as current too.)
    pub fn current_on(&self, day: Day) -> bool {
        self.until.is_none_or(|until| until >= day)
    }
}

/// One office and its intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeHoldings {
    /// The office.
    pub office: OfficeId,
    /// The latest `office_name` recorded for it; `None` when none was.
    pub name: Option<String>,
    /// Its intervals, by first day, then titular before acting, then person.
    pub holdings: Vec<Holding>,
}

/// Every known office with its titular and acting intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldingsAnswer {
    /// The position the answer is as of.
    pub as_of: Seq,
    /// The day (UTC) the entry at `as_of` was recorded: what "current" is measured against,
    /// so that the answer depends on the ledger alone, not on the clock. `None` for an empty
    /// ledger.
    pub recorded_on: Option<Day>,
    /// Every office known as of `as_of`, in the byte order of their ids (offices nobody
    /// held included, with no interval).
    pub offices: Vec<OfficeHoldings>,
}

impl HoldingsAnswer {
    /// Whether `holding` is current: it still lasts on the day the ledger was last written
    /// (as of `as_of`). Without that day (no entry), only an open interval is.
    pub fn is_current(&self, holding: &Holding) -> bool {
        match self.recorded_on {
            Some(day) => holding.current_on(day),
            None => holding.until.is_none(),
        }
    }
}

/// Every titular and acting interval of every office known as of a point.
pub fn holdings(
    ledger: &Ledger,
    as_of: Option<AsOf>,
) -> Result<AsOfAnswer<HoldingsAnswer>, AnswerError> {
    let point = resolve(ledger, as_of)?;
    let seq = point.seq;
    let mut names = Names::answering(ledger, seq);
    let mut name = |person: &PersonId| names.of(person);
    let mut live = Liveness::new(ledger, seq);
    let mut known = offices_at(ledger, seq)?;
    known.sort_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
    let mut offices = Vec::with_capacity(known.len());
    for office in known {
        let timeline = timeline_at(ledger, &office, seq)?;
        let rows = history_of(&timeline, &mut name)?;
        offices.push(OfficeHoldings {
            name: office_name(ledger, &office, seq, &mut live)?,
            office,
            holdings: intervals(rows),
        });
    }
    let recorded_on = ledger.entry(seq)?.and_then(|entry| entry.recorded_on());
    Ok(AsOfAnswer {
        answer: HoldingsAnswer {
            as_of: seq,
            recorded_on,
            offices,
        },
        point,
    })
}

/// The intervals of one office's history rows: vacancies dropped, rows of one person in one
/// capacity that follow each other joined.
fn intervals(rows: Vec<HistoryRow>) -> Vec<Holding> {
    let mut titular: Vec<Holding> = Vec::new();
    let mut acting: Vec<Holding> = Vec::new();
    for row in rows {
        let (capacity, joined) = match row.capacity {
            Role::Titular => (Capacity::Titular, &mut titular),
            Role::Acting => (Capacity::Acting, &mut acting),
            Role::Vacant => continue,
        };
        let Some(person) = row.person else {
            continue; // only vacancies have no person
        };
        if let Some(last) = joined.last_mut()
            && last.person == person
            && last.until.and_then(Day::next) == Some(row.from)
        {
            last.until = row.until;
            for (act, event) in row.basis.into_iter().zip(row.events) {
                if !last.basis.contains(&act) {
                    last.basis.push(act);
                }
                last.events.push(event);
            }
            continue;
        }
        joined.push(Holding {
            capacity,
            person,
            name: row.name,
            from: row.from,
            until: row.until,
            basis: row.basis,
            events: row.events,
        });
    }
    let mut all = titular;
    all.append(&mut acting);
    all.sort_by(|a, b| {
        (a.from, rank(a.capacity), a.person.as_str().as_bytes()).cmp(&(
            b.from,
            rank(b.capacity),
            b.person.as_str().as_bytes(),
        ))
    });
    all
}

fn rank(capacity: Capacity) -> u8 {
    match capacity {
        Capacity::Titular => 0,
        Capacity::Acting => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(capacity: Role, person: &str, from: &str, until: Option<&str>, act: &str) -> HistoryRow {
        HistoryRow {
            capacity,
            person: Some(PersonId::new(person).unwrap()),
            name: None,
            from: Day::parse(from).unwrap(),
            until: until.map(|u| Day::parse(u).unwrap()),
            basis: vec![ActId::new(act).unwrap()],
            events: vec![1],
        }
    }

    #[test]
    fn rows_of_one_person_that_follow_each_other_are_one_interval() {
        let rows = vec![
            row(
                Role::Titular,
                "ana",
                "2024-01-01",
                Some("2024-02-29"),
                "RS-1",
            ),
            row(Role::Acting, "bo", "2024-02-01", Some("2024-02-03"), "RS-2"),
            row(Role::Acting, "bo", "2024-02-04", Some("2024-02-05"), "RS-3"),
            row(Role::Titular, "ana", "2024-03-01", None, "RS-4"),
            row(Role::Acting, "bo", "2024-03-07", Some("2024-03-08"), "RS-5"),
        ];
        let got: Vec<String> = intervals(rows).iter().map(line).collect();
        assert_eq!(
            got,
            [
                "titular ana 2024-01-01.. RS-1;RS-4",
                "acting bo 2024-02-01..2024-02-05 RS-2;RS-3",
                "acting bo 2024-03-07..2024-03-08 RS-5",
            ]
        );
    }

    fn line(h: &Holding) -> String {
        let basis: Vec<&str> = h.basis.iter().map(ActId::as_str).collect();
        format!(
            "{} {} {}..{} {}",
            match h.capacity {
                Capacity::Titular => "titular",
                Capacity::Acting => "acting",
            },
            h.person,
            h.from,
            h.until.map(|u| u.to_string()).unwrap_or_default(),
            basis.join(";")
        )
    }

    #[test]
    fn a_gap_or_another_person_keeps_intervals_apart() {
        let rows = vec![
            row(
                Role::Titular,
                "ana",
                "2024-01-01",
                Some("2024-01-31"),
                "RS-1",
            ),
            row(Role::Vacant, "x", "2024-02-01", Some("2024-02-01"), "RS-0"),
            row(
                Role::Titular,
                "ana",
                "2024-02-02",
                Some("2024-02-29"),
                "RS-2",
            ),
            row(Role::Titular, "bo", "2024-03-01", None, "RS-3"),
        ];
        let got: Vec<String> = intervals(rows).iter().map(line).collect();
        assert_eq!(
            got,
            [
                "titular ana 2024-01-01..2024-01-31 RS-1",
                "titular ana 2024-02-02..2024-02-29 RS-2",
                "titular bo 2024-03-01.. RS-3",
            ]
        );
    }
}
