//! Leaves (`leave_granted`), recorded with `append leave` and named as leaves in every
//! output: the who-held sentence and its JSON (`titular.absence`, `titular.absence_act`;
//! `trip_act` stays for trips), the `state` and `history` tables, `show`, `log` and `audit`.

use predicates::str::contains;

use crate::{Sandbox, stdout_of};

/// The seed case, then: RS-169 grants Walter Astudillo a leave from MINDEF and puts José
/// Arista in charge for as long as it lasts (no `until`, positions 8 to 10); RS-170 grants
/// José Arista a leave from MEF with nobody in charge (11, 12), and a leave from MEF to
/// Walter Astudillo, who does not hold it (13).
fn with_leaves() -> Sandbox {
    let s = Sandbox::seeded();
    let act = |id: &str, on: &str| {
        s.run(&[
            "append",
            "act",
            "--act",
            id,
            "--kind",
            "resolucion_suprema",
            "--issuer",
            "PCM",
            "--issued-on",
            on,
        ])
        .success()
        .stderr("");
    };
    act("RS-169-2024-PCM", "2024-06-19");
    let leave = s
        .run(&[
            "append",
            "leave",
            "--act",
            "RS-169-2024-PCM",
            "--person",
            "walter-astudillo",
            "--office",
            "MINDEF",
            "--from",
            "2024-06-20",
            "--until",
            "2024-06-24",
            "--reason",
            "licencia por salud",
        ])
        .success()
        .stdout(contains("line 1: recorded at 9, hash "));
    // Until someone is put in charge, the office is unattended, and the clerk is told.
    let said = String::from_utf8_lossy(&leave.get_output().stderr).into_owned();
    assert!(
        said.contains("warning: the batch adds an anomaly (unattended_office)"),
        "{said}"
    );
    s.run(&[
        "append",
        "delegated",
        "--act",
        "RS-169-2024-PCM",
        "--office",
        "MINDEF",
        "--delegate",
        "jose-arista",
        "--delegate-office",
        "MEF",
        "--from",
        "2024-06-20",
    ])
    .success()
    .stderr("")
    .stdout(contains("line 1: recorded at 10, hash "));
    act("RS-170-2024-PCM", "2024-06-30");
    s.run(&[
        "append",
        "leave-granted",
        "--act",
        "RS-170-2024-PCM",
        "--person",
        "jose-arista",
        "--office",
        "MEF",
        "--from",
        "2024-07-01",
        "--until",
        "2024-07-02",
    ])
    .success()
    .stdout(contains("line 1: recorded at 12, hash "));
    let stray = s
        .run(&[
            "append",
            "leave",
            "--act",
            "RS-170-2024-PCM",
            "--person",
            "walter-astudillo",
            "--office",
            "MEF",
            "--from",
            "2024-07-10",
            "--until",
            "2024-07-10",
        ])
        .success();
    let said = String::from_utf8_lossy(&stray.get_output().stderr).into_owned();
    assert!(
        said.contains(
            "warning: the batch adds an anomaly (leave_without_holding): walter-astudillo is granted leave as titular of MEF but does not hold it on 2024-07-10"
        ),
        "{said}"
    );
    s
}

#[test]
fn who_held_names_the_leave_in_its_sentence() {
    let s = with_leaves();
    s.run(&["who-held", "MINDEF", "--on", "2024-06-22"])
        .success()
        .stderr("")
        .stdout("MINDEF on 2024-06-22: José Arista Arbildo, acting (RS-169-2024-PCM); titular Walter Astudillo away (leave, RS-169-2024-PCM)\n");
    // The delegation without `until` ends with the leave.
    s.run(&["who-held", "MINDEF", "--on", "2024-06-25"])
        .success()
        .stdout("MINDEF on 2024-06-25: Walter Astudillo, titular (RS-001-2023-PCM)\n");
    s.run(&["who-held", "MEF", "--on", "2024-07-01"])
        .success()
        .stdout("MEF on 2024-07-01: José Arista Arbildo, titular (RS-002-2023-PCM); away (leave, RS-170-2024-PCM) with nobody in charge\n");
    // A trip is still a trip.
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03"])
        .success()
        .stdout("MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n");
}

