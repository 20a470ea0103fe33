//! The command line as a user meets it: stdout, stderr and the exit code, together.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

mod answers;
mod bad_input;
mod clone;
mod derived;
mod docs;
mod everyday;
mod leave;
mod monitor;
mod proofs;
mod publish;
mod readme;
mod serve;
mod sharing;
mod shell;
mod typed;
mod warn;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

const SEED: &str = include_str!("../../data/seed.ndjson");

#[derive(Debug)]
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger.db")
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("actledger").unwrap();
        cmd.current_dir(self.dir.path())
            .env("ACTLEDGER_LEDGER", self.ledger())
            .env_remove("COLUMNS");
        cmd
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().args(args).assert()
    }

    fn seeded() -> Sandbox {
        let s = Sandbox::new();
        s.run(&["init"]).success();
        s.cmd()
            .args(["append", "-"])
            .write_stdin(SEED)
            .assert()
            .success();
        s
    }

    fn head(&self) -> String {
        let out = self
            .run(&["head", "--json"])
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn init_creates_once() {
    let s = Sandbox::new();
    s.run(&["init"])
        .success()
        .stdout(contains("created an empty ledger at"))
        .stderr("");
    s.run(&["init"])
        .code(1)
        .stderr(contains("error:"))
        .stdout("");
    s.run(&["verify"])
        .success()
        .stdout(contains("intact: 0 entries"));
}

#[test]
fn a_missing_ledger_says_how_to_create_one() {
    let s = Sandbox::new();
    for args in [
        vec!["who-held", "MINDEF", "--on", "2024-06-03"],
        vec!["head"],
        vec!["verify"],
        vec!["append", "-"],
    ] {
        s.cmd()
            .args(&args)
            .write_stdin(SEED)
            .assert()
            .code(1)
            .stdout("")
            .stderr(contains("no ledger at").and(contains("init")));
    }
    assert!(!s.ledger().exists(), "opening must never create a ledger");
}

#[test]
fn append_reports_positions_and_duplicates() {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let file = s.write("seed.ndjson", SEED);
    let first = s
        .run(&["append", file.to_str().unwrap()])
        .success()
        .stderr("");
    let text = stdout_of(&first);
    assert_eq!(
        text.lines().count(),
        8,
        "a line per event, then the summary"
    );
    assert!(text.starts_with("line 1: recorded at 1, hash "), "{text}");
    assert!(text.contains("line 7: recorded at 7, hash "), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("7 events recorded, 0 already recorded; head 7 "),
        "{text}"
    );
    s.run(&["append", file.to_str().unwrap()])
        .success()
        .stdout(contains("line 3: already recorded at 3"));
    let json = s
        .cmd()
        .args(["append", "--json", "-"])
        .write_stdin(SEED.lines().next().unwrap())
        .assert()
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["events"][0]["status"], "already_recorded");
    assert_eq!(value["events"][0]["seq"], 1);
    assert_eq!(value["head"]["count"], 7);
}

#[test]
fn a_bad_batch_names_line_and_field_and_writes_nothing() {
    let s = Sandbox::seeded();
    let before = s.head();
    let batch = format!(
        "{}\n{}\n{}\n",
        r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
        r#"{"type":"trip_authorized","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-07-02","until":"2024-07-04"}"#,
        r#"{"type":"trip_authorized","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-02-01","until":"2024-02-30"}"#,
    );
    s.cmd()
        .args(["append", "-"])
        .write_stdin(batch)
        .assert()
        .code(1)
        .stdout("")
        .stderr("error: line 3: field \"until\": \"2024-02-30\" is not a date\n");
    assert_eq!(s.head(), before);
    s.cmd()
        .args(["append", "-"])
        .write_stdin(
            r#"{"type":"appointed","act":"NOPE","person":"x","office":"MINDEF","on":"2024-01-01"}"#,
        )
        .assert()
        .code(1)
        .stderr(contains(
            "line 1: field \"act\": act \"NOPE\" was never issued",
        ));
    s.cmd()
        .args(["append", "-"])
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(contains("no event"));
    assert_eq!(s.head(), before);
}

