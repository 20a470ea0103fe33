//! Property tests: the engine against a deliberately naive oracle.
//!
//! The oracle below re-implements the spec (`docs/EVENTS.md`) and the decisions taken
//! where it is silent (`docs/DESIGN.md`) the dumbest correct way, sharing no code with the
//! crate's `Liveness` or `Timeline`: for each query it replays the recorded prefix from scratch,
//! and for each day it loops over all events. Random sequences of events (a few offices,
//! persons and acts, days within a small window so that collisions happen, revocations of
//! revocations, retractions of retractions, duplicates, the odd invalid event) are appended to an
//! [`Engine`] in random batches, and the two must agree on:
//!
//! - every batch: refused (at which line) or accepted, and each event's outcome;
//! - `who_held` for every office and every day of the window, as of the head and as of random
//!   earlier positions (holder, capacity, basis, titular, absence and its kind, trip act,
//!   absence act, names);
//! - `history` of every office, at the same positions;
//! - `anomalies`, every kind, at the same positions.
//!
//! A second property checks that the per-office timelines the engine keeps while events are
//! appended one by one equal the timelines rebuilt from scratch, after every append.

#![allow(clippy::unwrap_used)] // a failing property should stop with the offending value

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use actledger_core::{
    AbsenceKind, Anomaly, Capacity, Day, Engine, HistoryRow, Outcome, QueryError, Role, WhoHeld,
    anomalies, history, parse_batch, who_held,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The world: a few offices, persons, acts and names; days are offsets from 2024-01-01.

/// Offices that events shape; the last one is only ever named as a `delegate_office`.
const OFFICES: [&str; 4] = ["MINDEF", "MEF", "MINSA", "MINJUS"];
const SHAPED_OFFICES: u8 = 3;
const PERSONS: [&str; 4] = ["ana", "bruno", "carla", "diego"];
const ACTS: u8 = 6;
const NAMES: [&str; 3] = ["José Arista Arbildo", "Ana Adrianzén", "Bruno B."];
const REASONS: [&str; 2] = ["wrong person", "wrong date"];

/// Events fall on days `0..=LAST_EVENT_DAY`; a range lasts at most `MAX_LEN + 1` days.
const LAST_EVENT_DAY: i32 = 50;
const MAX_LEN: i32 = 40;
/// The days the oracle looks at: one before the first event day to a few after the last
/// possible range end. Nothing changes after `LAST_EVENT_DAY + MAX_LEN`.
const FIRST_DAY: i32 = -1;
const LAST_DAY: i32 = LAST_EVENT_DAY + MAX_LEN + 3;

fn day(offset: i32) -> Day {
    let base = Day::from_ymd(2024, 1, 1).unwrap().ordinal();
    Day::from_ordinal(base.checked_add_signed(offset).unwrap()).unwrap()
}

fn days() -> impl Iterator<Item = i32> {
    FIRST_DAY..=LAST_DAY
}

fn act_id(act: u8) -> String {
    format!("RS-{:03}-2024-PCM", act + 1)
}

// ---------------------------------------------------------------------------------------------
// The oracle's own model of an event (independent of the crate's `Event`).

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Issued {
        act: u8,
        variant: u8,
    },
    Appointed {
        act: u8,
        person: u8,
        office: u8,
        on: i32,
        name: Option<u8>,
    },
    Left {
        act: u8,
        person: u8,
        office: u8,
        on: i32,
    },
    /// An absence: a `trip_authorized`, or with `leave` a `leave_granted`. The spec makes the
    /// two alike for replay, so the oracle keeps one variant and reads `leave` only where the
    /// answers name the kind.
    Away {
        leave: bool,
        act: u8,
        person: u8,
        office: u8,
        from: i32,
        until: i32,
    },
    Delegated {
        act: u8,
        office: u8,
        delegate: u8,
        from: i32,
        until: Option<i32>,
        name: Option<u8>,
        delegate_office: Option<u8>,
    },
    Revoked {
        act: u8,
        revokes: u8,
    },
    Retracted {
        seq: usize,
        reason: u8,
    },
}

impl Ev {
    /// The act whose revocation voids this event (`None` for a retraction).
    fn act(&self) -> Option<u8> {
        match *self {
            Ev::Issued { act, .. }
            | Ev::Appointed { act, .. }
            | Ev::Left { act, .. }
            | Ev::Away { act, .. }
            | Ev::Delegated { act, .. }
            | Ev::Revoked { act, .. } => Some(act),
            Ev::Retracted { .. } => None,
        }
    }

    /// The offices the event names (`office`, `delegate_office`).
    fn offices(&self) -> Vec<u8> {
        match *self {
            Ev::Appointed { office, .. } | Ev::Left { office, .. } | Ev::Away { office, .. } => {
                vec![office]
            }
            Ev::Delegated {
                office,
                delegate_office,
                ..
            } => [Some(office), delegate_office]
                .into_iter()
                .flatten()
                .collect(),
            _ => vec![],
        }
    }

