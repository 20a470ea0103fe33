//! A deterministic generator of realistic, valid event streams, for tests and benchmarks.
//!
//! [`Generator`] simulates five Spanish-speaking administrations (55 ministries) from 1960 on:
//! cabinets sworn in (and sworn in again), resignations with vacancies before the successor,
//! ministers' trips authorized by a resolution that puts another minister in charge (with and
//! without `until`), cancelled trips (`act_revoked`), revocations of revocations, clerical
//! retractions with their correction, retractions of retractions, and the spec's anomalies at
//! low rates (an office left unattended, overlapping delegations, a delegation over 30 days, a
//! delegate who holds no office or is away, a departure of someone not in office, an act
//! revoked twice).
//!
//! Every stream is valid: a fresh ledger accepts any prefix of it whole. It is a function of
//! the seed alone (a hand-rolled SplitMix64, so no dependency's version can change it), and it
//! is produced as it is read: memory holds the state of each office and a few dozen recent acts,
//! never the events already produced. Each line is the event's canonical JSON, about 260 bytes
//! on average.
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

mod json;
mod rng;
mod world;

use std::collections::VecDeque;
use std::io::{self, Write};

use crate::json::{Obj, day};
use crate::rng::Rng;
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
    /// A delegation that ends with the titular's trip, without `until`.
    pub const OPEN_ENDED: usize = 150_000;
}

/// A person, as the acts name them.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    name: String,
    woman: bool,
}

/// One ministry and who holds it.
#[derive(Debug)]
struct Office {
    country: usize,
    id: String,
    name: &'static str,
    titular: Option<Person>,
    /// The day the titular took office.
    since: u32,
    /// The last day the titular is away on an authorized trip or in charge of another office.
    busy_until: u32,
}

/// A recorded trip that a later story may cancel or correct.
#[derive(Debug, Clone)]
struct TripRecord {
    act: String,
    seq: u64,
    person: String,
    office: String,
    from: u32,
    until: u32,
    destination: &'static str,
}

/// The act numbering of one country: numbers restart every year.
#[derive(Debug)]
struct Numbering {
    year: i32,
    next: u32,
}