#[test]
fn who_held_json_says_absence_and_absence_act_and_keeps_trip_act_for_trips() {
    let s = with_leaves();
    let titular = |day: &str| {
        let json = s
            .run(&["who-held", "MINDEF", "--on", day, "--json"])
            .success();
        let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
        value["titular"].clone()
    };
    assert_eq!(
        titular("2024-06-22"),
        serde_json::json!({
            "person": "walter-astudillo", "name": "Walter Astudillo", "absent": true,
            "trip_act": null, "absence": "leave", "absence_act": "RS-169-2024-PCM"
        })
    );
    assert_eq!(
        titular("2024-06-03"),
        serde_json::json!({
            "person": "walter-astudillo", "name": "Walter Astudillo", "absent": true,
            "trip_act": "RS-131-2024-PCM", "absence": "trip", "absence_act": "RS-131-2024-PCM"
        })
    );
    assert_eq!(
        titular("2024-06-25"),
        serde_json::json!({
            "person": "walter-astudillo", "name": "Walter Astudillo", "absent": false,
            "trip_act": null, "absence": null, "absence_act": null
        })
    );
    // As of position 9, before the delegation: on leave with nobody in charge.
    let json = s
        .run(&[
            "who-held",
            "MINDEF",
            "--on",
            "2024-06-22",
            "--as-of",
            "9",
            "--json",
        ])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["holder"]["capacity"], "titular");
    assert_eq!(value["titular"]["absence"], "leave");
    assert_eq!(value["titular"]["trip_act"], serde_json::Value::Null);
}

#[test]
fn state_and_history_tables_show_the_leave() {
    let s = with_leaves();
    s.run(&["state", "--on", "2024-06-22"]).success().stdout(
        "OFFICE  HOLDER               CAPACITY  BASIS            TITULAR
MEF     José Arista Arbildo  titular   RS-002-2023-PCM  José Arista Arbildo
MINDEF  José Arista Arbildo  acting    RS-169-2024-PCM  Walter Astudillo, away (leave, RS-169-2024-PCM)
",
    );
    let json = s.run(&["state", "--on", "2024-07-01", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["offices"][0]["office"], "MEF");
    assert_eq!(value["offices"][0]["titular"]["absence"], "leave");
    assert_eq!(
        value["offices"][0]["titular"]["absence_act"],
        "RS-170-2024-PCM"
    );
    s.run(&["history", "MINDEF"]).success().stdout(
        "FROM        UNTIL       CAPACITY  WHO                  BASIS
2023-09-06  -           titular   Walter Astudillo     RS-001-2023-PCM
2024-06-02  2024-06-04  acting    José Arista Arbildo  RS-131-2024-PCM
2024-06-20  2024-06-24  acting    José Arista Arbildo  RS-169-2024-PCM
",
    );
}

#[test]
fn show_and_log_say_on_leave() {
    let s = with_leaves();
    s.run(&["show", "RS-169-2024-PCM"]).success().stdout(
        "act RS-169-2024-PCM
SEQ  TYPE              STATUS    WHAT
8    act_issued        in force  resolucion_suprema RS-169-2024-PCM issued by PCM on 2024-06-19
9    leave_granted     in force  walter-astudillo of MINDEF on leave 2024-06-20..2024-06-24, licencia por salud (RS-169-2024-PCM)
10   duties_delegated  in force  jose-arista in charge of MINDEF from 2024-06-20 for the absence (RS-169-2024-PCM)
",
    );
    let json = s.run(&["show", "RS-169-2024-PCM", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(
        value["events"][1]["event"],
        serde_json::json!({
            "type": "leave_granted", "act": "RS-169-2024-PCM", "person": "walter-astudillo",
            "office": "MINDEF", "from": "2024-06-20", "until": "2024-06-24",
            "reason": "licencia por salud"
        })
    );
    s.run(&["log", "--from", "12", "--limit", "1"])
        .success()
        .stdout(contains("leave_granted  "))
        .stdout(contains(
            "jose-arista of MEF on leave 2024-07-01..2024-07-02 (RS-170-2024-PCM)",
        ));
}

#[test]
fn audit_reports_the_leaves_anomalies() {
    let s = with_leaves();
    let json = s.run(&["audit", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    let anomalies: Vec<(String, String, Vec<u64>)> = value["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                format!("{} {}..{}", a["office"], a["from"], a["until"]),
                a["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        anomalies,
        [
            (
                "unattended_office".to_owned(),
                r#""MEF" "2024-07-01".."2024-07-02""#.to_owned(),
                vec![12]
            ),
            (
                "leave_without_holding".to_owned(),
                r#""MEF" "2024-07-10".."2024-07-10""#.to_owned(),
                vec![13]
            ),
        ]
    );
    s.run(&["audit"])
        .success()
        .stdout(contains("leave_without_holding"))
        .stdout(contains(
            "walter-astudillo is granted leave as titular of MEF but does not hold it on 2024-07-10",
        ));
    s.run(&["audit", "--check"]).code(1);
}