    /// The JSON fields, in the spec's order.
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let day_text = |d: i32| json!(day(d).to_string());
        let mut fields = Vec::new();
        match *self {
            Ev::Issued { act, variant } => {
                fields.push(("type", json!("act_issued")));
                fields.push(("act", json!(act_id(act))));
                fields.push(("kind", json!("resolucion_suprema")));
                fields.push(("issuer", json!("PCM")));
                fields.push(("issued_on", day_text(i32::from(variant))));
                if variant == 0 {
                    fields.push(("title", json!("Encargan el despacho")));
                }
            }
            Ev::Appointed {
                act,
                person,
                office,
                on,
                name,
            } => {
                fields.push(("type", json!("appointed")));
                fields.push(("act", json!(act_id(act))));
                fields.push(("person", json!(PERSONS[usize::from(person)])));
                fields.push(("office", json!(OFFICES[usize::from(office)])));
                fields.push(("on", day_text(on)));
                if let Some(n) = name {
                    fields.push(("person_name", json!(NAMES[usize::from(n)])));
                }
            }
            Ev::Left {
                act,
                person,
                office,
                on,
            } => {
                fields.push(("type", json!("left_office")));
                fields.push(("act", json!(act_id(act))));
                fields.push(("person", json!(PERSONS[usize::from(person)])));
                fields.push(("office", json!(OFFICES[usize::from(office)])));
                fields.push(("on", day_text(on)));
            }
            Ev::Away {
                leave,
                act,
                person,
                office,
                from,
                until,
            } => {
                let type_name = if leave {
                    "leave_granted"
                } else {
                    "trip_authorized"
                };
                fields.push(("type", json!(type_name)));
                fields.push(("act", json!(act_id(act))));
                fields.push(("person", json!(PERSONS[usize::from(person)])));
                fields.push(("office", json!(OFFICES[usize::from(office)])));
                fields.push(("from", day_text(from)));
                fields.push(("until", day_text(until)));
            }
            Ev::Delegated {
                act,
                office,
                delegate,
                from,
                until,
                name,
                delegate_office,
            } => {
                fields.push(("type", json!("duties_delegated")));
                fields.push(("act", json!(act_id(act))));
                fields.push(("office", json!(OFFICES[usize::from(office)])));
                fields.push(("delegate", json!(PERSONS[usize::from(delegate)])));
                fields.push(("from", day_text(from)));
                if let Some(u) = until {
                    fields.push(("until", day_text(u)));
                }
                if let Some(n) = name {
                    fields.push(("delegate_name", json!(NAMES[usize::from(n)])));
                }
                if let Some(o) = delegate_office {
                    fields.push(("delegate_office", json!(OFFICES[usize::from(o)])));
                }
            }
            Ev::Revoked { act, revokes } => {
                fields.push(("type", json!("act_revoked")));
                fields.push(("act", json!(act_id(act))));
                fields.push(("revokes", json!(act_id(revokes))));
            }
            Ev::Retracted { seq, reason } => {
                fields.push(("type", json!("record_retracted")));
                fields.push(("seq", json!(seq)));
                fields.push(("reason", json!(REASONS[usize::from(reason)])));
            }
        }
        fields
    }

    /// One line of JSON; `shuffled` writes the keys backwards, with spaces.
    fn line(&self, shuffled: bool) -> String {
        let mut fields = self.fields();
        let (open, colon, comma, close) = if shuffled {
            fields.reverse();
            ("{ ", " : ", " , ", " }")
        } else {
            ("{", ":", ",", "}")
        };
        let parts: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}{colon}{v}", json!(k)))
            .collect();
        format!("{open}{}{close}", parts.join(comma))
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle: validation.

/// What the oracle expects of a batch: the outcome of each event, or the index of the first
/// event refused.
fn oracle_validate(ledger: &[Ev], batch: &[Ev]) -> Result<Vec<Outcome>, usize> {
    let mut all: Vec<Ev> = ledger.to_vec();
    let mut outcomes = Vec::new();
    for (index, ev) in batch.iter().enumerate() {
        if let Some(i) = all.iter().position(|e| e == ev) {
            outcomes.push(Outcome::AlreadyRecorded(i as u64 + 1));
            continue;
        }
        if !oracle_accepts(&all, ev) {
            return Err(index);
        }
        all.push(ev.clone());
        outcomes.push(Outcome::Recorded(all.len() as u64));
    }
    Ok(outcomes)
}