/// An endless stream of valid events as NDJSON lines (without the newline).
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
    queue: VecDeque<String>,
    /// How many events were queued so far: the position of the last one queued.
    emitted: u64,
    people: u64,
    trips: VecDeque<TripRecord>,
    revocations: VecDeque<String>,
    revoked: VecDeque<String>,
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
                    id: format!("{}-{id}", c.code),
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

    fn push(&mut self, line: String) -> u64 {
        self.emitted += 1;
        self.queue.push_back(line);
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
        let id = format!(
            "{}-{}",
            slug(&format!("{given} {first} {last}")),
            base36(self.people)
        );
        Person { id, name, woman }
    }

    /// A new act of `office`'s country issued on `on`: its identifier.
    fn new_act(&mut self, country: usize, on: u32) -> String {
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
        format!(
            "{}-{number:03}-{}-{}",
            c.act_prefix, numbering.year, c.issuer
        )
    }

    /// Queues the `act_issued` of a new act and returns its identifier.
    fn issue(&mut self, country: usize, on: u32, title: String) -> String {
        let act = self.new_act(country, on);
        let c = &COUNTRIES[country];
        let published = self.rng.chance(850).then(|| on + self.rng.between(0, 2));
        let title = self.rng.chance(960).then_some(title);
        let url = self.rng.chance(450).then(|| {
            format!(
                "{}/{}/{}",
                c.gazette,
                &day(on).to_string()[..4],
                act.to_lowercase()
            )
        });
        let line = Obj::new("act_issued")
            .str("act", &act)
            .str("kind", c.kind)
            .str("issuer", &format!("{}-{}", c.code, c.issuer))
            .day("issued_on", on)
            .opt_day("published_on", published)
            .opt("title", title.as_deref())
            .opt("url", url.as_deref())
            .end();
        self.push(line);
        act
    }

    fn appoint(&mut self, office: usize, person: Person, on: u32, title: &str) {
        let country = self.offices[office].country;
        let act = self.issue(country, on, title.to_owned());
        let name = self.rng.chance(900).then_some(person.name.as_str());
        let office_name = self.rng.chance(600).then_some(self.offices[office].name);
        let line = Obj::new("appointed")
            .str("act", &act)
            .str("person", &person.id)
            .str("office", &self.offices[office].id)
            .day("on", on)
            .opt("person_name", name)
            .opt("office_name", office_name)
            .end();
        self.push(line);
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
        let line = Obj::new("left_office")
            .str("act", &act)
            .str("person", &person.id)
            .str("office", &self.offices[office].id)
            .day("on", on)
            .opt("reason", reason)
            .end();
        self.push(line);
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

    /// A minister's trip, with (almost always) another minister put in charge.
    fn trip(&mut self) {
        let office = self.rng.below(self.offices.len());
        let Some(person) = self.offices[office].titular.clone() else {
            return;
        };
        let from = (self.today + self.rng.between(1, 10)).max(self.offices[office].since + 1);
        if self.offices[office].busy_until >= from {
            return;
        }
        let days = if self.rng.chance_ppm(rate::LONG_TRIP) {
            self.rng.between(31, 60)
        } else {
            *self.rng.pick(&[1, 2, 3, 3, 4, 4, 5, 6, 7, 9])
        };
        let until = from + days - 1;
        let country = self.offices[office].country;
        let destination = *self.rng.pick(world::DESTINATIONS);
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
        let title = match &delegate {
            Some((d, Some(o))) => format!(
                "Autorizan viaje {} {} a {destination} y encargan el Despacho {} {}",
                minister(person.woman),
                of(self.offices[office].name),
                if d.woman {
                    "a la titular"
                } else {
                    "al titular"
                },
                of(self.offices[*o].name)
            ),
            _ => format!(
                "Autorizan viaje {} {} a {destination}",
                minister(person.woman),
                of(self.offices[office].name)
            ),
        };
        let act = self.issue(country, self.today, title);
        let purpose = self
            .rng
            .chance(700)
            .then(|| *self.rng.pick(world::PURPOSES));
        let trip_line = Obj::new("trip_authorized")
            .str("act", &act)
            .str("person", &person.id)
            .str("office", &self.offices[office].id)
            .day("from", from)
            .day("until", until)
            .opt("destination", self.rng.chance(950).then_some(destination))
            .opt("purpose", purpose)
            .end();
        let seq = self.push(trip_line);
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
                destination,
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
        act: &str,
        office: usize,
        delegate: &Person,
        delegate_office: Option<usize>,
        from: u32,
        until: Option<u32>,
    ) {
        let name = self.rng.chance(850).then_some(delegate.name.as_str());
        let line = Obj::new("duties_delegated")
            .str("act", act)
            .str("office", &self.offices[office].id)
            .str("delegate", &delegate.id)
            .day("from", from)
            .opt_day("until", until)
            .opt("delegate_name", name)
            .opt(
                "delegate_office",
                delegate_office.map(|o| self.offices[o].id.as_str()),
            )
            .end();
        self.push(line);
    }

    /// A country of a recorded trip, by its office identifier.
    fn country_of(&self, office_id: &str) -> usize {
        self.offices
            .iter()
            .find(|o| o.id == office_id)
            .map_or(0, |o| o.country)
    }

    /// A trip is cancelled: a new act revokes the trip's act.
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
        let line = Obj::new("act_revoked")
            .str("act", &act)
            .str("revokes", &trip.act)
            .opt("reason", reason)
            .end();
        self.push(line);
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
            .position(|c| revocation.starts_with(&format!("{}-", c.act_prefix)))
            .unwrap_or(0);
        let title = format!("Dejan sin efecto la revocación dispuesta por {revocation}");
        let act = self.issue(country, self.today, title);
        let line = Obj::new("act_revoked")
            .str("act", &act)
            .str("revokes", &revocation)
            .str("reason", "se restablece la autorización de viaje")
            .end();
        self.push(line);
    }

    /// An act revoked a second time (the act-revoked-twice anomaly).
    fn revoke_again(&mut self) {
        let Some(target) = self.revoked.pop_back() else {
            return;
        };
        let country = COUNTRIES
            .iter()
            .position(|c| target.starts_with(&format!("{}-", c.act_prefix)))
            .unwrap_or(0);
        let title = format!("Dejan sin efecto la autorización de viaje dispuesta por {target}");
        let act = self.issue(country, self.today, title);
        let line = Obj::new("act_revoked")
            .str("act", &act)
            .str("revokes", &target)
            .end();
        self.push(line);
    }

    /// A trip recorded with the wrong dates: retracted, then recorded again, corrected.
    fn correct_trip(&mut self) {
        if self.trips.is_empty() {
            return;
        }
        let i = self.rng.below(self.trips.len());
        let shift = self.rng.between(1, 3);
        let reason = *self.rng.pick(world::RETRACT_REASONS);
        let trip = &self.trips[i];
        let retraction = Obj::new("record_retracted")
            .num("seq", trip.seq)
            .str("reason", reason)
            .end();
        let corrected = Obj::new("trip_authorized")
            .str("act", &trip.act)
            .str("person", &trip.person)
            .str("office", &trip.office)
            .day("from", trip.from + shift)
            .day("until", trip.until + shift)
            .str("destination", trip.destination)
            .end();
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
        let line = Obj::new("record_retracted")
            .num("seq", seq)
            .str("reason", reason)
            .end();
        self.push(line);
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
        for _ in 0..events {
            let line = self.next().expect("the stream is endless");
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            bytes += line.len() as u64 + 1;
        }
        out.flush()?;
        Ok(Summary {
            events,
            bytes,
            last_day: day(self.today),
        })
    }
}

impl Iterator for Generator {
    type Item = String;

    /// The next event's line; never `None`.
    fn next(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.queue.pop_front() {
                return Some(line);
            }
            self.story();
        }
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