#[test]
fn typed_append_takes_the_same_path() {
    let s = Sandbox::seeded();
    s.run(&[
        "append",
        "act",
        "--act",
        "RS-140-2024-PCM",
        "--kind",
        "resolucion_suprema",
        "--issuer",
        "PCM",
        "--issued-on",
        "2024-06-10",
    ])
    .success()
    .stdout(contains("line 1: recorded at 8"));
    s.run(&[
        "append",
        "trip",
        "--act",
        "RS-140-2024-PCM",
        "--person",
        "walter-astudillo",
        "--office",
        "MINDEF",
        "--from",
        "2024-06-12",
        "--until",
        "2024-06-13",
        "--destination",
        "Lima",
    ])
    .success()
    .stdout(contains("recorded at 9"));
    s.run(&[
        "append",
        "trip",
        "--act",
        "RS-140-2024-PCM",
        "--person",
        "walter-astudillo",
        "--office",
        "MINDEF",
        "--from",
        "2024-06-14",
        "--until",
        "2024-06-13",
    ])
    .code(1)
    .stderr(contains("field \"until\""));
    s.run(&["who-held", "MINDEF", "--on", "2024-06-12"])
        .success()
        .stdout("MINDEF on 2024-06-12: Walter Astudillo, titular (RS-001-2023-PCM); away (trip, RS-140-2024-PCM) with nobody in charge\n");
    s.run(&[
        "append",
        "retracted",
        "--seq",
        "9",
        "--reason",
        "wrong days",
    ])
    .success();
    s.run(&["who-held", "MINDEF", "--on", "2024-06-12"])
        .success()
        .stdout("MINDEF on 2024-06-12: Walter Astudillo, titular (RS-001-2023-PCM)\n");
}

#[test]
fn who_held_answers_the_seed_case() {
    let s = Sandbox::seeded();
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03"]).success().stderr("").stdout(
        "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n",
    );
    s.run(&["who-held", "MINDEF", "--on", "2024-06-05"])
        .success()
        .stdout("MINDEF on 2024-06-05: Walter Astudillo, titular (RS-001-2023-PCM)\n");
    let json = s
        .run(&["who-held", "MINDEF", "--on", "2024-06-03", "--json"])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "office": "MINDEF", "on": "2024-06-03", "as_of": 7, "on_record": true, "record_starts": null,
            "holder": {"person": "jose-arista", "name": "José Arista Arbildo", "capacity": "acting", "basis": ["RS-131-2024-PCM"]},
            "titular": {"person": "walter-astudillo", "name": "Walter Astudillo", "absent": true, "trip_act": "RS-131-2024-PCM", "absence": "trip", "absence_act": "RS-131-2024-PCM"}
        })
    );
    // As of entry 6 the delegation was not recorded yet.
    let json = s
        .run(&[
            "who-held",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--as-of",
            "6",
            "--json",
        ])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["as_of"], 6);
    assert_eq!(value["holder"]["capacity"], "titular");
    assert_eq!(value["titular"]["absent"], true);
    // No record before the ledger's first event about it: not vacant.
    let json = s
        .run(&["who-held", "MINDEF", "--on", "2020-01-01", "--json"])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["holder"], serde_json::Value::Null);
    assert_eq!(value["titular"], serde_json::Value::Null);
    assert_eq!(value["on_record"], false);
    s.run(&["who-held", "MINDEF", "--on", "2020-01-01"])
        .success()
        .stderr("")
        .stdout("MINDEF on 2020-01-01: no record (the ledger's record of MINDEF starts on 2023-09-06)\n");
}

#[test]
fn who_held_errors() {
    let s = Sandbox::seeded();
    s.run(&["who-held", "MINDEFF", "--on", "2024-06-03"])
        .code(1)
        .stdout("")
        .stderr(contains("unknown office").and(contains("MINDEF")));
    s.run(&["who-held", "mindef", "--on", "2024-06-03"])
        .code(1)
        .stderr(contains("did you mean MINDEF"));
    s.run(&["who-held", "MINDEF", "--on", "03/06/2024"])
        .code(2)
        .stderr(contains("YYYY-MM-DD"));
    s.run(&["who-held", "MINDEF", "--on", "2024-02-30"]).code(2);
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03", "--as-of", "0"])
        .code(1)
        .stderr(contains("as of 0"));
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03", "--as-of", "8"])
        .code(1)
        .stderr(contains("1 to 7"));
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--as-of",
        "2000-01-01T00:00:00Z",
    ])
    .code(1)
    .stderr(contains("first entry"));
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--as-of",
        "yesterday",
    ])
    .code(2);
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--as-of",
        "2999-01-01T00:00:00+02:00",
        "--json",
    ])
    .success()
    .stdout(contains("\"as_of\":7"));
    s.run(&["frobnicate"]).code(2);
}