/// Whether `ev`, new, may follow `before`.
fn oracle_accepts(before: &[Ev], ev: &Ev) -> bool {
    let issued = |act: u8| {
        before
            .iter()
            .any(|e| matches!(e, Ev::Issued { act: a, .. } if *a == act))
    };
    match *ev {
        Ev::Issued { act, .. } => !issued(act),
        Ev::Retracted { seq, .. } => seq >= 1 && seq <= before.len(),
        Ev::Delegated {
            act,
            office,
            until: None,
            ..
        } => issued(act)
            && before.iter().any(
                |e| matches!(e, Ev::Away { act: a, office: o, .. } if *a == act && *o == office),
            ),
        Ev::Revoked { act, revokes } => {
            // A cycle: `revokes` already reaches `act` through recorded revocations.
            let mut reached = vec![revokes];
            let mut grew = true;
            while grew {
                grew = false;
                for e in before {
                    if let Ev::Revoked { act: a, revokes: r } = *e
                        && reached.contains(&a)
                        && !reached.contains(&r)
                    {
                        reached.push(r);
                        grew = true;
                    }
                }
            }
            issued(act) && issued(revokes) && !reached.contains(&act)
        }
        _ => issued(ev.act().unwrap()),
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle: replay of a prefix of the ledger.

/// Whether the event at index `i` (position `i + 1`) is retracted by a retraction in force.
fn retracted(evs: &[Ev], i: usize) -> bool {
    evs.iter()
        .enumerate()
        .any(|(j, e)| matches!(e, Ev::Retracted { seq, .. } if *seq == i + 1) && !retracted(evs, j))
}

/// Whether `act` is revoked by a revocation in force (not retracted, its own act not void).
fn void(evs: &[Ev], act: u8) -> bool {
    evs.iter().enumerate().any(|(j, e)| match *e {
        Ev::Revoked { act: by, revokes } => revokes == act && !retracted(evs, j) && !void(evs, by),
        _ => false,
    })
}

/// A delegation in force, with its declared range (bounded by the trip) and its effective end.
#[derive(Debug, Clone)]
struct Deleg {
    index: usize,
    office: u8,
    delegate: u8,
    act: u8,
    from: i32,
    until: i32,
    effective_until: Option<i32>,
}

impl Deleg {
    fn covers(&self, d: i32) -> bool {
        self.effective_until
            .is_some_and(|u| self.from <= d && d <= u)
    }
}

/// The ledger as of a position, replayed from scratch.
struct Replay<'a> {
    evs: &'a [Ev],
    live: Vec<bool>,
    /// `[office][day - FIRST_DAY]`: the index of the appointment that makes the titular.
    titular: Vec<Vec<Option<usize>>>,
    delegations: Vec<Deleg>,
}

impl<'a> Replay<'a> {
    fn new(evs: &'a [Ev]) -> Replay<'a> {
        let live = (0..evs.len())
            .map(|i| !retracted(evs, i) && evs[i].act().is_none_or(|a| !void(evs, a)))
            .collect();
        let mut replay = Replay {
            evs,
            live,
            titular: Vec::new(),
            delegations: Vec::new(),
        };
        replay.titular = (0..OFFICES.len() as u8)
            .map(|o| days().map(|d| replay.titular_by_rule(o, d)).collect())
            .collect();
        replay.delegations = replay.delegations_by_rule();
        replay
    }

    fn live_events(&self) -> impl Iterator<Item = (usize, &'a Ev)> + '_ {
        self.evs.iter().enumerate().filter(|(i, _)| self.live[*i])
    }

    /// Rule 1, straight from the text.
    fn titular_by_rule(&self, office: u8, d: i32) -> Option<usize> {
        let mut best: Option<(i32, usize, u8)> = None;
        for (i, e) in self.live_events() {
            if let Ev::Appointed {
                person,
                office: o,
                on,
                ..
            } = *e
                && o == office
                && on <= d
                && best.is_none_or(|(b_on, b_i, _)| (on, i) > (b_on, b_i))
            {
                best = Some((on, i, person));
            }
        }
        let (on, i, person) = best?;
        let departed = self.live_events().any(|(_, e)| {
            matches!(*e, Ev::Left { person: p, office: o, on: left, .. }
                if p == person && o == office && on < left && left <= d)
        });
        (!departed).then_some(i)
    }

    fn titular_at(&self, office: u8, d: i32) -> Option<usize> {
        if !(FIRST_DAY..=LAST_DAY).contains(&d) {
            return None;
        }
        self.titular[usize::from(office)][(d - FIRST_DAY) as usize]
    }

    fn person_of(&self, index: usize) -> u8 {
        match self.evs[index] {
            Ev::Appointed { person, .. } | Ev::Left { person, .. } | Ev::Away { person, .. } => {
                person
            }
            Ev::Delegated { delegate, .. } => delegate,
            _ => unreachable!("no person"),
        }
    }

    fn titular_person(&self, office: u8, d: i32) -> Option<u8> {
        self.titular_at(office, d).map(|i| self.person_of(i))
    }

    /// Rule 2: the last-recorded absence (trip or leave) of the titular for this office
    /// covering `d`.
    fn trip_of_titular(&self, office: u8, d: i32) -> Option<usize> {
        let titular = self.titular_person(office, d)?;
        self.live_events()
            .filter(|(_, e)| {
                matches!(**e, Ev::Away { person, office: o, from, until, .. }
                    if person == titular && o == office && from <= d && d <= until)
            })
            .map(|(i, _)| i)
            .last()
    }

    /// Rule 3: every delegation in force, its range bounded by its trip, cut by a new titular.
    fn delegations_by_rule(&self) -> Vec<Deleg> {
        let mut all = Vec::new();
        for (i, e) in self.live_events() {
            let Ev::Delegated {
                act,
                office,
                delegate,
                from,
                until,
                ..
            } = *e
            else {
                continue;
            };
            let until = match until {
                Some(u) => u,
                None => {
                    // The last live trip of the same act and office recorded before it.
                    let bound = self
                        .live_events()
                        .filter(|(j, t)| {
                            *j < i
                                && matches!(**t, Ev::Away { act: a, office: o, .. }
                                    if a == act && o == office)
                        })
                        .last();
                    match bound {
                        Some((_, Ev::Away { until, .. })) => *until,
                        _ => continue, // no effect at all
                    }
                }
            };
            let mut effective_until = (from <= until).then_some(until);
            if effective_until.is_some() {
                for a in from..=until {
                    let Some(new) = self.titular_person(office, a) else {
                        continue;
                    };
                    if self.titular_person(office, a - 1) == Some(new) {
                        continue;
                    }
                    let exempt = self.live_events().any(|(_, t)| {
                        matches!(*t, Ev::Away { act: ta, person, office: o, .. }
                            if ta == act && person == new && o == office)
                    });
                    if !exempt {
                        effective_until = (a > from).then_some(a - 1);
                        break;
                    }
                }
            }
            all.push(Deleg {
                index: i,
                office,
                delegate,
                act,
                from,
                until,
                effective_until,
            });
        }
        all
    }

    /// Rule 3: the winning delegation on `d`.
    fn acting_at(&self, office: u8, d: i32) -> Option<&Deleg> {
        self.delegations
            .iter()
            .filter(|x| x.office == office && x.covers(d))
            .max_by_key(|x| x.index)
    }

    /// The latest name recorded for `person` by an event that is not retracted.
    fn name(&self, person: u8) -> Option<String> {
        let mut found = None;
        for (i, e) in self.evs.iter().enumerate() {
            let named = match *e {
                Ev::Appointed {
                    person: p,
                    name: Some(n),
                    ..
                } if p == person => Some(n),
                Ev::Delegated {
                    delegate: p,
                    name: Some(n),
                    ..
                } if p == person => Some(n),
                _ => None,
            };
            if let Some(n) = named
                && !retracted(self.evs, i)
            {
                found = Some(NAMES[usize::from(n)].to_owned());
            }
        }
        found
    }

    fn act_of(&self, index: usize) -> String {
        act_id(self.evs[index].act().unwrap())
    }

    /// The first day of the office's record: the earliest day named by an event in force
    /// that shapes it (an appointment's or departure's `on`, a trip's `from`, the `from` of a
    /// delegation replay keeps).
    fn record_start(&self, office: u8) -> Option<i32> {
        let events = self.live_events().filter_map(|(_, e)| match *e {
            Ev::Appointed { office: o, on, .. } | Ev::Left { office: o, on, .. } => {
                (o == office).then_some(on)
            }
            Ev::Away {
                office: o, from, ..
            } => (o == office).then_some(from),
            _ => None,
        });
        let delegations = self
            .delegations
            .iter()
            .filter(|x| x.office == office)
            .map(|x| x.from);
        events.chain(delegations).min()
    }

    /// Rule 4: who held `office` on `d`.
    fn who_held(&self, office: u8, d: i32) -> Answer {
        let start = self.record_start(office);
        let on_record = start.is_some_and(|s| s <= d);
        let record_starts = if on_record {
            None
        } else {
            start.map(|s| day(s).to_string())
        };
        let titular = self.titular_at(office, d).map(|i| {
            let person = self.person_of(i);
            let away = self.trip_of_titular(office, d);
            let kind = away.map(|t| match self.evs[t] {
                Ev::Away { leave: true, .. } => "leave",
                _ => "trip",
            });
            Titular {
                person: PERSONS[usize::from(person)].to_owned(),
                name: self.name(person),
                absent: away.is_some(),
                trip_act: away
                    .filter(|_| kind == Some("trip"))
                    .map(|t| self.act_of(t)),
                absence: kind,
                absence_act: away.map(|t| self.act_of(t)),
            }
        });
        let holder = match (self.acting_at(office, d), self.titular_at(office, d)) {
            (Some(acting), _) => Some((
                PERSONS[usize::from(acting.delegate)].to_owned(),
                self.name(acting.delegate),
                "acting",
                vec![act_id(acting.act)],
            )),
            (None, Some(i)) => Some((
                PERSONS[usize::from(self.person_of(i))].to_owned(),
                self.name(self.person_of(i)),
                "titular",
                vec![self.act_of(i)],
            )),
            (None, None) => None,
        };
        Answer {
            on_record,
            record_starts,
            holder,
            titular,
        }
    }

    /// The office's history: runs of one appointment, runs of one winning delegation, and the
    /// vacant days: the days on record (from its first day on) that nobody held.
    fn history(&self, office: u8) -> Vec<Row> {
        let mut rows = Vec::new();
        let open = |d: i32| (d != LAST_DAY).then(|| day(d).to_string());
        // Maximal runs of days with the same value of `key`.
        let runs = |key: &dyn Fn(i32) -> Option<usize>| {
            let mut runs: Vec<(usize, i32, i32)> = Vec::new();
            for d in days() {
                match (key(d), runs.last_mut()) {
                    (Some(k), Some(last)) if last.0 == k && last.2 == d - 1 => last.2 = d,
                    (Some(k), _) => runs.push((k, d, d)),
                    (None, _) => {}
                }
            }
            runs
        };
        for (i, from, until) in runs(&|d| self.titular_at(office, d)) {
            let person = self.person_of(i);
            rows.push(Row {
                capacity: "titular",
                person: Some(PERSONS[usize::from(person)].to_owned()),
                name: self.name(person),
                from: day(from).to_string(),
                until: open(until),
                basis: vec![self.act_of(i)],
                events: vec![i as u64 + 1],
            });
        }
        for (i, from, until) in runs(&|d| self.acting_at(office, d).map(|x| x.index)) {
            let person = self.person_of(i);
            rows.push(Row {
                capacity: "acting",
                person: Some(PERSONS[usize::from(person)].to_owned()),
                name: self.name(person),
                from: day(from).to_string(),
                until: open(until),
                basis: vec![self.act_of(i)],
                events: vec![i as u64 + 1],
            });
        }
        let held =
            |d: i32| self.titular_at(office, d).is_some() || self.acting_at(office, d).is_some();
        let start = self.record_start(office);
        let vacant = |d: i32| start.is_some_and(|s| s <= d) && !held(d);
        for (_, from, until) in runs(&|d| vacant(d).then_some(0)) {
            rows.push(Row {
                capacity: "vacant",
                person: None,
                name: None,
                from: day(from).to_string(),
                until: open(until),
                basis: vec![],
                events: vec![],
            });
        }
        let rank = |c: &str| ["titular", "acting", "vacant"].iter().position(|x| *x == c);
        rows.sort_by_key(|r| (r.from.clone(), rank(r.capacity)));
        rows
    }

    /// Every anomaly, described as the engine's are.
    fn anomalies(&self) -> Vec<Found> {
        let mut found = Vec::new();
        let add = |found: &mut Vec<Found>, kind, office: u8, from: i32, until: i32, events| {
            found.push(Found {
                kind,
                office: Some(OFFICES[usize::from(office)].to_owned()),
                days: Some((day(from).to_string(), day(until).to_string())),
                events,
            });
        };
        // Maximal runs of consecutive days in a sorted list.
        let runs = |list: Vec<i32>| {
            let mut runs: Vec<(i32, i32)> = Vec::new();
            for d in list {
                match runs.last_mut() {
                    Some(last) if last.1 == d - 1 => last.1 = d,
                    _ => runs.push((d, d)),
                }
            }
            runs
        };
        for office in 0..SHAPED_OFFICES {
            // unattended_office: titular away, nobody acting; the trips in order of appearance.
            let mut run: Option<(i32, i32, Vec<u64>)> = None;
            for d in days() {
                let trip = self.trip_of_titular(office, d);
                match (trip, self.acting_at(office, d)) {
                    (Some(t), None) => {
                        let seq = t as u64 + 1;
                        match &mut run {
                            Some((_, until, seqs)) => {
                                *until = d;
                                if !seqs.contains(&seq) {
                                    seqs.push(seq);
                                }
                            }
                            None => run = Some((d, d, vec![seq])),
                        }
                    }
                    _ => {
                        if let Some((from, until, seqs)) = run.take() {
                            add(&mut found, "unattended_office", office, from, until, seqs);
                        }
                    }
                }
            }
            assert!(run.is_none(), "the window ends with someone away");

            let delegations: Vec<&Deleg> = self
                .delegations
                .iter()
                .filter(|x| x.office == office)
                .collect();
            // overlapping_delegations: each pair, with the overlap.
            for (n, a) in delegations.iter().enumerate() {
                for b in &delegations[n + 1..] {
                    let common: Vec<i32> =
                        days().filter(|d| a.covers(*d) && b.covers(*d)).collect();
                    if let (Some(from), Some(until)) = (common.first(), common.last()) {
                        let events = vec![a.index as u64 + 1, b.index as u64 + 1];
                        add(
                            &mut found,
                            "overlapping_delegations",
                            office,
                            *from,
                            *until,
                            events,
                        );
                    }
                }
            }
            for d in &delegations {
                // delegation_over_30_days: the declared range, bounded by the trip.
                if d.until - d.from + 1 > 30 {
                    let events = vec![d.index as u64 + 1];
                    add(
                        &mut found,
                        "delegation_over_30_days",
                        office,
                        d.from,
                        d.until,
                        events,
                    );
                }
                // delegate_without_office: days in charge holding no other office.
                let bare: Vec<i32> = days()
                    .filter(|day| d.covers(*day))
                    .filter(|day| {
                        !(0..OFFICES.len() as u8).any(|o| {
                            o != office && self.titular_person(o, *day) == Some(d.delegate)
                        })
                    })
                    .collect();
                for (from, until) in runs(bare) {
                    let events = vec![d.index as u64 + 1];
                    add(
                        &mut found,
                        "delegate_without_office",
                        office,
                        from,
                        until,
                        events,
                    );
                }
            }
            // delegate_away: the winning delegate away, on a trip or on leave (any office), per
            // (delegation, absence).
            for (t, e) in self.live_events() {
                let Ev::Away {
                    person,
                    from,
                    until,
                    ..
                } = *e
                else {
                    continue;
                };
                for d in &delegations {
                    let away: Vec<i32> = (from..=until)
                        .filter(|day| {
                            self.acting_at(office, *day)
                                .is_some_and(|x| x.index == d.index && x.delegate == person)
                        })
                        .collect();
                    if let (Some(first), Some(last)) = (away.first(), away.last()) {
                        let events = vec![d.index as u64 + 1, t as u64 + 1];
                        add(&mut found, "delegate_away", office, *first, *last, events);
                    }
                }
            }
            for (i, e) in self.live_events() {
                match *e {
                    // left_without_holding: titular neither the day before nor that day.
                    Ev::Left {
                        person,
                        office: o,
                        on,
                        ..
                    } if o == office
                        && self.titular_person(office, on - 1) != Some(person)
                        && self.titular_person(office, on) != Some(person) =>
                    {
                        let events = vec![i as u64 + 1];
                        add(&mut found, "left_without_holding", office, on, on, events);
                    }
                    // trip_without_holding (leave_without_holding): runs of days away without
                    // the office.
                    Ev::Away {
                        leave,
                        person,
                        office: o,
                        from,
                        until,
                        ..
                    } if o == office => {
                        let without: Vec<i32> = (from..=until)
                            .filter(|d| self.titular_person(office, *d) != Some(person))
                            .collect();
                        for (a, b) in runs(without) {
                            let kind = if leave {
                                "leave_without_holding"
                            } else {
                                "trip_without_holding"
                            };
                            add(&mut found, kind, office, a, b, vec![i as u64 + 1]);
                        }
                    }
                    _ => {}
                }
            }
        }
        // act_revoked_twice: two or more revocations in force against one act.
        for act in 0..ACTS {
            let revocations: Vec<u64> = self
                .live_events()
                .filter(|(_, e)| matches!(**e, Ev::Revoked { revokes, .. } if revokes == act))
                .map(|(i, _)| i as u64 + 1)
                .collect();
            if revocations.len() > 1 {
                found.push(Found {
                    kind: "act_revoked_twice",
                    office: None,
                    days: None,
                    events: revocations,
                });
            }
        }
        found.sort();
        found
    }
}

// ---------------------------------------------------------------------------------------------
// Answers in a form both sides can produce.

/// Holder (person, name, capacity, basis) and titular.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    on_record: bool,
    record_starts: Option<String>,
    holder: Option<(String, Option<String>, &'static str, Vec<String>)>,
    titular: Option<Titular>,
}

#[derive(Debug, PartialEq, Eq)]
struct Titular {
    person: String,
    name: Option<String>,
    absent: bool,
    /// The act of the trip that makes them away; none on leave.
    trip_act: Option<String>,
    /// `trip` or `leave`.
    absence: Option<&'static str>,
    absence_act: Option<String>,
}

fn engine_answer(w: &WhoHeld) -> Answer {
    Answer {
        on_record: w.on_record,
        record_starts: w.record_starts.map(|d| d.to_string()),
        holder: w.holder.as_ref().map(|h| {
            (
                h.person.to_string(),
                h.name.clone(),
                match h.capacity {
                    Capacity::Titular => "titular",
                    Capacity::Acting => "acting",
                },
                h.basis.iter().map(|a| a.to_string()).collect(),
            )
        }),
        titular: w.titular.as_ref().map(|t| Titular {
            person: t.person.to_string(),
            name: t.name.clone(),
            absent: t.absent,
            trip_act: t.trip_act.as_ref().map(|a| a.to_string()),
            absence: t.absence.map(|kind| match kind {
                AbsenceKind::Trip => "trip",
                AbsenceKind::Leave => "leave",
            }),
            absence_act: t.absence_act.as_ref().map(|a| a.to_string()),
        }),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Row {
    capacity: &'static str,
    person: Option<String>,
    name: Option<String>,
    from: String,
    until: Option<String>,
    basis: Vec<String>,
    events: Vec<u64>,
}

fn engine_row(r: &HistoryRow) -> Row {
    Row {
        capacity: match r.capacity {
            Role::Titular => "titular",
            Role::Acting => "acting",
            Role::Vacant => "vacant",
        },
        person: r.person.as_ref().map(|p| p.to_string()),
        name: r.name.clone(),
        from: r.from.to_string(),
        until: r.until.map(|d| d.to_string()),
        basis: r.basis.iter().map(|a| a.to_string()).collect(),
        events: r.events.clone(),
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: &'static str,
    office: Option<String>,
    days: Option<(String, String)>,
    events: Vec<u64>,
}

fn engine_found(a: &Anomaly) -> Found {
    let kind = serde_json::to_value(a.kind).unwrap();
    let kind = [
        "unattended_office",
        "overlapping_delegations",
        "left_without_holding",
        "trip_without_holding",
        "leave_without_holding",
        "delegate_without_office",
        "act_revoked_twice",
        "delegation_over_30_days",
        "delegate_away",
    ]
    .into_iter()
    .find(|k| kind == *k)
    .unwrap_or_else(|| panic!("an anomaly kind the spec does not name: {kind}"));
    Found {
        kind,
        office: a.office.as_ref().map(|o| o.to_string()),
        days: a
            .from
            .zip(a.until)
            .map(|(f, u)| (f.to_string(), u.to_string())),
        events: a.events.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Generation: random steps, turned into events against the oracle's own ledger.

#[derive(Debug, Clone)]
enum Op {
    Issue {
        act: u8,
        variant: u8,
    },
    Appoint {
        act: u8,
        person: u8,
        office: u8,
        on: i32,
        name: Option<u8>,
    },
    Leave {
        act: u8,
        person: u8,
        office: u8,
        on: i32,
    },
    /// A trip, or with `leave` a leave.
    Away {
        leave: bool,
        act: u8,
        person: u8,
        office: u8,
        from: i32,
        len: i32,
    },
    Delegate {
        act: u8,
        office: u8,
        delegate: u8,
        from: i32,
        len: Option<i32>,
        name: Option<u8>,
        delegate_office: Option<u8>,
    },
    Revoke {
        act: u8,
        revokes: u8,
    },
    /// Retract the event `back` positions before this one (mostly recent ones, so that
    /// retractions of retractions happen); `back == 0` names the event's own position (refused).
    Retract {
        back: usize,
        reason: u8,
    },
    /// Append again an event already recorded (or earlier in the batch), keys reordered.
    Repeat {
        back: usize,
    },
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    /// Issue the acts the event names first, when not issued yet (so that most events pass).
    issue_first: bool,
    /// Start a new batch with this step.
    new_batch: bool,
    /// Write the keys backwards, with spaces.
    shuffled: bool,
}

fn length() -> impl Strategy<Value = i32> {
    prop_oneof![6 => 0..8i32, 1 => 0..=MAX_LEN]
}

fn op() -> impl Strategy<Value = Op> {
    let act = || 0..ACTS;
    let person = || 0..PERSONS.len() as u8;
    let office = || 0..SHAPED_OFFICES;
    // Mostly the first fortnight, so that days collide.
    let on = || prop_oneof![2 => 0..=15i32, 1 => 0..=LAST_EVENT_DAY];
    let name = || proptest::option::weighted(0.3, 0..NAMES.len() as u8);
    prop_oneof![
        1 => (act(), prop_oneof![6 => Just(0u8), 1 => 1..3u8])
            .prop_map(|(act, variant)| Op::Issue { act, variant }),
        5 => (act(), person(), office(), on(), name()).prop_map(|(act, person, office, on, name)| {
            Op::Appoint { act, person, office, on, name }
        }),
        2 => (act(), person(), office(), on())
            .prop_map(|(act, person, office, on)| Op::Leave { act, person, office, on }),
        // Absences: trips, and leaves a third of the time.
        4 => (proptest::bool::weighted(0.35), act(), person(), office(), on(), length()).prop_map(
            |(leave, act, person, office, from, len)| Op::Away { leave, act, person, office, from, len }
        ),
        4 => (
            act(),
            office(),
            person(),
            on(),
            proptest::option::weighted(0.6, length()),
            name(),
            proptest::option::weighted(0.7, 0..OFFICES.len() as u8),
        )
            .prop_map(|(act, office, delegate, from, len, name, delegate_office)| {
                Op::Delegate { act, office, delegate, from, len, name, delegate_office }
            }),
        3 => (act(), act()).prop_map(|(act, revokes)| Op::Revoke { act, revokes }),
        2 => (prop_oneof![1 => Just(0usize), 12 => 1..6usize, 2 => 1..60usize], 0..2u8)
            .prop_map(|(back, reason)| Op::Retract { back, reason }),
        1 => (0..40usize).prop_map(|back| Op::Repeat { back }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        op(),
        proptest::bool::weighted(0.95),
        proptest::bool::weighted(0.4),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(op, issue_first, new_batch, shuffled)| Step {
            op,
            issue_first,
            new_batch,
            shuffled,
        })
}

/// A case: the steps, and where to look "as of" (fractions of the head, /256).
fn case(max_steps: usize) -> impl Strategy<Value = (Vec<Step>, Vec<u8>)> {
    (
        proptest::collection::vec(step(), 1..max_steps),
        proptest::collection::vec(any::<u8>(), 2),
    )
}

/// Turns one step into events (an `act_issued` first when needed), given the ledger so far and
/// the events of the batch being built. A repeat comes back with `true` (written shuffled).
fn interpret(step: &Step, ledger: &[Ev], batch: &[Ev]) -> Vec<(Ev, bool)> {
    let known = || ledger.iter().chain(batch.iter());
    let new_in_batch = batch
        .iter()
        .enumerate()
        .filter(|(i, e)| !ledger.contains(e) && !batch[..*i].contains(e))
        .count();
    let position = ledger.len() + new_in_batch + 1;
    let mut out: Vec<(Ev, bool)> = Vec::new();
    let issue = |act: u8, out: &mut Vec<(Ev, bool)>| {
        let issued = known()
            .chain(out.iter().map(|(e, _)| e))
            .any(|e| matches!(e, Ev::Issued { act: a, .. } if *a == act));
        if step.issue_first && !issued {
            out.push((Ev::Issued { act, variant: 0 }, false));
        }
    };
    let ev = match step.op {
        Op::Issue { act, variant } => Ev::Issued { act, variant },
        Op::Appoint {
            act,
            person,
            office,
            on,
            name,
        } => {
            issue(act, &mut out);
            Ev::Appointed {
                act,
                person,
                office,
                on,
                name,
            }
        }
        Op::Leave {
            act,
            person,
            office,
            on,
        } => {
            issue(act, &mut out);
            Ev::Left {
                act,
                person,
                office,
                on,
            }
        }
        Op::Away {
            leave,
            act,
            person,
            office,
            from,
            len,
        } => {
            issue(act, &mut out);
            Ev::Away {
                leave,
                act,
                person,
                office,
                from,
                until: from + len,
            }
        }
        Op::Delegate {
            act,
            office,
            delegate,
            from,
            len,
            name,
            delegate_office,
        } => {
            issue(act, &mut out);
            // Without an absence to bound it, mostly give it an `until` (sometimes leave it out,
            // to see it refused).
            let has_trip = known().any(
                |e| matches!(e, Ev::Away { act: a, office: o, .. } if *a == act && *o == office),
            );
            let until = match len {
                None if !has_trip && step.issue_first => Some(from + (from % 5)),
                None => None,
                Some(len) => Some(from + len),
            };
            Ev::Delegated {
                act,
                office,
                delegate,
                from,
                until,
                name,
                delegate_office,
            }
        }
        Op::Revoke { act, revokes } => {
            // Mostly not a self-revocation (sometimes, to see it refused).
            let revokes = if step.issue_first && revokes == act {
                (act + 1) % ACTS
            } else {
                revokes
            };
            issue(act, &mut out);
            issue(revokes, &mut out);
            Ev::Revoked { act, revokes }
        }
        Op::Retract { back, reason } => {
            if position == 1 && back != 0 {
                return out; // nothing to retract yet
            }
            let seq = if back == 0 {
                position
            } else {
                position - 1 - (back - 1) % (position - 1)
            };
            Ev::Retracted { seq, reason }
        }
        Op::Repeat { back } => {
            let all: Vec<&Ev> = known().collect();
            if all.is_empty() {
                return out;
            }
            return vec![(all[all.len() - 1 - back % all.len()].clone(), true)];
        }
    };
    out.push((ev, step.shuffled));
    out
}

/// Appends every step to `engine` (in the steps' batches, or one event per batch), checking
/// each batch's outcome against the oracle; `after_append` runs after every accepted batch.
/// Returns the oracle's ledger, and how many events were offered and how many refused.
fn append_all(
    engine: &mut Engine,
    steps: &[Step],
    one_by_one: bool,
    mut after_append: impl FnMut(&Engine) -> Result<(), TestCaseError>,
) -> Result<(Vec<Ev>, usize, usize), TestCaseError> {
    let mut ledger: Vec<Ev> = Vec::new();
    let (mut offered, mut refused) = (0, 0);
    let mut batches: Vec<Vec<&Step>> = Vec::new();
    for step in steps {
        match batches.last_mut() {
            Some(batch) if !step.new_batch && !one_by_one => batch.push(step),
            _ => batches.push(vec![step]),
        }
    }
    for steps in batches {
        let mut batch: Vec<(Ev, bool)> = Vec::new();
        for step in steps {
            let events: Vec<Ev> = batch.iter().map(|(e, _)| e.clone()).collect();
            batch.extend(interpret(step, &ledger, &events));
        }
        let groups: Vec<Vec<(Ev, bool)>> = if one_by_one {
            batch.into_iter().map(|e| vec![e]).collect()
        } else {
            vec![batch]
        };
        for batch in groups {
            if batch.is_empty() {
                continue;
            }
            // NDJSON; CRLF line ends when the batch's first event is written shuffled.
            let end = if batch[0].1 { "\r\n" } else { "\n" };
            let text: String = batch
                .iter()
                .map(|(e, shuffled)| e.line(*shuffled) + end)
                .collect();
            let parsed = parse_batch(text.as_bytes())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let events: Vec<Ev> = batch.iter().map(|(e, _)| e.clone()).collect();
            offered += events.len();
            let expected = oracle_validate(&ledger, &events);
            match (engine.append(parsed), expected) {
                (Ok(outcomes), Ok(want)) => {
                    let got: Vec<Outcome> = outcomes.iter().map(|(_, o)| *o).collect();
                    let lines: Vec<usize> = outcomes.iter().map(|(l, _)| *l).collect();
                    prop_assert_eq!(&got, &want, "outcomes of\n{}", text);
                    prop_assert_eq!(lines, (1..=events.len()).collect::<Vec<_>>());
                    for (ev, outcome) in events.iter().zip(&want) {
                        if let Outcome::Recorded(_) = outcome {
                            ledger.push(ev.clone());
                        }
                    }
                    after_append(engine)?;
                }
                (Err(e), Err(index)) => {
                    refused += events.len();
                    prop_assert_eq!(
                        e.line,
                        index + 1,
                        "refused at another line: {}\n{}",
                        e,
                        text
                    );
                }
                (got, want) => {
                    return Err(TestCaseError::fail(format!(
                        "engine {got:?}, oracle {want:?}, batch:\n{text}"
                    )));
                }
            }
            prop_assert_eq!(engine.events().len(), ledger.len());
        }
    }
    Ok((ledger, offered, refused))
}

/// Compares every query as of `as_of` (the head when `None`).
fn check_queries(engine: &Engine, ledger: &[Ev], as_of: Option<u64>) -> Result<(), TestCaseError> {
    let prefix = &ledger[..as_of.map_or(ledger.len(), |n| n as usize)];
    let replay = Replay::new(prefix);
    let known: BTreeSet<u8> = ledger.iter().flat_map(Ev::offices).collect();
    for office in 0..OFFICES.len() as u8 {
        let name = OFFICES[usize::from(office)];
        if !known.contains(&office) {
            let unknown = who_held(engine, name, day(0), as_of);
            prop_assert!(
                matches!(unknown, Err(QueryError::UnknownOffice { .. })),
                "{name} is named by no event: {unknown:?}"
            );
            continue;
        }
        for d in days() {
            let got = who_held(engine, name, day(d), as_of).unwrap();
            let want = replay.who_held(office, d);
            prop_assert_eq!(
                engine_answer(&got),
                want,
                "who held {} on {} as of {:?}",
                name,
                day(d),
                as_of
            );
        }
        let got: Vec<Row> = history(engine, name, as_of)
            .unwrap()
            .iter()
            .map(engine_row)
            .collect();
        prop_assert_eq!(
            got,
            replay.history(office),
            "history of {} as of {:?}",
            name,
            as_of
        );
    }
    let mut got: Vec<Found> = anomalies(engine, as_of)
        .unwrap()
        .iter()
        .map(engine_found)
        .collect();
    got.sort();
    prop_assert_eq!(got, replay.anomalies(), "anomalies as of {:?}", as_of);
    Ok(())
}

fn describe(ledger: &[Ev]) -> String {
    let mut text = String::new();
    for (i, e) in ledger.iter().enumerate() {
        writeln!(text, "{:>3} {}", i + 1, e.line(false)).unwrap();
    }
    text
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// How many cases each property runs (`PROPTEST_CASES` overrides, for longer runs by hand).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// What a replay exercised, so that the property cannot pass vacuously: each of [`FEATURES`]
/// must show up somewhere in a full run.
fn tally(prefix: &[Ev], replay: &Replay, seen: &mut BTreeMap<&'static str, usize>) {
    let mut count = |feature: &'static str| *seen.entry(feature).or_insert(0) += 1;
    for f in replay.anomalies() {
        count(f.kind);
        if f.kind == "delegate_away"
            && matches!(
                prefix[f.events[1] as usize - 1],
                Ev::Away { leave: true, .. }
            )
        {
            count("a delegate away on leave");
        }
    }
    for office in 0..SHAPED_OFFICES {
        for d in days() {
            let answer = replay.who_held(office, d);
            if answer.holder.as_ref().is_some_and(|h| h.2 == "acting") {
                count("an acting holder");
            }
            if answer.titular.as_ref().is_some_and(|t| t.absent) {
                count("an absent titular");
            }
            if answer
                .titular
                .as_ref()
                .is_some_and(|t| t.absence == Some("leave"))
            {
                count("a titular on leave");
            }
        }
    }
    for (i, e) in prefix.iter().enumerate() {
        let retracted = retracted(prefix, i);
        match *e {
            Ev::Retracted { .. } if retracted => count("a retracted retraction"),
            Ev::Revoked { .. } if retracted => count("a retracted revocation"),
            Ev::Revoked { act, .. } if void(prefix, act) => count("a voided revocation"),
            Ev::Appointed { office, on, .. } if replay.live[i] => {
                let tie = prefix[..i].iter().enumerate().any(|(j, x)| {
                    replay.live[j]
                        && matches!(*x, Ev::Appointed { office: o, on: d, .. } if o == office && d == on)
                });
                if tie {
                    count("two appointments on one day");
                }
            }
            Ev::Delegated {
                until: None,
                act,
                office,
                ..
            } if replay.live[i] => {
                count("a delegation without until");
                // Which absence bounds it: the last live one of the act and office before it.
                let bound = (0..i).rev().find(|j| {
                    replay.live[*j]
                        && matches!(prefix[*j], Ev::Away { act: a, office: o, .. } if a == act && o == office)
                });
                if bound.is_some_and(|j| matches!(prefix[j], Ev::Away { leave: true, .. })) {
                    count("a delegation bounded by a leave");
                }
            }
            Ev::Away {
                leave: true, act, ..
            } if replay.live[i] => {
                let trip_too = prefix.iter().enumerate().any(|(j, x)| {
                    replay.live[j]
                        && matches!(*x, Ev::Away { leave: false, act: a, .. } if a == act)
                });
                if trip_too {
                    count("a trip and a leave of one act");
                }
            }
            _ => {}
        }
    }
    for d in &replay.delegations {
        match d.effective_until {
            None => count("a delegation without effect"),
            Some(u) if u < d.until => count("a delegation cut by a new titular"),
            Some(u) => {
                let new_titular = (d.from + 1..=u).any(|a| {
                    let t = replay.titular_person(d.office, a);
                    t.is_some() && t != replay.titular_person(d.office, a - 1)
                });
                if new_titular {
                    // Its trip or its leave: the kind does not matter to rule 3.
                    count("a delegation kept by its trip of the new titular");
                    let by_leave = (d.from + 1..=u).any(|a| {
                        let new = replay.titular_person(d.office, a);
                        new.is_some()
                            && new != replay.titular_person(d.office, a - 1)
                            && replay.live_events().any(|(_, t)| {
                                matches!(*t, Ev::Away { leave: true, act, person, office, .. }
                                    if act == d.act && Some(person) == new && office == d.office)
                            })
                    });
                    if by_leave {
                        count("a delegation kept by a leave of the new titular");
                    }
                }
            }
        }
    }
}

/// (Also counted and printed, but too rare to require of every run: "a delegation kept by a
/// leave of the new titular", a few cases in 600; `replay_new_titular_exempt_by_leave.txt`
/// holds it.)
const FEATURES: [&str; 24] = [
    "unattended_office",
    "overlapping_delegations",
    "left_without_holding",
    "trip_without_holding",
    "leave_without_holding",
    "delegate_without_office",
    "act_revoked_twice",
    "delegation_over_30_days",
    "delegate_away",
    "an acting holder",
    "an absent titular",
    "a retracted retraction",
    "a retracted revocation",
    "a voided revocation",
    "two appointments on one day",
    "a delegation without until",
    "a delegation without effect",
    "a delegation cut by a new titular",
    "a delegation kept by its trip of the new titular",
    "a query as of an earlier position",
    "a titular on leave",
    "a delegation bounded by a leave",
    "a trip and a leave of one act",
    "a delegate away on leave",
];

#[test]
fn engine_agrees_with_the_oracle() {
    let (offered, refused) = (Cell::new(0), Cell::new(0));
    let seen: RefCell<BTreeMap<&'static str, usize>> = RefCell::default();
    let cases = cases(600);
    let result = runner(cases).run(&case(40), |(steps, as_of)| {
        let mut engine = Engine::new();
        let (ledger, n, r) = append_all(&mut engine, &steps, false, kept_equal_rebuilt)?;
        offered.set(offered.get() + n);
        refused.set(refused.get() + r);
        if ledger.is_empty() {
            return Ok(());
        }
        let head = ledger.len() as u64;
        let mut points: BTreeSet<Option<u64>> = [None].into();
        points.extend(as_of.iter().map(|f| Some(1 + u64::from(*f) * head / 256)));
        for point in points {
            let prefix = &ledger[..point.map_or(ledger.len(), |n| n as usize)];
            let mut seen = seen.borrow_mut();
            tally(prefix, &Replay::new(prefix), &mut seen);
            if prefix.len() < ledger.len() {
                *seen.entry("a query as of an earlier position").or_insert(0) += 1;
            }
            check_queries(&engine, &ledger, point)
                .map_err(|e| TestCaseError::fail(format!("{e}\nledger:\n{}", describe(&ledger))))?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The property must not pass vacuously: most generated events get through, and every
    // feature shows up (with the default number of cases; fewer may miss a rare one).
    let (offered, refused, seen) = (offered.get(), refused.get(), seen.into_inner());
    eprintln!("{offered} events offered, {refused} refused; seen: {seen:#?}");
    assert!(
        offered > 0 && refused * 5 < offered,
        "{refused} of {offered} events refused"
    );
    if cases >= 400 {
        for feature in FEATURES {
            assert!(
                seen.contains_key(feature),
                "no case had {feature}: {seen:#?}"
            );
        }
    }
}

/// The timelines the engine keeps current equal the ones rebuilt from scratch.
fn kept_equal_rebuilt(engine: &Engine) -> Result<(), TestCaseError> {
    let (kept, rebuilt) = (engine.kept_timelines(), engine.rebuilt_timelines());
    prop_assert!(
        kept == rebuilt,
        "after position {}:\nkept    {:?}\nrebuilt {:?}",
        engine.events().len(),
        kept,
        rebuilt
    );
    Ok(())
}

/// Appending events one by one (each its own batch, so every revocation and retraction that
/// changes the past is applied incrementally), the kept timelines equal the rebuilt ones after
/// every append. (The oracle property checks the same after each of its multi-event batches.)
#[test]
fn kept_timelines_equal_rebuilt_ones() {
    let (offered, refused) = (Cell::new(0), Cell::new(0));
    let result = runner(cases(600)).run(&case(50), |(steps, _)| {
        let mut engine = Engine::new();
        let (_, n, r) = append_all(&mut engine, &steps, true, kept_equal_rebuilt)?;
        offered.set(offered.get() + n);
        refused.set(refused.get() + r);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (offered, refused) = (offered.get(), refused.get());
    assert!(
        offered > 0 && refused * 5 < offered,
        "{refused} of {offered} events refused"
    );
}
