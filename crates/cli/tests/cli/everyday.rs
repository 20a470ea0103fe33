//! Everyday use: "no record" is not "vacant", the open vacancy at the end of a history,
//! `offices`, suggestions by id and name, `--as-of` on history, audit and show, `--on`
//! defaulting to today, and `audit --check`.

use predicates::prelude::*;
use predicates::str::contains;

use super::{Sandbox, stdout_of};

fn json(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_str(&stdout_of(assert)).unwrap()
}

/// The seed case, then Walter Astudillo leaves MINDEF on 2024-07-01 and nobody follows.
fn left() -> Sandbox {
    let s = Sandbox::seeded();
    s.run(&[
        "append",
        "left",
        "--act",
        "RS-001-2023-PCM",
        "--person",
        "walter-astudillo",
        "--office",
        "MINDEF",
        "--on",
        "2024-07-01",
    ])
    .success();
    s
}

#[test]
fn who_held_before_the_record_starts_is_no_record_and_vacant_after_it() {
    let s = left();
    s.run(&["who-held", "MINDEF", "--on", "1900-01-01"])
        .success()
        .stderr("")
        .stdout("MINDEF on 1900-01-01: no record (the ledger's record of MINDEF starts on 2023-09-06)\n");
    let value = json(
        &s.run(&["who-held", "MINDEF", "--on", "1900-01-01", "--json"])
            .success(),
    );
    assert_eq!(
        value,
        serde_json::json!({"office": "MINDEF", "on": "1900-01-01", "as_of": 8, "on_record": false,
            "record_starts": "2023-09-06", "holder": null, "titular": null})
    );
    // After the last titular left: vacant, on record.
    s.run(&["who-held", "MINDEF", "--on", "2030-01-01"])
        .success()
        .stderr("")
        .stdout("MINDEF on 2030-01-01: vacant\n");
    let value = json(
        &s.run(&["who-held", "MINDEF", "--on", "2030-01-01", "--json"])
            .success(),
    );
    assert_eq!(value["on_record"], true);
    assert_eq!(value["record_starts"], serde_json::Value::Null);
    // As of a point before the office was known: no record, and no day it starts.
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03", "--as-of", "1"])
        .success()
        .stderr("")
        .stdout(
            "MINDEF on 2024-06-03: no record (the ledger had no record of MINDEF as of entry 1)\n",
        );
    // `state` says the same, office by office.
    s.run(&["state", "--on", "2023-10-01"])
        .success()
        .stderr("")
        .stdout(
            "OFFICE  HOLDER            CAPACITY  BASIS            TITULAR\n\
         MEF     (no record)\n\
         MINDEF  Walter Astudillo  titular   RS-001-2023-PCM  Walter Astudillo\n",
        );
    let value = json(&s.run(&["state", "--on", "2023-10-01", "--json"]).success());
    assert_eq!(value["offices"][0]["on_record"], false);
    assert_eq!(value["offices"][0]["record_starts"], "2023-12-01");
    assert_eq!(value["offices"][1]["on_record"], true);
    // An office unknown at the head stays an error.
    s.run(&["who-held", "MINJUS", "--on", "2024-06-03"])
        .code(1)
        .stdout("")
        .stderr("error: unknown office \"MINJUS\"\n");
}

#[test]
fn history_ends_with_the_open_vacancy_and_takes_as_of() {
    let s = left();
    s.run(&["history", "MINDEF"]).success().stderr("").stdout(
        "FROM        UNTIL       CAPACITY  WHO                  BASIS\n\
         2023-09-06  2024-06-30  titular   Walter Astudillo     RS-001-2023-PCM\n\
         2024-06-02  2024-06-04  acting    José Arista Arbildo  RS-131-2024-PCM\n\
         2024-07-01  -           vacant\n",
    );
    let value = json(&s.run(&["history", "MINDEF", "--json"]).success());
    let last = value["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        serde_json::json!({"capacity": "vacant", "person": null, "name": null, "from": "2024-07-01",
            "until": null, "basis": [], "events": []})
    );
    // As of 6, before the delegation and the departure were recorded.
    s.run(&["history", "MINDEF", "--as-of", "6"])
        .success()
        .stderr("")
        .stdout(
            "FROM        UNTIL  CAPACITY  WHO               BASIS\n\
         2023-09-06  -      titular   Walter Astudillo  RS-001-2023-PCM\n",
        );
    assert_eq!(
        json(
            &s.run(&["history", "MINDEF", "--as-of", "6", "--json"])
                .success()
        )["as_of"],
        6
    );
    s.run(&["history", "MINDEF", "--as-of", "9"])
        .code(1)
        .stdout("")
        .stderr("error: as of 9: the ledger holds positions 1 to 8\n");
}

