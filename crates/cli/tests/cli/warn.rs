//! Clerks are warned: an id never recorded that is close to a known one, and an anomaly the
//! batch adds, on stderr, exit 0; `--strict` refuses such a batch, exit 1, nothing written.

use predicates::str::contains;

use crate::{Sandbox, stdout_of};

const TYPO_TRIP: [&str; 12] = [
    "append",
    "trip",
    "--act",
    "RS-200-2024-PCM",
    "--person",
    "walter-astudillo",
    "--office",
    "MINDFE",
    "--from",
    "2024-07-10",
    "--until",
    "2024-07-12",
];

fn with_act() -> Sandbox {
    let s = Sandbox::seeded();
    s.run(&[
        "append",
        "act",
        "--act",
        "RS-200-2024-PCM",
        "--kind",
        "resolucion_suprema",
        "--issuer",
        "PCM",
        "--issued-on",
        "2024-07-01",
    ])
    .success()
    .stderr("");
    s
}

fn head(s: &Sandbox) -> String {
    stdout_of(&s.run(&["head"]).success())
}

#[test]
fn a_typo_in_an_office_is_recorded_with_a_warning() {
    let s = with_act();
    let recorded = s.run(&TYPO_TRIP).success();
    let said = String::from_utf8_lossy(&recorded.get_output().stderr).into_owned();
    assert!(
        said.contains(
            "warning: line 1: office \"MINDFE\" was never recorded; did you mean MINDEF?"
        ),
        "{said}"
    );
    assert!(
        said.contains("warning: the batch adds an anomaly (trip_without_holding)"),
        "{said}"
    );
    assert!(stdout_of(&recorded).starts_with("line 1: recorded at 9"));
}

#[test]
fn strict_refuses_a_batch_with_warnings_and_writes_nothing() {
    let s = with_act();
    let before = head(&s);
    let mut args = TYPO_TRIP.to_vec();
    args.push("--strict");
    s.run(&args)
        .code(1)
        .stdout("")
        .stderr(contains("office \"MINDFE\" was never recorded"))
        .stderr(contains(
            "error: the batch has 2 warnings (--strict refuses it): nothing was written",
        ));
    assert_eq!(head(&s), before, "nothing was written");
    // The same trip on the right office still leaves it unattended: warned of, refused.
    let mut right = args.clone();
    right[7] = "MINDEF";
    s.run(&right)
        .code(1)
        .stderr(contains("anomaly (unattended_office)"));
    assert_eq!(head(&s), before, "nothing was written");
    // A batch with nothing to warn of is recorded.
    s.run(&[
        "append",
        "--strict",
        "act",
        "--act",
        "RS-201-2024-PCM",
        "--kind",
        "ley",
        "--issuer",
        "PCM",
        "--issued-on",
        "2024-07-02",
    ])
    .success()
    .stderr("");
}

#[test]
fn a_person_close_by_spelling_or_by_name_is_warned_of() {
    let s = with_act();
    s.run(&[
        "append", "appointed", "--act", "RS-200-2024-PCM", "--person", "w-astudillo",
        "--person-name", "walter astudillo", "--office", "MEF", "--on", "2024-08-01",
    ])
    .success()
    .stderr(contains(
        "warning: line 1: person \"w-astudillo\" was never recorded; did you mean walter-astudillo?",
    ));
}

#[test]
fn json_appends_carry_their_warnings() {
    let s = with_act();
    let file = s.write(
        "typo.ndjson",
        r#"{"type":"trip_authorized","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDFE","from":"2024-07-10","until":"2024-07-12"}"#,
    );
    let text = stdout_of(
        &s.run(&["append", "--json", file.to_str().unwrap()])
            .success(),
    );
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let warnings = answer["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{answer}");
    assert_eq!(warnings[0]["kind"], "close_id");
    assert_eq!(warnings[0]["known"], serde_json::json!(["MINDEF"]));
    assert_eq!(warnings[1]["kind"], "anomaly");
    assert_eq!(warnings[1]["anomaly"]["kind"], "trip_without_holding");
}
