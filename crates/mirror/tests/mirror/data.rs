//! The data files (`data/holdings.csv`, `data/popolo.json`, `data/ftm.ndjson`): the seed case
//! field by field, CSV quoting, intervals joined across acts, references between entities,
//! and publishing again writing nothing.

use std::collections::HashSet;

use actledger_core::parse_batch;
use actledger_mirror::{FTM_FILE, HOLDINGS_FILE, POPOLO_FILE};
use serde_json::{Value, json};

use crate::{DATA_FILES, Sandbox, snapshot};

const SEED: &str = include_str!("../../../cli/data/seed.ndjson");

fn with_events(events: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.ledger
        .append(parse_batch(events.as_bytes()).unwrap())
        .unwrap();
    s
}

fn read(s: &Sandbox, name: &str) -> String {
    String::from_utf8(std::fs::read(s.mirror().join(name)).unwrap()).unwrap()
}

fn ftm(s: &Sandbox) -> Vec<Value> {
    read(s, FTM_FILE)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_seed_case_as_a_csv_table() {
    let s = with_events(SEED);
    s.publish();
    assert_eq!(
        read(&s, HOLDINGS_FILE),
        "office,office_name,from,until,capacity,person,name,basis\r\n\
         MEF,,2023-12-01,,titular,jose-arista,José Arista Arbildo,RS-002-2023-PCM\r\n\
         MINDEF,Ministerio de Defensa,2023-09-06,,titular,walter-astudillo,Walter Astudillo,RS-001-2023-PCM\r\n\
         MINDEF,Ministerio de Defensa,2024-06-02,2024-06-04,acting,jose-arista,José Arista Arbildo,RS-131-2024-PCM\r\n"
    );
}

#[test]
fn the_seed_case_in_popolo() {
    let s = with_events(SEED);
    s.publish();
    let popolo: Value = serde_json::from_str(&read(&s, POPOLO_FILE)).unwrap();
    assert_eq!(
        popolo,
        json!({
            "persons": [
                {"id": "person/jose-arista", "name": "José Arista Arbildo"},
                {"id": "person/walter-astudillo", "name": "Walter Astudillo"},
            ],
            "organizations": [
                {"id": "organization/MEF", "name": "MEF"},
                {"id": "organization/MINDEF", "name": "Ministerio de Defensa"},
            ],
            "posts": [
                {"id": "post/MEF", "label": "MEF", "organization_id": "organization/MEF"},
                {
                    "id": "post/MINDEF",
                    "label": "Ministerio de Defensa",
                    "organization_id": "organization/MINDEF",
                },
            ],
            "memberships": [
                {
                    "id": "membership/MEF/titular/2023-12-01",
                    "person_id": "person/jose-arista",
                    "post_id": "post/MEF",
                    "organization_id": "organization/MEF",
                    "role": "titular",
                    "start_date": "2023-12-01",
                    "sources": [{"note": "RS-002-2023-PCM"}],
                },
                {
                    "id": "membership/MINDEF/titular/2023-09-06",
                    "person_id": "person/walter-astudillo",
                    "post_id": "post/MINDEF",
                    "organization_id": "organization/MINDEF",
                    "role": "titular",
                    "start_date": "2023-09-06",
                    "sources": [{"note": "RS-001-2023-PCM"}],
                },
                {
                    "id": "membership/MINDEF/acting/2024-06-02",
                    "person_id": "person/jose-arista",
                    "post_id": "post/MINDEF",
                    "organization_id": "organization/MINDEF",
                    "role": "acting",
                    "start_date": "2024-06-02",
                    "end_date": "2024-06-04",
                    "sources": [{"note": "RS-131-2024-PCM"}],
                },
            ],
        })
    );
}

#[test]
fn the_seed_case_as_followthemoney_entities() {
    let s = with_events(SEED);
    s.publish();
    // The acting interval ended before the ledger was written (today), the titulars' last.
    assert_eq!(
        ftm(&s),
        [
            json!({"id": "actledger-position-MEF", "schema": "Position",
                   "properties": {"name": ["MEF"]}}),
            json!({"id": "actledger-position-MINDEF", "schema": "Position",
                   "properties": {"name": ["Ministerio de Defensa"]}}),
            json!({"id": "actledger-person-jose-arista", "schema": "Person",
                   "properties": {"name": ["José Arista Arbildo"]}}),
            json!({"id": "actledger-person-walter-astudillo", "schema": "Person",
                   "properties": {"name": ["Walter Astudillo"]}}),
            json!({"id": "actledger-occupancy-MEF-titular-2023-12-01", "schema": "Occupancy",
            "properties": {
                "holder": ["actledger-person-jose-arista"],
                "post": ["actledger-position-MEF"],
                "startDate": ["2023-12-01"],
                "status": ["current"],
                "description": ["Titular, on act RS-002-2023-PCM."],
            }}),
            json!({"id": "actledger-occupancy-MINDEF-titular-2023-09-06", "schema": "Occupancy",
            "properties": {
                "holder": ["actledger-person-walter-astudillo"],
                "post": ["actledger-position-MINDEF"],
                "startDate": ["2023-09-06"],
                "status": ["current"],
                "description": ["Titular, on act RS-001-2023-PCM."],
            }}),
            json!({"id": "actledger-occupancy-MINDEF-acting-2024-06-02", "schema": "Occupancy",
            "properties": {
                "holder": ["actledger-person-jose-arista"],
                "post": ["actledger-position-MINDEF"],
                "startDate": ["2024-06-02"],
                "endDate": ["2024-06-04"],
                "status": ["ended"],
                "description": [
                    "Acting (in charge by delegation), on act RS-131-2024-PCM."
                ],
            }}),
        ]
    );
}

/// A larger history: re-appointments, extended delegations, trips with and without a stand-in,
/// a leave, a departure and an unnamed person.
const HISTORY: &str = r#"
{"type":"act_issued","act":"RS-1","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}
{"type":"act_issued","act":"RS-2","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}
{"type":"act_issued","act":"RS-3","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-04-01"}
{"type":"act_issued","act":"RS-4","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-04-03"}
{"type":"act_issued","act":"RS-5","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-01"}
{"type":"act_issued","act":"RS-6","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-01"}
{"type":"appointed","act":"RS-1","person":"ana","person_name":"Pérez, \"Anita\" Ana","office":"MINSA","office_name":"Ministerio de Salud, Lima","on":"2024-01-02"}
{"type":"appointed","act":"RS-1","person":"bo","office":"MEF","on":"2024-01-02"}
{"type":"appointed","act":"RS-2","person":"ana","office":"MINSA","on":"2024-03-01"}
{"type":"trip_authorized","act":"RS-3","person":"ana","office":"MINSA","from":"2024-04-02","until":"2024-04-06"}
{"type":"duties_delegated","act":"RS-3","office":"MINSA","delegate":"bo","from":"2024-04-02","until":"2024-04-03"}
{"type":"duties_delegated","act":"RS-4","office":"MINSA","delegate":"bo","from":"2024-04-04","until":"2024-04-06"}
{"type":"trip_authorized","act":"RS-5","person":"ana","office":"MINSA","from":"2024-05-02","until":"2024-05-03"}
{"type":"leave_granted","act":"RS-5","person":"bo","office":"MEF","from":"2024-05-02","until":"2024-05-03"}
{"type":"left_office","act":"RS-6","person":"bo","office":"MEF","on":"2024-06-01"}
"#;

#[test]
fn intervals_join_across_acts_and_a_trip_is_no_interval() {
    let s = with_events(HISTORY);
    s.publish();
    // Ana sworn in again (RS-2) the day after her first tenure would end: one interval on
    // both acts. Bo's two delegations back to back: one acting interval. The trip of RS-5
    // (nobody in charge) and Bo's leave give no row; Bo's departure ends his tenure on
    // 2024-05-31. Names and office names with commas and quotes are quoted, quotes doubled.
    assert_eq!(
        read(&s, HOLDINGS_FILE),
        "office,office_name,from,until,capacity,person,name,basis\r\n\
         MEF,,2024-01-02,2024-05-31,titular,bo,,RS-1\r\n\
         MINSA,\"Ministerio de Salud, Lima\",2024-01-02,,titular,ana,\"Pérez, \"\"Anita\"\" Ana\",RS-1;RS-2\r\n\
         MINSA,\"Ministerio de Salud, Lima\",2024-04-02,2024-04-06,acting,bo,,RS-3;RS-4\r\n"
    );
    let popolo: Value = serde_json::from_str(&read(&s, POPOLO_FILE)).unwrap();
    assert_eq!(
        popolo["persons"],
        json!([
            {"id": "person/ana", "name": "Pérez, \"Anita\" Ana"},
            {"id": "person/bo", "name": "bo"},
        ]),
        "an unnamed person is named by their id"
    );
    assert_eq!(
        popolo["memberships"][2]["sources"],
        json!([{"note": "RS-3"}, {"note": "RS-4"}])
    );
    let entities = ftm(&s);
    let bo = entities
        .iter()
        .find(|e| e["id"] == "actledger-occupancy-MEF-titular-2024-01-02")
        .unwrap();
    assert_eq!(bo["properties"]["endDate"], json!(["2024-05-31"]));
    assert_eq!(bo["properties"]["status"], json!(["ended"]));
    let acting = entities
        .iter()
        .find(|e| e["id"] == "actledger-occupancy-MINSA-acting-2024-04-02")
        .unwrap();
    assert_eq!(
        acting["properties"]["description"],
        json!(["Acting (in charge by delegation), on acts RS-3, RS-4."])
    );
}

/// Every entity is one object of the FtM shape, ids are unique, and every `holder` and `post`
/// names an entity of the file, of the right schema.
fn check_references(entities: &[Value]) {
    let mut ids = HashSet::new();
    let mut schemas = std::collections::HashMap::new();
    for entity in entities {
        let id = entity["id"].as_str().unwrap();
        assert!(ids.insert(id), "{id} twice");
        schemas.insert(id, entity["schema"].as_str().unwrap());
        for (_, values) in entity["properties"].as_object().unwrap() {
            assert!(values.as_array().unwrap().iter().all(Value::is_string));
        }
    }
    for entity in entities.iter().filter(|e| e["schema"] == "Occupancy") {
        for (property, schema) in [("holder", "Person"), ("post", "Position")] {
            let [target] = entity["properties"][property]
                .as_array()
                .unwrap()
                .as_slice()
            else {
                panic!("{entity}: one {property}");
            };
            assert_eq!(
                schemas.get(target.as_str().unwrap()),
                Some(&schema),
                "{entity}: {property}"
            );
        }
    }
}

#[test]
fn followthemoney_entities_reference_each_other() {
    for events in [SEED, HISTORY] {
        let s = with_events(events);
        s.publish();
        let entities = ftm(&s);
        check_references(&entities);
        let occupancies = entities.iter().filter(|e| e["schema"] == "Occupancy");
        let rows = read(&s, HOLDINGS_FILE).lines().count() - 1;
        assert_eq!(occupancies.count(), rows, "one occupancy per interval");
    }
}

#[test]
fn publishing_again_writes_no_data_file_and_a_change_rewrites_them() {
    let mut s = with_events(SEED);
    let first = s.publish();
    for name in DATA_FILES {
        assert!(first.written.iter().any(|w| w == name), "{name}");
    }
    let before = snapshot(&s.mirror());
    assert!(s.publish().written.is_empty());
    assert_eq!(snapshot(&s.mirror()), before);
    // A departure changes every file; an act alone changes none.
    s.ledger
        .append(parse_batch(
            br#"{"type":"left_office","act":"RS-131-2024-PCM","person":"jose-arista","office":"MEF","on":"2024-07-01"}"#,
        ).unwrap())
        .unwrap();
    let published = s.publish();
    for name in DATA_FILES {
        assert!(published.written.iter().any(|w| w == name), "{name}");
    }
    s.grow_to(s.ledger.head().count + 1);
    let published = s.publish();
    assert!(
        DATA_FILES
            .iter()
            .all(|name| !published.written.iter().any(|w| w == name)),
        "{:?}",
        published.written
    );
}

/// The data files of a ledger with nothing held: a header, empty lists, no entity.
#[test]
fn an_empty_ledger_has_empty_data_files() {
    let s = Sandbox::new();
    s.publish();
    assert_eq!(
        read(&s, HOLDINGS_FILE),
        "office,office_name,from,until,capacity,person,name,basis\r\n"
    );
    let popolo: Value = serde_json::from_str(&read(&s, POPOLO_FILE)).unwrap();
    assert_eq!(
        popolo,
        json!({"persons": [], "organizations": [], "posts": [], "memberships": []})
    );
    assert_eq!(read(&s, FTM_FILE), "");
}

/// When Python's `followthemoney` is importable, it reads `ftm.ndjson` back: every entity a
/// valid proxy of its schema, every reference resolved. Skipped otherwise (no network needed).
#[test]
fn followthemoney_reads_the_entities_back_when_it_is_installed() {
    let s = with_events(HISTORY);
    s.publish();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mirror/ftm_check.py");
    let run = std::process::Command::new("python3")
        .arg(script)
        .arg(s.mirror().join(FTM_FILE))
        .output();
    let Ok(run) = run else {
        eprintln!("skipped: no python3");
        return;
    };
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    if run.status.code() == Some(77) {
        eprintln!("skipped: {}", stdout.trim());
        return;
    }
    assert!(run.status.success(), "{stdout}{stderr}");
    eprintln!("{}", stdout.trim());
}
