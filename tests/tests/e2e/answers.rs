//! Answer proofs on a generated ledger (revocations, retractions, open-ended delegations,
//! vacancies, leaves): a bundle for every office on many days, for unknown offices and for
//! days before the record starts, each equal to `who-held --as-of N --json` and checked by
//! `check-answer` and by `docs/check_answer.py`; every changed hash or answer field refused
//! by both. And the monitor's side: answers rewritten behind the ledger's back prove nothing
//! against a checkpoint signed before, and a checkpoint signed over them is caught by
//! `verify --checkpoint`, by its statement once the answers are put back.

use std::path::{Path, PathBuf};
use std::process::Output;

use actledger_core::Day;
use serde_json::Value;

use crate::support::actledger;

struct Signed {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ledger: PathBuf,
    vkey: String,
    size: u64,
}

fn run(ledger: &Path, args: &[&str]) -> Output {
    actledger(ledger).args(args).output().unwrap()
}

fn ok(ledger: &Path, args: &[&str]) -> String {
    let out = run(ledger, args);
    assert!(
        out.status.success(),
        "actledger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A generated ledger with a checkpoint kept at `size`, and more appended after it.
fn signed(events: u64, checkpoint_at: usize) -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let ledger = root.join("ledger.db");
    let mut text = Vec::new();
    actledger_gen::Generator::new(crate::support::seed("answers"))
        .write_ndjson(events, &mut text)
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, rest) = lines.split_at(checkpoint_at.min(lines.len()));
    std::fs::write(root.join("first.ndjson"), first.join("\n")).unwrap();
    std::fs::write(root.join("rest.ndjson"), rest.join("\n")).unwrap();
    ok(&ledger, &["init"]);
    ok(
        &ledger,
        &[
            "append",
            "--quiet",
            root.join("first.ndjson").to_str().unwrap(),
        ],
    );
    let keys = root.join("keys");
    ok(
        &ledger,
        &["keygen", "example.org/gen", "--out", keys.to_str().unwrap()],
    );
    ok(
        &ledger,
        &[
            "checkpoint",
            "--key",
            keys.join("example.org_gen.key").to_str().unwrap(),
        ],
    );
    let head: Value = serde_json::from_str(&ok(&ledger, &["head", "--json"])).unwrap();
    if !rest.is_empty() {
        ok(
            &ledger,
            &[
                "append",
                "--quiet",
                root.join("rest.ndjson").to_str().unwrap(),
            ],
        );
    }
    Signed {
        _dir: dir,
        vkey: keys
            .join("example.org_gen.vkey")
            .to_string_lossy()
            .into_owned(),
        root,
        ledger,
        size: head["count"].as_u64().unwrap(),
    }
}

fn check_answer(s: &Signed, bundle: &Path) -> (Option<i32>, String) {
    let out = run(
        &s.ledger,
        &[
            "check-answer",
            "--vkey",
            &s.vkey,
            "--json",
            bundle.to_str().unwrap(),
        ],
    );
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

/// The Python checker's exit code and output; `None` without python3.
fn python(s: &Signed, bundle: &Path) -> Option<(Option<i32>, String)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/check_answer.py");
    let out = std::process::Command::new("python3")
        .args([script, "--json", &s.vkey, bundle.to_str().unwrap()])
        .output()
        .ok()?;
    Some((out.status.code(), String::from_utf8(out.stdout).unwrap()))
}