#[test]
fn offices_lists_ids_names_and_days_and_finds_by_name_without_accents() {
    let s = left();
    s.run(&["offices"]).success().stderr("").stdout(
        "OFFICE  FIRST       LAST        NAME\n\
         MEF     2023-12-01  2023-12-01\n\
         MINDEF  2023-09-06  2024-07-01  Ministerio de Defensa\n",
    );
    for query in ["defensa", "DEFENSÁ", "Ministerio de Defensa", "mindef"] {
        s.run(&["offices", query]).success().stderr("").stdout(
            "OFFICE  FIRST       LAST        NAME\n\
             MINDEF  2023-09-06  2024-07-01  Ministerio de Defensa\n",
        );
    }
    s.run(&["offices", "salud"])
        .success()
        .stderr("")
        .stdout("no office matches\n");
    let value = json(&s.run(&["offices", "défensa", "--json"]).success());
    assert_eq!(
        value,
        serde_json::json!({"as_of": 8, "offices": [{"office": "MINDEF", "name": "Ministerio de Defensa",
            "first_day": "2023-09-06", "last_day": "2024-07-01"}]})
    );
    let value = json(&s.run(&["offices", "--as-of", "1", "--json"]).success());
    assert_eq!(value, serde_json::json!({"as_of": 1, "offices": []}));
}

#[test]
fn an_unknown_office_is_suggested_by_name_and_by_part_of_its_id() {
    let s = Sandbox::seeded();
    for asked in [
        "Ministerio de Defensa",
        "ministerio de defensa",
        "PE-MINDEF",
        "mindef",
    ] {
        s.run(&["who-held", asked, "--on", "2024-06-03"])
            .code(1)
            .stdout("")
            .stderr(format!(
                "error: unknown office {asked:?} (did you mean MINDEF?)\n"
            ));
    }
    s.run(&["history", "Ministerio de Defensa"])
        .code(1)
        .stdout("")
        .stderr("error: unknown office \"Ministerio de Defensa\" (did you mean MINDEF?)\n");
    // A ledger whose ids carry a prefix: the bare id finds it.
    let p = Sandbox::new();
    p.run(&["init"]).success();
    p.cmd()
        .args(["append", "-"])
        .write_stdin(super::SEED.replace("\"MINDEF\"", "\"PE-MINDEF\""))
        .assert()
        .success();
    p.run(&["who-held", "MINDEF", "--on", "2024-06-03"])
        .code(1)
        .stdout("")
        .stderr("error: unknown office \"MINDEF\" (did you mean PE-MINDEF?)\n");
    p.run(&["who-held", "defensa", "--on", "2024-06-03"])
        .code(1)
        .stderr(contains("did you mean PE-MINDEF?"));
}

#[test]
fn show_and_audit_take_as_of() {
    let s = Sandbox::seeded();
    let value = json(
        &s.run(&["show", "RS-131-2024-PCM", "--as-of", "6", "--json"])
            .success(),
    );
    let seqs: Vec<u64> = value["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [5, 6]);
    s.run(&["show", "RS-131-2024-PCM", "--as-of", "4"])
        .code(1)
        .stdout("")
        .stderr("error: unknown act \"RS-131-2024-PCM\": no recorded event names it\n");
    s.run(&["show", "RS-131-2024-PCM", "--as-of", "6"])
        .success()
        .stderr("")
        .stdout(contains("act RS-131-2024-PCM\n").and(contains("duties_delegated").not()));
    // As of 6, the trip had nobody in charge: an anomaly the delegation (7) then settled.
    let early = s.run(&["audit", "--as-of", "6"]).success().stderr("");
    assert!(
        stdout_of(&early).contains("unattended_office  MINDEF  2024-06-02  2024-06-04"),
        "{}",
        stdout_of(&early)
    );
    s.run(&["audit", "--as-of", "7"])
        .success()
        .stdout("no anomalies\n");
}

#[test]
fn audit_check_exits_1_on_anomalies_and_still_prints_them() {
    let s = Sandbox::seeded();
    s.run(&["audit", "--check"])
        .code(0)
        .stderr("")
        .stdout("no anomalies\n");
    let found = s
        .run(&["audit", "--check", "--as-of", "6"])
        .code(1)
        .stderr("");
    assert!(stdout_of(&found).contains("unattended_office"));
    s.run(&["audit", "--check", "--as-of", "6", "--json"])
        .code(1)
        .stderr("")
        .stdout(contains("\"kind\":\"unattended_office\""));
    s.run(&["audit", "--check", "--json"])
        .code(0)
        .stdout("{\"anomalies\":[]}\n");
}

#[test]
fn on_defaults_to_today_in_utc() {
    let s = Sandbox::seeded();
    let today = chrono::Utc::now().date_naive().to_string();
    let value = json(
        &s.run(&["who-held", "MINDEF", "--json"])
            .success()
            .stderr(""),
    );
    // Around midnight the day may turn between the two readings.
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let on = value["on"].as_str().unwrap();
    assert!(on == today || on == tomorrow, "{on}");
    assert_eq!(value["holder"]["person"], "walter-astudillo");
    let value = json(&s.run(&["state", "--json"]).success().stderr(""));
    let on = value["on"].as_str().unwrap();
    assert!(on == today || on == tomorrow, "{on}");
}
