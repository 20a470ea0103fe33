//! A deterministic generator of realistic, valid event streams, for tests and benchmarks.
//!
//! [`Generator`] simulates five Spanish-speaking administrations (55 ministries) from 1960 on:
//! cabinets sworn in (and sworn in again), resignations with vacancies before the successor,
//! ministers' trips authorized, and leaves granted ("licencia", "vacaciones": about one
//! absence in seven), by a resolution that puts another minister in charge (with and without
//! `until`), cancelled trips and leaves (`act_revoked`), revocations of revocations, clerical
//! retractions with their correction, retractions of retractions, and the spec's anomalies at
//! low rates (an office left unattended, overlapping delegations, a delegation over 30 days, a
//! delegate who holds no office or is away, a departure of someone not in office, an act
//! revoked twice).
//!
//! Every stream is valid: a fresh ledger accepts any prefix of it whole. It is a function of
//! the seed alone (a hand-rolled SplitMix64, [`Rng`], so no dependency's version can change it;
//! the workspace's tests draw their random choices from it too), and it
//! is produced as it is read: memory holds the state of each office and a few dozen recent acts,
//! never the events already produced. The events are the core's own types ([`Event`]), and
//! each line is the canonical JSON the core writes for one, about 260 bytes on average.
//!
//! ```
//! use actledger_core::{Engine, parse_batch};
//! use actledger_gen::Generator;
//!
//! let ndjson: String = Generator::new(7).take(500).map(|line| line + "\n").collect();
//! let mut engine = Engine::new();
//! engine.append(parse_batch(ndjson.as_bytes())?)?;
//! assert_eq!(engine.events().len(), 500);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod rng;
mod world;

use std::collections::VecDeque;
use std::io::{self, Write};

use actledger_core::{
    ActId, ActIssued, ActRevoked, Appointed, Day, DutiesDelegated, Event, LeaveGranted, LeftOffice,
    OfficeId, PersonId, RecordRetracted, TripAuthorized,
};

pub use crate::rng::Rng;
use crate::world::COUNTRIES;

/// The first day of the simulation.
const START: (i32, u32, u32) = (1960, 1, 4);

/// How many recent acts of each sort the generator remembers (for revocations, retractions).
const RECENT: usize = 64;

/// Rates, in events per million stories, of the rare stories and anomalies.
mod rate {
    /// A trip with nobody put in charge (an unattended office).
    pub const UNATTENDED: usize = 10_000;
    /// A second, overlapping delegation of the same office.
    pub const OVERLAP: usize = 3_000;
    /// A trip (and its delegation) longer than 30 days.
    pub const LONG_TRIP: usize = 3_000;
    /// A delegate who holds no office (a vice-minister).
    pub const VICE_MINISTER: usize = 5_000;
    /// A delegation that ends with the titular's trip or leave, without `until`.
    pub const OPEN_ENDED: usize = 150_000;
    /// An absence that is a leave ("licencia", "vacaciones") rather than a trip: ministers
    /// travel far more often than they take leave.
    pub const LEAVE: usize = 150_000;
}

/// A person, as the acts name them.
#[derive(Debug, Clone)]
struct Person {
    id: PersonId,
    name: String,
    woman: bool,
}

/// One ministry and who holds it.
#[derive(Debug)]
struct Office {
    country: usize,
    id: OfficeId,
    name: &'static str,
    titular: Option<Person>,
    /// The day the titular took office.
    since: u32,
    /// The last day the titular is away (an authorized trip or leave) or in charge of another
    /// office.
    busy_until: u32,
}

/// A recorded absence, a trip or a leave, that a later story may cancel or correct.
#[derive(Debug, Clone)]
struct TripRecord {
    act: ActId,
    seq: u64,
    person: PersonId,
    office: OfficeId,
    from: u32,
    until: u32,
    what: Away,
}

