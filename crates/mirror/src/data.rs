//! The mirror's data files: every titular and acting interval of every office (the answers'
//! `holdings`, defined there once) in three formats for other tools: a CSV table
//! (`data/holdings.csv`), Popolo (`data/popolo.json`) and FollowTheMoney entities
//! (`data/ftm.ndjson`). This module only formats; `docs/PUBLISHING.md` describes the files.
//!
//! Every byte is a function of the ledger at the published size (orders fixed, no clock), so
//! a publish with nothing new finds the same bytes there and writes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actledger_answers::{AsOf, Holding, HoldingsAnswer, holdings};
use actledger_core::{Capacity, Day, OfficeId, PersonId, Seq};
use actledger_store::Ledger;
use serde::Serialize;

use crate::error::PublishError;
use crate::publish::Publishing;

/// The CSV table of intervals.
pub const HOLDINGS_FILE: &str = "data/holdings.csv";
/// The Popolo document.
pub const POPOLO_FILE: &str = "data/popolo.json";
/// The FollowTheMoney entities, one a line.
pub const FTM_FILE: &str = "data/ftm.ndjson";
/// The data files, in the order they are written.
pub(crate) const DATA_FILES: [&str; 3] = [HOLDINGS_FILE, POPOLO_FILE, FTM_FILE];

/// The header of `data/holdings.csv`.
pub const HOLDINGS_HEADER: &str = "office,office_name,from,until,capacity,person,name,basis";

/// Writes the data files of the ledger as of `size` (those whose bytes changed).
pub(crate) fn put_data_files(
    ledger: &Ledger,
    size: Seq,
    publishing: &mut Publishing<'_>,
) -> Result<(), PublishError> {
    let as_of = (size > 0).then_some(AsOf::Seq(size));
    let answer = holdings(ledger, as_of)?.answer;
    publishing.put(HOLDINGS_FILE, holdings_csv(&answer), false)?;
    publishing.put(POPOLO_FILE, popolo_json(&answer), false)?;
    publishing.put(FTM_FILE, ftm_ndjson(&answer), false)?;
    Ok(())
}

fn capacity(capacity: Capacity) -> &'static str {
    match capacity {
        Capacity::Titular => "titular",
        Capacity::Acting => "acting",
    }
}

/// Every interval with its office, in the answer's order (office, then first day, titular
/// before acting, then person).
fn rows(answer: &HoldingsAnswer) -> impl Iterator<Item = (&OfficeId, Option<&str>, &Holding)> {
    answer.offices.iter().flat_map(|office| {
        (office.holdings.iter())
            .map(move |holding| (&office.office, office.name.as_deref(), holding))
    })
}

/// Every person who held an office, by id, with their name (the id when none is recorded).
fn persons(answer: &HoldingsAnswer) -> BTreeMap<&PersonId, &str> {
    let mut persons = BTreeMap::new();
    for (_, _, holding) in rows(answer) {
        persons
            .entry(&holding.person)
            .or_insert_with(|| holding.name.as_deref().unwrap_or(holding.person.as_str()));
    }
    persons
}

fn basis(holding: &Holding, separator: &str) -> String {
    let acts: Vec<&str> = holding.basis.iter().map(|act| act.as_str()).collect();
    acts.join(separator)
}

/// `data/holdings.csv`: RFC 4180 (CRLF line ends, a field quoted when it holds a comma, a
/// quote or a line end, quotes doubled), UTF-8 without a byte order mark.
fn holdings_csv(answer: &HoldingsAnswer) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(HOLDINGS_HEADER);
    out.push_str("\r\n");
    for (office, office_name, holding) in rows(answer) {
        let fields = [
            office.as_str(),
            office_name.unwrap_or(""),
            &holding.from.to_string(),
            &holding.until.map(|day| day.to_string()).unwrap_or_default(),
            capacity(holding.capacity),
            holding.person.as_str(),
            holding.name.as_deref().unwrap_or(""),
            &basis(holding, ";"),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, field);
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[derive(Serialize)]
struct PopoloPerson<'a> {
    id: String,
    name: &'a str,
}

#[derive(Serialize)]
struct PopoloOrganization<'a> {
    id: String,
    name: &'a str,
}

#[derive(Serialize)]
struct PopoloPost<'a> {
    id: String,
    label: &'a str,
    organization_id: String,
}

#[derive(Serialize)]
struct PopoloMembership {
    id: String,
    person_id: String,
    post_id: String,
    organization_id: String,
    role: &'static str,
    start_date: Day,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<Day>,
    sources: Vec<PopoloSource>,
}

/// An act, as a Popolo source: its identifier as the note (the ledger keeps no index of the
/// acts' URLs, see `docs/PUBLISHING.md`).
#[derive(Serialize)]
struct PopoloSource {
    note: String,
}

fn popolo_person(person: &PersonId) -> String {
    format!("person/{person}")
}