#[test]
fn state_history_show_log_audit() {
    let s = Sandbox::seeded();
    s.run(&["state", "--on", "2024-06-03"]).success().stdout(
        "OFFICE  HOLDER               CAPACITY  BASIS            TITULAR\n\
         MEF     José Arista Arbildo  titular   RS-002-2023-PCM  José Arista Arbildo\n\
         MINDEF  José Arista Arbildo  acting    RS-131-2024-PCM  Walter Astudillo, away (RS-131-2024-PCM)\n",
    );
    let json = s.run(&["state", "--on", "2024-06-03", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["offices"].as_array().unwrap().len(), 2);
    assert_eq!(value["offices"][1]["holder"]["person"], "jose-arista");

    s.run(&["history", "MINDEF"]).success().stdout(
        "FROM        UNTIL       CAPACITY  WHO                  BASIS\n\
         2023-09-06  -           titular   Walter Astudillo     RS-001-2023-PCM\n\
         2024-06-02  2024-06-04  acting    José Arista Arbildo  RS-131-2024-PCM\n",
    );
    s.run(&["history", "MINDEFF"])
        .code(1)
        .stderr(contains("did you mean MINDEF"));

    s.run(&["show", "RS-131-2024-PCM"])
        .success()
        .stdout(contains("trip_authorized").and(contains("in force")));
    let json = s.run(&["show", "RS-131-2024-PCM", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["events"].as_array().unwrap().len(), 3);
    s.run(&["show", "RS-999"])
        .code(1)
        .stderr(contains("unknown act"));

    let log = s.run(&["log", "--from", "5", "--limit", "2"]).success();
    let text = stdout_of(&log);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("5 "), "{text}");
    let log = s.run(&["log", "--json"]).success();
    assert_eq!(stdout_of(&log).lines().count(), 7);

    s.run(&["audit"]).success().stdout("no anomalies\n");
    s.run(&["audit", "--json"])
        .success()
        .stdout("{\"anomalies\":[]}\n");
}

#[test]
fn audit_reports_an_unattended_office() {
    let s = Sandbox::seeded();
    s.cmd()
        .args(["append", "-"])
        .write_stdin(concat!(
            r#"{"type":"act_issued","act":"RS-150-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
            "\n",
            r#"{"type":"trip_authorized","act":"RS-150-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-07-02","until":"2024-07-03"}"#,
        ))
        .assert()
        .success();
    let json = s.run(&["audit", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    let found = &value["anomalies"][0];
    assert_eq!(found["kind"], "unattended_office");
    assert_eq!(found["office"], "MINDEF");
    assert_eq!(found["from"], "2024-07-02");
    assert_eq!(found["until"], "2024-07-03");
    assert_eq!(found["events"], serde_json::json!([9]));
    s.run(&["audit"])
        .success()
        .stdout(contains("unattended_office  MINDEF"));
}

/// `export FILE` writes a regular file whole or not at all (a temporary file renamed), but a
/// pipe, a device or a socket in place: renamed over, it would become a regular file.
#[cfg(unix)]
#[test]
fn export_to_a_pipe_writes_into_the_pipe_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let s = Sandbox::seeded();
    let fifo = s.dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    // The reader is another process, so that a writer that never opens the pipe fails the
    // test (the reader is killed) instead of hanging it.
    let mut reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let exported = stdout_of(&s.run(&["export"]).success());
    s.run(&["export", "pipe"]).success().stdout("");
    let still_a_pipe = std::fs::metadata(&fifo).unwrap().file_type().is_fifo();
    if !still_a_pipe {
        let _ = reader.kill();
    }
    let output = reader.wait_with_output().unwrap();
    assert!(still_a_pipe, "the pipe was replaced by a regular file");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), exported);
}