/// What kind of absence a [`TripRecord`] is.
#[derive(Debug, Clone, Copy)]
enum Away {
    /// A trip, to this destination.
    Trip(&'static str),
    /// A leave, for this reason.
    Leave(&'static str),
}

/// The act numbering of one country: numbers restart every year.
#[derive(Debug)]
struct Numbering {
    year: i32,
    next: u32,
}

/// An endless stream of valid events: as the core's [`Event`]s ([`Generator::next_event`]),
/// or as NDJSON lines without the newline (the iterator).
///
/// Positions: if the stream starts a fresh ledger, its n-th line is recorded at position n,
/// and its retractions name those positions. Appended to a ledger that already holds entries,
/// the stream stays valid (a retraction always names an earlier position) but retracts other
/// events than it meant to.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    today: u32,
    offices: Vec<Office>,
    numbering: Vec<Numbering>,
    next_reshuffle: Vec<u32>,
    queue: VecDeque<Event>,
    /// How many events were queued so far: the position of the last one queued.
    emitted: u64,
    people: u64,
    trips: VecDeque<TripRecord>,
    revocations: VecDeque<ActId>,
    revoked: VecDeque<ActId>,
    retractions: VecDeque<u64>,
    former: VecDeque<Person>,
}

fn remember<T>(ring: &mut VecDeque<T>, item: T) {
    if ring.len() == RECENT {
        ring.pop_front();
    }
    ring.push_back(item);
}

/// The URL-and-identifier form of a name: lower case ASCII, words joined by `-`.
fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            'á' | 'Á' => 'a',
            'é' | 'É' => 'e',
            'í' | 'Í' => 'i',
            'ó' | 'Ó' => 'o',
            'ú' | 'Ú' | 'ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '-',
        };
        if c != '-' || !out.ends_with('-') {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// "del Ministerio de ..." or "de la Presidencia ...".
fn of(name: &str) -> String {
    if name.starts_with("Ministerio") {
        format!("del {name}")
    } else {
        format!("de la {name}")
    }
}

/// The day of an ordinal (days since 0001-01-01).
fn day(ordinal: u32) -> Day {
    // The simulated clock moves about one day per 7 events from 1960: it reaches year 9999
    // only after some twenty billion events.
    Day::from_ordinal(ordinal).expect("the simulated clock stays before 9999-12-31")
}

/// An identifier the generator made: from the world's codes, slugs and digits only.
fn identifier<T: std::str::FromStr<Err = actledger_core::IdError>>(text: String) -> T {
    match text.parse() {
        Ok(id) => id,
        Err(e) => panic!("the generator made an identifier that is not one: {text:?} {e}"),
    }
}

fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

impl Generator {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Generator {
        let start = actledger_core::Day::from_ymd(START.0, START.1, START.2)
            .expect("the start is a valid day")
            .ordinal();
        let mut offices = Vec::new();
        for (country, c) in COUNTRIES.iter().enumerate() {
            for (id, name, _) in c.ministries {
                offices.push(Office {
                    country,
                    id: identifier(format!("{}-{id}", c.code)),
                    name,
                    titular: None,
                    since: start,
                    busy_until: 0,
                });
            }
        }
        let mut generator = Generator {
            rng: Rng::new(seed),
            today: start,
            offices,
            numbering: COUNTRIES
                .iter()
                .map(|_| Numbering {
                    year: START.0,
                    next: 1,
                })
                .collect(),
            next_reshuffle: vec![start; COUNTRIES.len()],
            queue: VecDeque::new(),
            emitted: 0,
            people: 0,
            trips: VecDeque::new(),
            revocations: VecDeque::new(),
            revoked: VecDeque::new(),
            retractions: VecDeque::new(),
            former: VecDeque::new(),
        };
        // Mix the seed: nearby seeds give unrelated streams.
        for _ in 0..4 {
            generator.rng.next_u64();
        }
        generator
    }

    fn push(&mut self, event: Event) -> u64 {
        self.emitted += 1;
        self.queue.push_back(event);
        self.emitted
    }

    fn new_person(&mut self) -> Person {
        self.people += 1;
        let &(given, woman) = self.rng.pick(world::GIVEN);
        let second = if self.rng.chance(300) {
            let &(second, _) = self.rng.pick(world::GIVEN);
            // A second given name of the same gender, as in "Ana Cecilia".
            (second != given && world::GIVEN.iter().any(|g| g.0 == second && g.1 == woman))
                .then_some(second)
        } else {
            None
        };
        let first = self.rng.pick(world::SURNAMES);
        let last = self.rng.pick(world::SURNAMES);
        let name = match second {
            Some(second) => format!("{given} {second} {first} {last}"),
            None => format!("{given} {first} {last}"),
        };
        let id = identifier(format!(
            "{}-{}",
            slug(&format!("{given} {first} {last}")),
            base36(self.people)
        ));
        Person { id, name, woman }
    }

    /// A new act of `office`'s country issued on `on`: its identifier.
    fn new_act(&mut self, country: usize, on: u32) -> ActId {
        let year = day(on).to_string()[..4]
            .parse::<i32>()
            .expect("a day's year is digits");
        let numbering = &mut self.numbering[country];
        if year > numbering.year {
            numbering.year = year;
            numbering.next = 1;
        }
        let number = numbering.next;
        numbering.next += 1;
        let c = &COUNTRIES[country];
        identifier(format!(
            "{}-{number:03}-{}-{}",
            c.act_prefix, numbering.year, c.issuer
        ))
    }

    /// Queues the `act_issued` of a new act and returns its identifier.
    fn issue(&mut self, country: usize, on: u32, title: String) -> ActId {
        let act = self.new_act(country, on);
        let c = &COUNTRIES[country];
        let published = self.rng.chance(850).then(|| on + self.rng.between(0, 2));
        let title = self.rng.chance(960).then_some(title);
        let url = self.rng.chance(450).then(|| {
            format!(
                "{}/{}/{}",
                c.gazette,
                &day(on).to_string()[..4],
                act.as_str().to_lowercase()
            )
        });
        self.push(Event::ActIssued(ActIssued {
            act: act.clone(),
            kind: c.kind.to_owned(),
            issuer: identifier(format!("{}-{}", c.code, c.issuer)),
            issued_on: day(on),
            published_on: published.map(day),
            title,
            url,
        }));
        act
    }

    fn appoint(&mut self, office: usize, person: Person, on: u32, title: &str) {
        let country = self.offices[office].country;
        let act = self.issue(country, on, title.to_owned());
        let name = self.rng.chance(900).then(|| person.name.clone());
        let office_name = self.rng.chance(600).then_some(self.offices[office].name);
        self.push(Event::Appointed(Appointed {
            act,
            person: person.id.clone(),
            office: self.offices[office].id.clone(),
            on: day(on),
            person_name: name,
            office_name: office_name.map(str::to_owned),
        }));
        let o = &mut self.offices[office];
        o.titular = Some(person);
        o.since = on;
    }

    fn leave(&mut self, office: usize, person: &Person, on: u32, reason: &str) {
        let country = self.offices[office].country;
        let title = format!(
            "Aceptan la renuncia de {} al cargo de titular {}",
            person.name,
            of(self.offices[office].name)
        );
        let act = self.issue(country, on, title);
        let reason = self.rng.chance(800).then_some(reason);
        self.push(Event::LeftOffice(LeftOffice {
            act,
            person: person.id.clone(),
            office: self.offices[office].id.clone(),
            on: day(on),
            reason: reason.map(str::to_owned),
        }));
    }

    fn appointment_title(&self, office: usize, person: &Person) -> String {
        format!(
            "Designan a {} en el cargo de titular {}",
            person.name,
            of(self.offices[office].name)
        )
    }

    /// A cabinet sworn in: every ministry of the country, most ministers again.
    fn reshuffle(&mut self, country: usize) {
        let on = self.today + self.rng.between(1, 5);
        let members: Vec<usize> = (0..self.offices.len())
            .filter(|&o| self.offices[o].country == country)
            .collect();
        for office in members {
            let sitting = self.offices[office].titular.clone();
            match sitting {
                Some(person) if self.rng.chance(650) => {
                    // Sworn in again: the same person, a new act.
                    let title = self.appointment_title(office, &person);
                    self.appoint(office, person, on, &title);
                }
                sitting => {
                    if let Some(old) = &sitting {
                        self.leave(office, old, on, world::LEFT_REASONS[2]);
                    }
                    let person = match self.former.len() {
                        n if n > 0 && self.rng.chance(150) => {
                            let i = self.rng.below(n);
                            self.former.remove(i).expect("an index below the length")
                        }
                        _ => self.new_person(),
                    };
                    let title = self.appointment_title(office, &person);
                    self.appoint(office, person, on, &title);
                    if let Some(old) = sitting {
                        remember(&mut self.former, old);
                    }
                }
            }
        }
        self.next_reshuffle[country] = on + self.rng.between(300, 1100);
    }

    /// A minister resigns; the successor is sworn in the same day or after a vacancy.
    fn resignation(&mut self) {
        let office = self.rng.below(self.offices.len());
        let Some(person) = self.offices[office].titular.clone() else {
            return;
        };
        let leaves = (self.today + self.rng.between(0, 2))
            .max(self.offices[office].busy_until + 1)
            .max(self.offices[office].since + 1);
        let reason = *self.rng.pick(&world::LEFT_REASONS[..2]);
        self.leave(office, &person, leaves, reason);
        remember(&mut self.former, person);
        let successor = self.new_person();
        let gap = if self.rng.chance(600) {
            0
        } else {
            self.rng.between(1, 20)
        };
        let title = self.appointment_title(office, &successor);
        self.appoint(office, successor, leaves + gap, &title);
    }

    /// The titular of some office with nothing planned from `from` on, not `except`.
    fn free_minister(&mut self, country: usize, from: u32, except: usize) -> Option<usize> {
        let members: Vec<usize> = (0..self.offices.len())
            .filter(|&o| {
                let office = &self.offices[o];
                o != except && office.country == country && office.titular.is_some()
            })
            .collect();
        if members.is_empty() {
            return None;
        }
        for _ in 0..6 {
            let o = *self.rng.pick(&members);
            let office = &self.offices[o];
            if office.busy_until < from && office.since < from {
                return Some(o);
            }
        }
        // Everybody seems away: put someone in charge anyway (the delegate-away anomaly).
        Some(*self.rng.pick(&members))
    }

    /// A minister's trip or leave, with (almost always) another minister put in charge.
    fn trip(&mut self) {
        let office = self.rng.below(self.offices.len());
        let Some(person) = self.offices[office].titular.clone() else {
            return;
        };
        let from = (self.today + self.rng.between(1, 10)).max(self.offices[office].since + 1);
        if self.offices[office].busy_until >= from {
            return;
        }
        let leave = self.rng.chance_ppm(rate::LEAVE);
        let days = if self.rng.chance_ppm(rate::LONG_TRIP) {
            self.rng.between(31, 60)
        } else if leave {
            *self.rng.pick(&[1, 2, 3, 5, 5, 7, 10, 14, 15])
        } else {
            *self.rng.pick(&[1, 2, 3, 3, 4, 4, 5, 6, 7, 9])
        };
        let until = from + days - 1;
        let country = self.offices[office].country;
        let what = if leave {
            let reason = *self.rng.pick(world::LEAVE_REASONS);
            Away::Leave(reason)
        } else {
            let destination = *self.rng.pick(world::DESTINATIONS);
            Away::Trip(destination)
        };
        let delegate = if self.rng.chance_ppm(rate::UNATTENDED) {
            None
        } else if self.rng.chance_ppm(rate::VICE_MINISTER) {
            Some((self.new_person(), None))
        } else {
            self.free_minister(country, from, office).map(|o| {
                let busy = &mut self.offices[o].busy_until;
                *busy = (*busy).max(until);
                let titular = self.offices[o]
                    .titular
                    .clone()
                    .expect("chosen with a titular");
                (titular, Some(o))
            })
        };
        let minister = |woman: bool| {
            if woman {
                "de la titular"
            } else {
                "del titular"
            }
        };
        let absence = match what {
            Away::Trip(destination) => format!(
                "Autorizan viaje {} {} a {destination}",
                minister(person.woman),
                of(self.offices[office].name)
            ),
            Away::Leave(_) => format!(
                "Conceden licencia {} {}",
                if person.woman {
                    "a la titular"
                } else {
                    "al titular"
                },
                of(self.offices[office].name)
            ),
        };
        let title = match &delegate {
            Some((d, Some(o))) => format!(
                "{absence} y encargan el Despacho {} {}",
                if d.woman {
                    "a la titular"
                } else {
                    "al titular"
                },
                of(self.offices[*o].name)
            ),
            _ => absence,
        };
        let act = self.issue(country, self.today, title);
        let event = match what {
            Away::Trip(destination) => {
                let purpose = self
                    .rng
                    .chance(700)
                    .then(|| *self.rng.pick(world::PURPOSES));
                Event::TripAuthorized(TripAuthorized {
                    act: act.clone(),
                    person: person.id.clone(),
                    office: self.offices[office].id.clone(),
                    from: day(from),
                    until: day(until),
                    destination: self.rng.chance(950).then(|| destination.to_owned()),
                    purpose: purpose.map(str::to_owned),
                })
            }
            Away::Leave(reason) => Event::LeaveGranted(LeaveGranted {
                act: act.clone(),
                person: person.id.clone(),
                office: self.offices[office].id.clone(),
                from: day(from),
                until: day(until),
                reason: self.rng.chance(900).then(|| reason.to_owned()),
            }),
        };
        let seq = self.push(event);
        let busy = &mut self.offices[office].busy_until;
        *busy = (*busy).max(until);
        remember(
            &mut self.trips,
            TripRecord {
                act: act.clone(),
                seq,
                person: person.id.clone(),
                office: self.offices[office].id.clone(),
                from,
                until,
                what,
            },
        );
        if let Some((delegate, delegate_office)) = delegate {
            let open = self.rng.chance_ppm(rate::OPEN_ENDED);
            self.delegate(
                &act,
                office,
                &delegate,
                delegate_office,
                from,
                (!open).then_some(until),
            );
            if self.rng.chance_ppm(rate::OVERLAP) {
                // A second encargo for the same days, in an act of its own.
                if let Some(other) = self.free_minister(country, from, office) {
                    let second = self.offices[other].titular.clone().expect("has a titular");
                    let busy = &mut self.offices[other].busy_until;
                    *busy = (*busy).max(until);
                    let title = format!(
                        "Encargan el Despacho {} {}",
                        of(self.offices[office].name),
                        if second.woman {
                            "a la titular"
                        } else {
                            "al titular"
                        }
                    );
                    let act = self.issue(country, self.today, title);
                    self.delegate(
                        &act,
                        office,
                        &second,
                        Some(other),
                        (from + 1).min(until),
                        Some(until),
                    );
                }
            }
        }
    }

    fn delegate(
        &mut self,
        act: &ActId,
        office: usize,
        delegate: &Person,
        delegate_office: Option<usize>,
        from: u32,
        until: Option<u32>,
    ) {
        let name = self.rng.chance(850).then(|| delegate.name.clone());
        self.push(Event::DutiesDelegated(DutiesDelegated {
            act: act.clone(),
            office: self.offices[office].id.clone(),
            delegate: delegate.id.clone(),
            from: day(from),
            until: until.map(day),
            delegate_name: name,
            delegate_office: delegate_office.map(|o| self.offices[o].id.clone()),
        }));
    }

    /// A country of a recorded trip, by its office identifier.
    fn country_of(&self, office_id: &OfficeId) -> usize {
        self.offices
            .iter()
            .find(|o| o.id == *office_id)
            .map_or(0, |o| o.country)
    }

    /// A trip or a leave is cancelled: a new act revokes its act.
    fn cancel_trip(&mut self) {
        if self.trips.is_empty() {
            return;
        }
        let i = self.rng.below(self.trips.len());
        let trip = self.trips.remove(i).expect("an index below the length");
        let country = self.country_of(&trip.office);
        let title = format!(
            "Dejan sin efecto la {} {}",
            COUNTRIES[country].kind.replace('_', " "),
            trip.act
        );
        let act = self.issue(country, self.today, title);
        let reason = self
            .rng
            .chance(900)
            .then(|| *self.rng.pick(world::REVOKE_REASONS));
        self.push(Event::ActRevoked(ActRevoked {
            act: act.clone(),
            revokes: trip.act.clone(),
            reason: reason.map(str::to_owned),
        }));
        remember(&mut self.revocations, act);
        remember(&mut self.revoked, trip.act);
    }

    /// A revocation is itself revoked, restoring what it revoked.
    fn restore_revoked(&mut self) {
        let Some(revocation) = self.revocations.pop_back() else {
            return;
        };
        let country = COUNTRIES
            .iter()
            .position(|c| {
                revocation
                    .as_str()
                    .starts_with(&format!("{}-", c.act_prefix))
            })
            .unwrap_or(0);
        let title = format!("Dejan sin efecto la revocación dispuesta por {revocation}");
        let act = self.issue(country, self.today, title);
        self.push(Event::ActRevoked(ActRevoked {
            act,
            revokes: revocation,
            reason: Some("se restablece la autorización de viaje".to_owned()),
        }));
    }

    /// An act revoked a second time (the act-revoked-twice anomaly).
    fn revoke_again(&mut self) {
        let Some(target) = self.revoked.pop_back() else {
            return;
        };
        let country = COUNTRIES
            .iter()
            .position(|c| target.as_str().starts_with(&format!("{}-", c.act_prefix)))
            .unwrap_or(0);
        let title = format!("Dejan sin efecto la autorización de viaje dispuesta por {target}");
        let act = self.issue(country, self.today, title);
        self.push(Event::ActRevoked(ActRevoked {
            act,
            revokes: target,
            reason: None,
        }));
    }

    /// A trip or a leave recorded with the wrong dates: retracted, then recorded again,
    /// corrected.
    fn correct_trip(&mut self) {
        if self.trips.is_empty() {
            return;
        }
        let i = self.rng.below(self.trips.len());
        let shift = self.rng.between(1, 3);
        let reason = *self.rng.pick(world::RETRACT_REASONS);
        let trip = &self.trips[i];
        let retraction = Event::RecordRetracted(RecordRetracted {
            seq: trip.seq,
            reason: reason.to_owned(),
        });
        let corrected = match trip.what {
            Away::Trip(destination) => Event::TripAuthorized(TripAuthorized {
                act: trip.act.clone(),
                person: trip.person.clone(),
                office: trip.office.clone(),
                from: day(trip.from + shift),
                until: day(trip.until + shift),
                destination: Some(destination.to_owned()),
                purpose: None,
            }),
            Away::Leave(reason) => Event::LeaveGranted(LeaveGranted {
                act: trip.act.clone(),
                person: trip.person.clone(),
                office: trip.office.clone(),
                from: day(trip.from + shift),
                until: day(trip.until + shift),
                reason: Some(reason.to_owned()),
            }),
        };
        let retraction_seq = self.push(retraction);
        let seq = self.push(corrected);
        remember(&mut self.retractions, retraction_seq);
        let trip = &mut self.trips[i];
        trip.seq = seq;
        trip.from += shift;
        trip.until += shift;
        let until = trip.until;
        if let Some(office) = self
            .offices
            .iter_mut()
            .find(|o| o.id == self.trips[i].office)
        {
            office.busy_until = office.busy_until.max(until);
        }
    }

    /// A retraction turns out to be the mistake: retracting it restores the event.
    fn retract_retraction(&mut self) {
        let Some(seq) = self.retractions.pop_back() else {
            return;
        };
        let reason = *self.rng.pick(world::RESTORE_REASONS);
        self.push(Event::RecordRetracted(RecordRetracted {
            seq,
            reason: reason.to_owned(),
        }));
    }

    /// A departure recorded for someone who no longer held the office (an anomaly).
    fn late_departure(&mut self) {
        if self.former.is_empty() {
            return;
        }
        let person = self.former[self.rng.below(self.former.len())].clone();
        let office = self.rng.below(self.offices.len());
        if self.offices[office]
            .titular
            .as_ref()
            .is_some_and(|t| t.id == person.id)
        {
            return;
        }
        self.leave(office, &person, self.today, world::LEFT_REASONS[3]);
    }

    /// Queues the events of one story and moves the clock on.
    fn story(&mut self) {
        for country in 0..COUNTRIES.len() {
            if self.next_reshuffle[country] <= self.today {
                self.reshuffle(country);
            }
        }
        match self.rng.below(1_000_000) {
            0..880_000 => self.trip(),
            880_000..940_000 => self.resignation(),
            940_000..970_000 => self.cancel_trip(),
            970_000..985_000 => self.correct_trip(),
            985_000..988_000 => self.restore_revoked(),
            988_000..989_500 => self.retract_retraction(),
            989_500..991_500 => self.late_departure(),
            991_500..993_500 => self.revoke_again(),
            _ => self.trip(),
        }
        if self.rng.chance(400) {
            self.today += 1;
        }
    }

    /// Writes the first `events` events as NDJSON (one line each, `\n`-terminated) and says
    /// how many bytes that took.
    pub fn write_ndjson(&mut self, events: u64, out: &mut dyn Write) -> io::Result<Summary> {
        let mut bytes = 0u64;
        let mut line = Vec::with_capacity(1024);
        for _ in 0..events {
            line.clear();
            self.next_event().write_canonical_bytes(&mut line);
            line.push(b'\n');
            out.write_all(&line)?;
            bytes += line.len() as u64;
        }
        out.flush()?;
        Ok(Summary {
            events,
            bytes,
            last_day: day(self.today),
        })
    }
}

impl Generator {
    /// The next event of the stream.
    pub fn next_event(&mut self) -> Event {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return event;
            }
            self.story();
        }
    }
}

impl Iterator for Generator {
    type Item = String;

    /// The next event's line, its canonical JSON; never `None`.
    fn next(&mut self) -> Option<String> {
        let bytes = self.next_event().canonical_bytes();
        Some(String::from_utf8(bytes).expect("canonical JSON is UTF-8"))
    }
}

/// What [`Generator::write_ndjson`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
    /// The simulated day the stream reached.
    pub last_day: actledger_core::Day,
}