/// Proves `office` on `day`; checks that the bundle's answer is `who-held --as-of N --json`
/// (for a known office) and that both checkers accept it with the same output.
fn prove_and_check(s: &Signed, office: &str, day: &str) -> Value {
    let file = s.root.join("bundle.json");
    let printed = ok(
        &s.ledger,
        &[
            "who-held",
            office,
            "--on",
            day,
            "--proof",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let printed: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(bundle["answer"], printed);
    if bundle["answer"].get("known").is_none() {
        let size = s.size.to_string();
        let plain: Value = serde_json::from_str(&ok(
            &s.ledger,
            &["who-held", office, "--on", day, "--as-of", &size, "--json"],
        ))
        .unwrap();
        assert_eq!(bundle["answer"], plain, "{office} on {day}");
    }
    let (code, out) = check_answer(s, &file);
    assert_eq!(code, Some(0), "{office} on {day}: {out}");
    let mut expected = bundle["answer"].clone();
    expected["checkpoint"] = serde_json::json!({"origin": "example.org/gen", "size": s.size});
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), expected);
    if let Some((code, py)) = python(s, &file) {
        assert_eq!(code, Some(0), "python, {office} on {day}: {py}");
        assert_eq!(py, out, "python and check-answer print the same");
    }
    bundle
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

#[test]
fn every_office_on_many_days_is_proven_and_checks_in_rust_and_python() {
    let s = signed(1_500, 1_200);
    let size = s.size.to_string();
    let offices: Value =
        serde_json::from_str(&ok(&s.ledger, &["offices", "--as-of", &size, "--json"])).unwrap();
    let offices = offices["offices"].as_array().unwrap().clone();
    assert!(offices.len() > 3, "{offices:?}");
    let mut kinds = std::collections::BTreeSet::new();
    for (k, office) in offices.iter().enumerate() {
        let id = office["office"].as_str().unwrap();
        // The day before the record starts, a day its history turns on (a different row from
        // one office to the next), and the day after the last day on record.
        let mut days = Vec::new();
        if let (Some(first), Some(last)) =
            (office["first_day"].as_str(), office["last_day"].as_str())
        {
            days.extend([day(first).prev().unwrap(), day(last).next().unwrap()]);
            let history: Value =
                serde_json::from_str(&ok(&s.ledger, &["history", id, "--as-of", &size, "--json"]))
                    .unwrap();
            let rows = history["history"].as_array().unwrap();
            if let Some(from) = rows
                .get(k % rows.len().max(1))
                .and_then(|r| r["from"].as_str())
            {
                days.push(day(from));
            }
        } else {
            days.push(day("2024-06-03"));
        }
        days.sort();
        days.dedup();
        for d in days {
            let bundle = prove_and_check(&s, id, &d.to_string());
            let answer = &bundle["answer"];
            kinds.insert(
                match (&answer["on_record"], &answer["holder"]["capacity"]) {
                    (Value::Bool(false), _) => "off the record",
                    (_, Value::String(c)) if c == "acting" => "acting",
                    (_, Value::String(_)) => "titular",
                    _ => "vacant",
                },
            );
        }
    }
    assert!(
        kinds.contains("off the record") && kinds.contains("titular"),
        "{kinds:?}"
    );
    // Unknown offices: before all, between two, after all.
    let first = offices[0]["office"].as_str().unwrap();
    for unknown in ["AAA", &format!("{first}-0"), "ZZZ"] {
        let bundle = prove_and_check(&s, unknown, "2024-06-03");
        assert_eq!(bundle["answer"]["known"], false);
        let neighbours = bundle["neighbours"].as_array().unwrap();
        assert_eq!(
            neighbours.len(),
            if unknown.ends_with("-0") { 2 } else { 1 }
        );
    }
}

/// Every hex digit of every hash of the bundle changed, and every field of the answer:
/// refused (exit 3) by both checkers.
#[test]
fn every_changed_hash_or_answer_field_is_refused_by_both_checkers() {
    let s = signed(600, 600);
    let size = s.size.to_string();
    // An office with an acting holder, whose titular is away, somewhere on its history.
    let offices: Value = serde_json::from_str(&ok(&s.ledger, &["offices", "--json"])).unwrap();
    let mut found = None;
    'search: for office in offices["offices"].as_array().unwrap() {
        let id = office["office"].as_str().unwrap();
        let history: Value =
            serde_json::from_str(&ok(&s.ledger, &["history", id, "--as-of", &size, "--json"]))
                .unwrap();
        for row in history["history"].as_array().unwrap() {
            if row["capacity"] == "acting" {
                found = Some((id.to_owned(), row["from"].as_str().unwrap().to_owned()));
                break 'search;
            }
        }
    }
    let (office, on) = found.expect("the generator delegates duties");
    let bundle = prove_and_check(&s, &office, &on);
    assert_eq!(bundle["answer"]["holder"]["capacity"], "acting", "{bundle}");
    let forged_file = s.root.join("forged.json");
    let refused = |forged: &Value, what: &str| {
        std::fs::write(&forged_file, forged.to_string()).unwrap();
        let (code, out) = check_answer(&s, &forged_file);
        assert_eq!(code, Some(3), "check-answer took {what}: {out}");
        if let Some((code, py)) = python(&s, &forged_file) {
            assert_eq!(code, Some(3), "python took {what}: {py}");
        }
    };
    // The hashes of both paths, each hex digit changed at its first, middle and last place.
    for tree in ["office", "segment"] {
        let path = bundle[tree]["path"].as_array().unwrap();
        assert!(!path.is_empty());
        for (i, hash) in path.iter().enumerate() {
            let hash = hash.as_str().unwrap();
            for at in [0, 31, 63] {
                let mut forged = bundle.clone();
                let mut bytes = hash.as_bytes().to_vec();
                bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
                forged[tree]["path"][i] = String::from_utf8(bytes).unwrap().into();
                refused(&forged, &format!("{tree} path {i} byte {at}"));
            }
        }
        let mut forged = bundle.clone();
        forged[tree]["index"] = (bundle[tree]["index"].as_u64().unwrap() + 1).into();
        refused(&forged, &format!("{tree} index"));
    }
    // The office leaf's segments root, and the roots inside the signed notes.
    let leaf = bundle["office"]["leaf"].as_str().unwrap();
    let at = leaf.find("segments_root\":\"").unwrap() + 16;
    let mut forged = bundle.clone();
    let mut bytes = leaf.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    forged["office"]["leaf"] = String::from_utf8(bytes).unwrap().into();
    refused(&forged, "the segments root");
    for note in ["checkpoint", "statement"] {
        let text = bundle[note].as_str().unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        let root_line = if note == "checkpoint" { 2 } else { 5 };
        let mut changed = lines.clone();
        let root = lines[root_line].replacen(
            &lines[root_line][..1],
            if lines[root_line].starts_with('A') {
                "B"
            } else {
                "A"
            },
            1,
        );
        changed[root_line] = &root;
        let mut forged = bundle.clone();
        forged[note] = changed.join("\n").into();
        refused(&forged, &format!("the {note}'s root"));
    }
    // Every field of the answer.
    let answer = &bundle["answer"];
    let changes: Vec<(&str, Value)> = vec![
        ("/office", "PE-NOPE".into()),
        ("/on", "1999-01-01".into()),
        ("/as_of", (s.size - 1).into()),
        ("/on_record", false.into()),
        ("/record_starts", "2000-01-01".into()),
        ("/holder/person", "someone-else".into()),
        ("/holder/name", "Someone Else".into()),
        ("/holder/capacity", "titular".into()),
        ("/holder/basis/0", "RS-0-2000-PCM".into()),
        ("/titular/person", "someone-else".into()),
        ("/titular/name", "Someone Else".into()),
        ("/titular/absent", false.into()),
        ("/titular/trip_act", "RS-0-2000-PCM".into()),
        ("/titular/absence", "leave".into()),
        ("/titular/absence_act", "RS-0-2000-PCM".into()),
        ("/holder", Value::Null),
        ("/titular", Value::Null),
    ];
    for (pointer, value) in changes {
        let mut forged = bundle.clone();
        match forged["answer"].pointer_mut(pointer) {
            Some(slot) if *slot != value => *slot = value,
            _ => continue,
        }
        assert_ne!(&forged["answer"], answer);
        refused(&forged, pointer);
    }
    // Another log's key.
    let other = s.root.join("other");
    ok(
        &s.ledger,
        &[
            "keygen",
            "example.org/gen",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    let file = s.root.join("bundle.json");
    let out = run(
        &s.ledger,
        &[
            "check-answer",
            "--vkey",
            other.join("example.org_gen.vkey").to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
}

/// A ledger of `text` (NDJSON) at `path`, or why it was refused.
fn ledger_of(path: &Path, text: &str) -> Result<(), String> {
    ok(path, &["init"]);
    let file = path.with_extension("ndjson");
    std::fs::write(&file, text).unwrap();
    let out = run(path, &["append", "--quiet", file.to_str().unwrap()]);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The state root a statement file signs, as hex, opened with the verifier key.
fn state_root_of(statement: &Path, vkey: &Path) -> String {
    let vkey: actledger_proof::VerifierKey = std::fs::read_to_string(vkey)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let bytes = std::fs::read(statement).unwrap();
    let statement = actledger_proof::Statement::open(&bytes, &[vkey]).unwrap();
    actledger_proof::hash_to_hex(&statement.state_root)
}

/// Every record of `ours` but the log, the meta records, the kept checkpoints and the stored
/// tree hashes replaced by those of `theirs`: the cached timelines (`S`, `W`), the indexes,
/// and whatever else answers are read from, rewritten behind the ledger's back. The tree
/// hashes stay, so that the ledger still signs its own log's root: only its answers lie.
fn rewrite_answers(ours: &Path, theirs: &Path) -> usize {
    use actledger_store::testing::{CHECKPOINT, ENTRY, META, Sled, TREE};
    let kept = |key: &[u8]| [ENTRY, META, CHECKPOINT, TREE].contains(&key[0]);
    let theirs = Sled::open(theirs).unwrap();
    let ours = Sled::open(ours).unwrap();
    let mine: Vec<Vec<u8>> = ours
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .filter(|k| !kept(k))
        .collect();
    for key in &mine {
        ours.remove(key).unwrap();
    }
    let mut written = 0;
    for item in theirs.iter() {
        let (key, value) = item.unwrap();
        if !kept(&key) {
            ours.insert(key, value).unwrap();
            written += 1;
        }
    }
    ours.flush().unwrap();
    written
}

/// The issue's monitor requirement, end to end on a generated ledger: a ledger whose answers
/// were rewritten behind its back (here: another ledger's, in which one trip and what goes with
/// it last a day longer) cannot produce a bundle that passes against the checkpoint signed
/// before; a checkpoint signed over it is caught by `verify --checkpoint`, and still is once
/// `repair` has put the answers back, by the statement signed with it.
#[test]
fn rewritten_answers_prove_nothing_and_a_checkpoint_signed_over_them_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut text = Vec::new();
    actledger_gen::Generator::new(crate::support::seed("monitor"))
        .write_ndjson(400, &mut text)
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    let ledger = root.join("ledger.db");
    ledger_of(&ledger, &text).unwrap();
    // The twin: one trip (and every event of its act ending that day) a day longer, such that
    // the answer for the office on the day after the trip changes.
    let mut twin = None;
    for (i, line) in text.lines().enumerate() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["type"] != "trip_authorized" {
            continue;
        }
        let (act, office) = (
            event["act"].as_str().unwrap(),
            event["office"].as_str().unwrap(),
        );
        let until = event["until"].as_str().unwrap();
        let after = day(until).next().unwrap().to_string();
        let changed: Vec<String> = text
            .lines()
            .map(|l| {
                if l.contains(&format!("\"act\":\"{act}\",")) {
                    l.replace(
                        &format!("\"until\":\"{until}\""),
                        &format!("\"until\":\"{after}\""),
                    )
                } else {
                    l.to_owned()
                }
            })
            .collect();
        let path = root.join(format!("twin{i}.db"));
        if ledger_of(&path, &(changed.join("\n") + "\n")).is_err() {
            continue;
        }
        let ask = ["who-held", office, "--on", &after, "--json"];
        let (honest, theirs) = (ok(&ledger, &ask), ok(&path, &ask));
        if honest != theirs {
            twin = Some((path, office.to_owned(), after, honest, theirs));
            break;
        }
    }
    let (twin, office, on, honest, lie) = twin.expect("a trip whose extra day changes an answer");

    let keys = root.join("keys");
    ok(
        &ledger,
        &["keygen", "example.org/gen", "--out", keys.to_str().unwrap()],
    );
    let key = keys.join("example.org_gen.key");
    let vkey = keys.join("example.org_gen.vkey");
    let before = root.join("before");
    ok(
        &ledger,
        &[
            "checkpoint",
            "--key",
            key.to_str().unwrap(),
            "--out",
            before.to_str().unwrap(),
        ],
    );
    let verify = |checkpoint: &Path| {
        let out = run(
            &ledger,
            &[
                "verify",
                "--checkpoint",
                checkpoint.to_str().unwrap(),
                "--vkey",
                vkey.to_str().unwrap(),
            ],
        );
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    assert_eq!(verify(&before).0, Some(0));

    assert!(rewrite_answers(&ledger, &twin) > 0);
    // The rewritten records answer...
    assert_eq!(
        ok(&ledger, &["who-held", &office, "--on", &on, "--json"]),
        lie
    );
    assert_ne!(lie, honest);
    // ...but no bundle of that answer passes against the checkpoint signed before: none is
    // made, or the one made does not check.
    let bundle = root.join("b.json");
    for against in [None, Some(&before)] {
        let mut args = vec![
            "who-held",
            &office,
            "--on",
            &on,
            "--proof",
            bundle.to_str().unwrap(),
        ];
        if let Some(cp) = against {
            args.extend(["--checkpoint", cp.to_str().unwrap()]);
        }
        let _ = std::fs::remove_file(&bundle);
        let made = run(&ledger, &args);
        if made.status.success() {
            let out = run(
                &ledger,
                &[
                    "check-answer",
                    "--vkey",
                    vkey.to_str().unwrap(),
                    bundle.to_str().unwrap(),
                ],
            );
            assert_eq!(
                out.status.code(),
                Some(3),
                "a bundle of the rewritten answer checked"
            );
        } else {
            assert_eq!(
                made.status.code(),
                Some(3),
                "{}",
                String::from_utf8_lossy(&made.stderr)
            );
            assert!(!bundle.exists());
        }
    }
    assert_eq!(verify(&before).0, Some(3));

    // A checkpoint signed over the rewritten answers is caught...
    let after = root.join("after");
    let signed = run(
        &ledger,
        &[
            "checkpoint",
            "--key",
            key.to_str().unwrap(),
            "--out",
            after.to_str().unwrap(),
        ],
    );
    if !signed.status.success() {
        // Refusing to sign over answers that are not the log's is as good: nothing to catch.
        assert!(!after.exists());
        return;
    }
    let (code, out) = verify(&after);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.starts_with("ALTERED"), "{out}");
    // ...and so is the statement signed with it, once the answers are put back: the log
    // signed a false state, and the signed statement names it, beside the checkpoint or kept.
    let false_root = state_root_of(&root.join("after.statement"), &vkey);
    let true_root = state_root_of(&root.join("before.statement"), &vkey);
    assert_ne!(false_root, true_root);
    ok(&ledger, &["repair"]);
    assert_eq!(
        ok(&ledger, &["who-held", &office, "--on", &on, "--json"]),
        honest
    );
    // A newer honest checkpoint kept, so that only the monitor's check looks at the old size.
    let more = root.join("more.ndjson");
    std::fs::write(
        &more,
        r#"{"type":"act_issued","act":"RS-9999-2099-PCM","kind":"ley","issuer":"PCM","issued_on":"2099-01-01"}"#,
    )
    .unwrap();
    ok(&ledger, &["append", "--quiet", more.to_str().unwrap()]);
    ok(&ledger, &["checkpoint", "--key", key.to_str().unwrap()]);
    let (code, out) = verify(&after);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.starts_with("ALTERED: the log signed a false state"),
        "{out}"
    );
    for expected in [
        format!("signs state root {false_root}"),
        format!("the log implies state root {true_root}"),
    ] {
        assert!(out.contains(&expected), "{expected:?} in {out}");
    }
    std::fs::remove_file(root.join("after.statement")).unwrap();
    let (code, out) = verify(&after);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("(kept in the ledger) signs state root"),
        "{out}"
    );
    assert!(
        out.contains(&false_root) && out.contains(&true_root),
        "{out}"
    );
    // The checkpoint signed before, and its statement, still hold.
    let (code, out) = verify(&before);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("signs the state the log implies"), "{out}");
}