fn popolo_organization(office: &OfficeId) -> String {
    format!("organization/{office}")
}

fn popolo_post(office: &OfficeId) -> String {
    format!("post/{office}")
}

/// `data/popolo.json`: one object with `persons`, `organizations`, `posts` and `memberships`,
/// each item on a line of its own.
fn popolo_json(answer: &HoldingsAnswer) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(b'{');
    let persons = persons(answer)
        .into_iter()
        .map(|(person, name)| PopoloPerson {
            id: popolo_person(person),
            name,
        });
    json_array(&mut out, "persons", persons);
    out.push(b',');
    let organizations = answer.offices.iter().map(|office| PopoloOrganization {
        id: popolo_organization(&office.office),
        name: office.name.as_deref().unwrap_or(office.office.as_str()),
    });
    json_array(&mut out, "organizations", organizations);
    out.push(b',');
    let posts = answer.offices.iter().map(|office| PopoloPost {
        id: popolo_post(&office.office),
        label: office.name.as_deref().unwrap_or(office.office.as_str()),
        organization_id: popolo_organization(&office.office),
    });
    json_array(&mut out, "posts", posts);
    out.push(b',');
    let memberships = rows(answer).map(|(office, _, holding)| PopoloMembership {
        id: format!(
            "membership/{office}/{}/{}",
            capacity(holding.capacity),
            holding.from
        ),
        person_id: popolo_person(&holding.person),
        post_id: popolo_post(office),
        organization_id: popolo_organization(office),
        role: capacity(holding.capacity),
        start_date: holding.from,
        end_date: holding.until,
        sources: (holding.basis.iter())
            .map(|act| PopoloSource {
                note: act.to_string(),
            })
            .collect(),
    });
    json_array(&mut out, "memberships", memberships);
    out.extend_from_slice(b"}\n");
    out
}

/// `"key":[` then each item on a line of its own, then `]`.
fn json_array<T: Serialize>(out: &mut Vec<u8>, key: &str, items: impl Iterator<Item = T>) {
    out.extend_from_slice(b"\n\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":[");
    for (i, item) in items.enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut *out, &item).expect("serializing to memory cannot fail");
    }
    out.extend_from_slice(b"\n]");
}

/// A FollowTheMoney entity: every property value a list of strings.
#[derive(Serialize)]
struct FtmEntity {
    id: String,
    schema: &'static str,
    properties: BTreeMap<&'static str, Vec<String>>,
}

fn ftm_person(person: &PersonId) -> String {
    format!("actledger-person-{person}")
}

fn ftm_position(office: &OfficeId) -> String {
    format!("actledger-position-{office}")
}

/// `data/ftm.ndjson`: the offices as `Position`s, the persons who held them as `Person`s,
/// then one `Occupancy` per interval, each entity after those it names.
fn ftm_ndjson(answer: &HoldingsAnswer) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = |entity: FtmEntity| {
        serde_json::to_writer(&mut out, &entity).expect("serializing to memory cannot fail");
        out.push(b'\n');
    };
    for office in &answer.offices {
        let name = office.name.as_deref().unwrap_or(office.office.as_str());
        line(FtmEntity {
            id: ftm_position(&office.office),
            schema: "Position",
            properties: BTreeMap::from([("name", vec![name.to_owned()])]),
        });
    }
    for (person, name) in persons(answer) {
        line(FtmEntity {
            id: ftm_person(person),
            schema: "Person",
            properties: BTreeMap::from([("name", vec![name.to_owned()])]),
        });
    }
    for (office, _, holding) in rows(answer) {
        let mut properties = BTreeMap::from([
            ("holder", vec![ftm_person(&holding.person)]),
            ("post", vec![ftm_position(office)]),
            ("startDate", vec![holding.from.to_string()]),
            (
                "status",
                vec![
                    if answer.is_current(holding) {
                        "current"
                    } else {
                        "ended"
                    }
                    .to_owned(),
                ],
            ),
            ("description", vec![description(holding)]),
        ]);
        if let Some(until) = holding.until {
            properties.insert("endDate", vec![until.to_string()]);
        }
        line(FtmEntity {
            id: format!(
                "actledger-occupancy-{office}-{}-{}",
                capacity(holding.capacity),
                holding.from
            ),
            schema: "Occupancy",
            properties,
        });
    }
    out
}

/// "Titular, on act RS-001-2023-PCM." / "Acting (in charge by delegation), on acts A, B."
fn description(holding: &Holding) -> String {
    let mut text = String::from(match holding.capacity {
        Capacity::Titular => "Titular",
        Capacity::Acting => "Acting (in charge by delegation)",
    });
    let acts = if holding.basis.len() == 1 {
        "act"
    } else {
        "acts"
    };
    let _ = write!(text, ", on {acts} {}.", basis(holding, ", "));
    text
}