#[test]
fn verify_head_export_import() {
    let s = Sandbox::seeded();
    let verify = s.run(&["verify", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&verify)).unwrap();
    assert_eq!(value["intact"], true);
    assert_eq!(value["count"], 7);
    let head: serde_json::Value = serde_json::from_str(&s.head()).unwrap();
    assert_eq!(value["head"], head["hash"]);
    s.run(&["head"])
        .success()
        .stdout(contains("7 entries, head "));

    let export = s.run(&["export"]).success();
    let exported = stdout_of(&export);
    assert_eq!(exported.lines().count(), 7);
    s.run(&["export", "copy.ndjson"]).success().stdout("");
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("copy.ndjson")).unwrap(),
        exported,
        "export is canonical"
    );

    let other = s.dir.path().join("other.db");
    s.cmd()
        .args(["--ledger", other.to_str().unwrap(), "import", "copy.ndjson"])
        .assert()
        .success()
        .stdout(contains("imported 7 entries"));
    let other_head = s
        .cmd()
        .args(["--ledger", other.to_str().unwrap(), "head", "--json"])
        .assert()
        .success();
    assert_eq!(stdout_of(&other_head), s.head());
    // Refuses a ledger that has entries, and a broken export, leaving nothing behind.
    s.cmd().args(["import", "copy.ndjson"]).assert().code(1);
    let broken = exported.replacen("walter-astudillo", "walter-astudillx", 1);
    s.write("broken.ndjson", &broken);
    let third = s.dir.path().join("third.db");
    s.cmd()
        .args([
            "--ledger",
            third.to_str().unwrap(),
            "import",
            "broken.ndjson",
        ])
        .assert()
        .code(1)
        .stderr(contains("line 2"));
    assert!(!third.exists());
}

#[test]
fn demo_answers_the_seed_case_and_verifies() {
    let s = Sandbox::new();
    let demo = s.run(&["demo"]).success().stderr("");
    let text = stdout_of(&demo);
    for line in [
        "MINDEF on 2024-06-01: Walter Astudillo, titular (RS-001-2023-PCM)",
        "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)",
        "MINDEF on 2024-06-05: Walter Astudillo, titular (RS-001-2023-PCM)",
        "intact: 7 entries",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!s.ledger().exists());
}

#[test]
fn help_documents_exit_codes() {
    let s = Sandbox::new();
    s.run(&["--help"])
        .success()
        .stdout(contains("Exit codes:").and(contains("3  verification found the ledger altered")));
    s.run(&["append", "--help"])
        .success()
        .stdout(contains("trip"));
}

#[test]
fn verify_exits_3_on_an_altered_ledger() {
    use actledger_store::testing::{Sled, read_entry, write_entry_raw};
    let s = Sandbox::seeded();
    {
        let db = Sled::open(&s.ledger()).unwrap();
        let mut altered = read_entry(&db, 4);
        let text = String::from_utf8(altered.event.clone()).unwrap();
        let forged = text.replace("jose-arista", "jose-aristx");
        assert_ne!(text, forged);
        altered.event = forged.into_bytes();
        write_entry_raw(&db, 4, &altered);
        db.flush().unwrap();
    }
    s.run(&["verify"])
        .code(3)
        .stderr("")
        .stdout(contains("ALTERED: entry 4"));
    let json = s.run(&["verify", "--json"]).code(3);
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["intact"], false);
    assert_eq!(value["seq"], 4);
}

#[test]
fn a_ledger_in_use_is_refused_at_once() {
    let s = Sandbox::seeded();
    let _held = actledger_store::Ledger::open(&s.ledger()).unwrap();
    let started = std::time::Instant::now();
    s.run(&["--wait", "0", "who-held", "MINDEF", "--on", "2024-06-03"])
        .code(1)
        .stdout("")
        .stderr(format!(
            "error: the ledger at {} is in use by another process; wait for it with --wait SECONDS\n",
            s.ledger().display()
        ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn file_errors_name_the_file() {
    let s = Sandbox::seeded();
    s.run(&["append", "missing.ndjson"])
        .code(1)
        .stderr(contains("missing.ndjson"));
    s.run(&["import", "missing.ndjson"])
        .code(1)
        .stderr(contains("missing.ndjson"));
    s.run(&["export", "no/such/dir/out.ndjson"])
        .code(1)
        .stderr(contains("out.ndjson"));
    // An empty page past the head is not an error.
    s.run(&["log", "--from", "100"])
        .success()
        .stdout("SEQ  TIME  TYPE  HASH  WHAT\n");
}

#[test]
fn state_as_of_a_time_and_a_position() {
    let s = Sandbox::seeded();
    let json = s
        .run(&["state", "--on", "2024-06-03", "--as-of", "6", "--json"])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(value["as_of"], 6);
    assert_eq!(value["offices"][1]["holder"]["capacity"], "titular");
    s.run(&["state", "--on", "2024-06-03", "--as-of", "9"])
        .code(1)
        .stderr(contains("1 to 7"));
}

#[test]
fn every_typed_append_records_its_event() {
    let s = Sandbox::seeded();
    let steps: [&[&str]; 6] = [
        &[
            "act-issued",
            "--act",
            "DS-7-2024-PCM",
            "--kind",
            "decreto_supremo",
            "--issuer",
            "PCM",
            "--issued-on",
            "2024-08-01",
            "--title",
            "Acepta renuncia",
        ],
        &[
            "appointed",
            "--act",
            "DS-7-2024-PCM",
            "--person",
            "ana-perez",
            "--office",
            "MINSA",
            "--on",
            "2024-08-02",
            "--person-name",
            "Ana Pérez",
            "--office-name",
            "Ministerio de Salud",
        ],
        &[
            "left",
            "--act",
            "DS-7-2024-PCM",
            "--person",
            "ana-perez",
            "--office",
            "MINSA",
            "--on",
            "2024-09-01",
            "--reason",
            "renuncia",
        ],
        &[
            "delegated",
            "--act",
            "RS-131-2024-PCM",
            "--office",
            "MINDEF",
            "--delegate",
            "ana-perez",
            "--from",
            "2024-06-03",
            "--delegate-name",
            "Ana Pérez",
            "--delegate-office",
            "MINSA",
        ],
        &[
            "revoked",
            "--act",
            "DS-7-2024-PCM",
            "--revokes",
            "RS-131-2024-PCM",
            "--reason",
            "deja sin efecto",
        ],
        &[
            "record-retracted",
            "--seq",
            "12",
            "--reason",
            "recorded in error",
        ],
    ];
    for (i, step) in steps.iter().enumerate() {
        let mut args = vec!["append"];
        args.extend_from_slice(step);
        s.run(&args)
            .success()
            .stdout(contains(format!("line 1: recorded at {}, hash ", 8 + i)));
    }
    let log = s.run(&["log", "--from", "8", "--json"]).success();
    let types: Vec<String> = stdout_of(&log)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "act_issued",
            "appointed",
            "left_office",
            "duties_delegated",
            "act_revoked",
            "record_retracted"
        ]
    );
    // The retraction (13) undid the revocation (12), so RS-131 stands, and its second
    // delegation (11, no `until`: bounded by the act's trip) is the last recorded: it wins.
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03"]).success().stdout(
        "MINDEF on 2024-06-03: Ana Pérez, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n",
    );
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03", "--as-of", "12"])
        .success()
        .stdout("MINDEF on 2024-06-03: Walter Astudillo, titular (RS-001-2023-PCM)\n");
    s.run(&["who-held", "MINSA", "--on", "2024-08-15"])
        .success()
        .stdout("MINSA on 2024-08-15: Ana Pérez, titular (DS-7-2024-PCM)\n");
}

#[test]
fn append_quiet_prints_only_the_summary() {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let file = s.write("seed.ndjson", SEED);
    let quiet = s
        .run(&["append", "--quiet", file.to_str().unwrap()])
        .success()
        .stderr("");
    let text = stdout_of(&quiet);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("7 events recorded, 0 already recorded; head 7 "),
        "{text}"
    );
    let again = s.run(&["append", "-q", file.to_str().unwrap()]).success();
    assert!(stdout_of(&again).starts_with("0 events recorded, 7 already recorded; head 7 "));
    // One event: its line says it all.
    let one = s
        .run(&[
            "append",
            "act",
            "--act",
            "RS-9-2024-PCM",
            "--kind",
            "ley",
            "--issuer",
            "PCM",
            "--issued-on",
            "2024-01-01",
        ])
        .success();
    assert_eq!(stdout_of(&one).lines().count(), 1);
}

/// Reading events from a terminal says so on stderr (under `script`, which gives the command
/// a terminal, where it is installed).
#[test]
fn append_from_a_terminal_says_it_is_reading() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let command = format!(
        "{} --ledger {} append < /dev/tty; true",
        env!("CARGO_BIN_EXE_actledger"),
        s.ledger().display()
    );
    // The terminal script gives it ends at once (stdin is /dev/null), so the read sees no event.
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running script");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("reading events from the terminal"), "{said}");
}
