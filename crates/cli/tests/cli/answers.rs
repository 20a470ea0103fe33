//! Answer proofs on the seed case: `checkpoint --key` keeps a checkpoint and a state
//! statement, `who-held --proof` writes a bundle, `check-answer` checks it offline (and so
//! does `docs/check_answer.py`), and refuses it once anything in it is changed.

use predicates::prelude::*;
use predicates::str::contains;

use crate::{Sandbox, stdout_of};

/// A seeded ledger with a key, and a checkpoint of its 7 entries kept: (key, vkey).
fn signed() -> (Sandbox, String, String) {
    let s = Sandbox::seeded();
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    let key = "keys/example.org_actledger.key".to_owned();
    let vkey = "keys/example.org_actledger.vkey".to_owned();
    s.run(&["checkpoint", "--key", &key, "--out", "cp7"])
        .success()
        .stdout("");
    (s, key, vkey)
}

fn python_check(s: &Sandbox, vkey: &str, bundle: &str) -> Option<std::process::Output> {
    python(s, &["--json", vkey, bundle])
}

fn python(s: &Sandbox, args: &[&str]) -> Option<std::process::Output> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/check_answer.py");
    std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .current_dir(s.dir.path())
        .output()
        .ok()
}

/// `check-answer` and the Python checker print the same text for `bundle`.
fn same_text(s: &Sandbox, vkey: &str, bundle: &str) {
    let rust = stdout_of(&s.run(&["check-answer", "--vkey", vkey, bundle]).success());
    if let Some(out) = python(s, &[vkey, bundle]) {
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), rust);
    }
}

#[test]
fn checkpoint_keeps_a_statement_and_writes_it_beside_the_checkpoint() {
    let (s, key, _) = signed();
    let note = std::fs::read_to_string(s.dir.path().join("cp7")).unwrap();
    assert!(note.starts_with("example.org/actledger\n7\n"), "{note}");
    let statement = std::fs::read_to_string(s.dir.path().join("cp7.statement")).unwrap();
    assert!(
        statement.starts_with("actledger state statement v1\nexample.org/actledger\n7\n"),
        "{statement}"
    );
    // The statement's log root is the checkpoint's; 2 offices.
    let cp_root = note.lines().nth(2).unwrap();
    assert_eq!(statement.lines().nth(3), Some(cp_root));
    assert_eq!(statement.lines().nth(4), Some("2"));
    // Printed, the checkpoint alone: three lines, a blank line, the signature.
    let printed = stdout_of(&s.run(&["checkpoint", "--key", &key]).success());
    assert_eq!(printed.lines().count(), 5, "{printed}");
    // The kept copies are records of the ledger: verify takes them.
    s.run(&["verify"]).success().stdout(contains("intact"));
}

#[test]
fn a_bundle_for_the_seed_case_checks_offline_in_rust_and_in_python() {
    let (s, _, vkey) = signed();
    let asked = s
        .run(&[
            "who-held",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--proof",
            "b.json",
            "--json",
        ])
        .success()
        .stderr("");
    let plain = s
        .run(&[
            "who-held",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--as-of",
            "7",
            "--json",
        ])
        .success();
    assert_eq!(stdout_of(&asked), stdout_of(&plain));
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("b.json")).unwrap())
            .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&stdout_of(&plain)).unwrap();
    assert_eq!(bundle["bundle"], "actledger answer bundle v1");
    assert_eq!(bundle["answer"], answer);
    // No ledger is needed, or opened.
    let checked = s
        .cmd()
        .env("ACTLEDGER_LEDGER", s.dir.path().join("nothing-here"))
        .args(["check-answer", "--vkey", &vkey, "b.json"])
        .assert()
        .success()
        .stderr("");
    assert_eq!(
        stdout_of(&checked),
        "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n\
         checked against the checkpoint of example.org/actledger at size 7\n"
    );
    assert!(!s.dir.path().join("nothing-here").exists());
    let json = s
        .run(&["check-answer", "--vkey", &vkey, "--json", "b.json"])
        .success();
    let mut expected = answer.clone();
    expected["checkpoint"] = serde_json::json!({"origin": "example.org/actledger", "size": 7});
    let got: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(got, expected);
    if let Some(out) = python_check(&s, &vkey, "b.json") {
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), stdout_of(&json));
    }
    same_text(&s, &vkey, "b.json");
}

#[test]
fn a_changed_answer_or_another_key_is_refused_by_both_checkers() {
    let (s, _, vkey) = signed();
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
    ])
    .success();
    let text = std::fs::read_to_string(s.dir.path().join("b.json")).unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
    let changes: [(&str, serde_json::Value); 8] = [
        ("/holder/person", "walter-astudillo".into()),
        ("/holder/name", "Someone Else".into()),
        ("/holder/capacity", "titular".into()),
        ("/holder/basis/0", "RS-001-2023-PCM".into()),
        ("/titular/trip_act", serde_json::Value::Null),
        ("/titular/absence", "leave".into()),
        ("/on", "2024-06-05".into()),
        ("/as_of", 6.into()),
    ];
    for (pointer, value) in changes {
        let mut forged = bundle.clone();
        *forged["answer"].pointer_mut(pointer).unwrap() = value;
        s.write("forged.json", &forged.to_string());
        s.run(&["check-answer", "--vkey", &vkey, "forged.json"])
            .code(3)
            .stdout("")
            .stderr(contains("does not verify"));
        if let Some(out) = python_check(&s, &vkey, "forged.json") {
            assert_eq!(out.status.code(), Some(3), "{pointer}: {out:?}");
        }
    }
    let other = Sandbox::new();
    other
        .run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    let other_vkey = other
        .dir
        .path()
        .join("keys/example.org_actledger.vkey")
        .to_string_lossy()
        .into_owned();
    s.run(&["check-answer", "--vkey", &other_vkey, "b.json"])
        .code(3);
    if let Some(out) = python_check(&s, &other_vkey, "b.json") {
        assert_eq!(out.status.code(), Some(3), "{out:?}");
    }
    s.run(&["check-answer", "--vkey", &vkey, "missing.json"])
        .code(1);
}

#[test]
fn who_held_proof_needs_a_kept_checkpoint_that_the_ledger_extends() {
    let s = Sandbox::seeded();
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
    ])
    .code(1)
    .stderr(contains("checkpoint --key"));
    assert!(!s.dir.path().join("b.json").exists());
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    // A checkpoint of another ledger with the same key: its root differs.
    let other = Sandbox::new();
    other.run(&["init"]).success();
    other
        .cmd()
        .args(["append", "-"])
        .write_stdin(crate::SEED.replace("Miami", "Boston"))
        .assert()
        .success();
    let key = s.dir.path().join("keys/example.org_actledger.key");
    other
        .run(&[
            "checkpoint",
            "--key",
            key.to_str().unwrap(),
            "--out",
            "theirs",
        ])
        .success();
    std::fs::copy(other.dir.path().join("theirs"), s.dir.path().join("theirs")).unwrap();
    s.run(&["checkpoint", "--key", key.to_str().unwrap(), "--out", "cp7"])
        .success();
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
        "--checkpoint",
        "theirs",
    ])
    .code(3)
    .stderr(contains("does not extend"));
    // A checkpoint of a size with no statement kept.
    s.cmd()
        .args(["append", "-"])
        .write_stdin(
            r#"{"type":"act_issued","act":"RS-9-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#,
        )
        .assert()
        .success();
    s.run(&["checkpoint", "--key", key.to_str().unwrap(), "--out", "cp8"])
        .success();
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
        "--checkpoint",
        "cp7",
        "--json",
    ])
    .success()
    .stdout(contains("\"as_of\":7"));
    // The newest kept checkpoint by default.
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b8.json",
        "--json",
    ])
    .success()
    .stdout(contains("\"as_of\":8"));
    s.run(&["who-held", "MINDEF", "--proof", "b.json", "--as-of", "7"])
        .code(2);
}

#[test]
fn an_unknown_office_and_a_day_off_the_record_are_proven_too() {
    let (s, _, vkey) = signed();
    for (office, sentence) in [
        ("AAA", "AAA on 2024-06-03: unknown office as of 7\n"),
        ("MEFF", "MEFF on 2024-06-03: unknown office as of 7\n"),
        ("ZZZ", "ZZZ on 2024-06-03: unknown office as of 7\n"),
    ] {
        s.run(&[
            "who-held",
            office,
            "--on",
            "2024-06-03",
            "--proof",
            "u.json",
        ])
        .success()
        .stdout(sentence);
        s.run(&["check-answer", "--vkey", &vkey, "u.json"])
            .success()
            .stdout(predicate::str::starts_with(sentence));
        same_text(&s, &vkey, "u.json");
        // Claiming it known, or another office, fails.
        let text = std::fs::read_to_string(s.dir.path().join("u.json")).unwrap();
        let mut forged: serde_json::Value = serde_json::from_str(&text).unwrap();
        forged["answer"]["office"] = "MEF".into();
        s.write("forged.json", &forged.to_string());
        s.run(&["check-answer", "--vkey", &vkey, "forged.json"])
            .code(3);
    }
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2020-01-01",
        "--proof",
        "off.json",
    ])
    .success()
    .stdout(contains("no record"));
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("off.json")).unwrap())
            .unwrap();
    assert!(bundle.get("segment").is_none());
    assert_eq!(bundle["answer"]["record_starts"], "2023-09-06");
    s.run(&["check-answer", "--vkey", &vkey, "off.json"])
        .success()
        .stdout(contains("no record"));
    same_text(&s, &vkey, "off.json");
    let mut forged = bundle.clone();
    forged["answer"]["record_starts"] = "2020-01-01".into();
    s.write("forged.json", &forged.to_string());
    s.run(&["check-answer", "--vkey", &vkey, "forged.json"])
        .code(3);
}

/// A kept checkpoint whose root is not the log's (here: another ledger's, signed with the same
/// key, put in place behind the ledger's back) is a finding of `verify`.
#[test]
fn verify_finds_a_kept_checkpoint_the_log_does_not_match() {
    use actledger_store::testing::{CHECKPOINT, Sled};
    let (s, key, _) = signed();
    let other = Sandbox::new();
    other.run(&["init"]).success();
    other
        .cmd()
        .args(["append", "-"])
        .write_stdin(crate::SEED.replace("Miami", "Boston"))
        .assert()
        .success();
    let key = s.dir.path().join(key);
    other
        .run(&["checkpoint", "--key", key.to_str().unwrap()])
        .success();
    let mut record = [CHECKPOINT; 9];
    record[1..].copy_from_slice(&7u64.to_be_bytes());
    let theirs = Sled::open(&other.ledger())
        .unwrap()
        .get(record)
        .unwrap()
        .unwrap();
    {
        let db = Sled::open(&s.ledger()).unwrap();
        db.insert(record, theirs).unwrap();
        db.flush().unwrap();
    }
    s.run(&["verify"])
        .code(3)
        .stdout(contains("C (kept checkpoints)"));
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
    ])
    .code(3);
}

/// A statement signed with the ledger's own key over a state the log does not imply (a log
/// that signed a false state): `verify` recomputes the state and finds it; no bundle is made
/// against it.
#[test]
fn verify_finds_a_kept_statement_of_a_state_the_log_does_not_imply() {
    use actledger_proof::{SignerKey, Statement};
    use actledger_store::testing::{CHECKPOINT, Sled};
    let (s, key, _) = signed();
    let key = SignerKey::parse(
        std::fs::read_to_string(s.dir.path().join(key))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let mut record = [CHECKPOINT; 9];
    record[1..].copy_from_slice(&7u64.to_be_bytes());
    {
        let db = Sled::open(&s.ledger()).unwrap();
        let mut kept: serde_json::Value =
            serde_json::from_slice(&db.get(record).unwrap().unwrap()).unwrap();
        let mut statement = Statement::open(
            kept["statement"].as_str().unwrap().as_bytes(),
            std::slice::from_ref(key.verifier_key()),
        )
        .unwrap();
        statement.state_root[0] ^= 1;
        kept["statement"] = statement.sign(&key).unwrap().into();
        // Without the leaves of the offices (as kept before they were), the forged copy is
        // whole: only the state recomputed from the log tells it false.
        kept.as_object_mut().unwrap().remove("offices");
        db.insert(record, kept.to_string().into_bytes()).unwrap();
        db.flush().unwrap();
    }
    s.run(&["verify"])
        .code(3)
        .stdout(contains("C (kept checkpoints)").and(contains("the log implies")));
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
    ])
    .code(3)
    .stderr(contains("not the one the kept statement signs"));
}

/// A timeline cache rewritten behind the ledger's back (another ledger's, in which the trip
/// and the delegation last a day longer) changes the answers read from it, but gives no bundle
/// against the checkpoint signed before: the state recomputed differs from the one signed.
#[test]
fn a_rewritten_cache_gives_no_bundle_against_a_checkpoint_signed_before() {
    use actledger_store::testing::{NAME, SEGMENT, SEGMENT_HASHES, STATE, Sled, TIMELINE};
    let (s, _, _) = signed();
    let other = Sandbox::new();
    other.run(&["init"]).success();
    other
        .cmd()
        .args(["append", "-"])
        .write_stdin(crate::SEED.replace(r#""until":"2024-06-04""#, r#""until":"2024-06-05""#))
        .assert()
        .success();
    let copy = |prefixes: &[u8]| {
        let theirs = Sled::open(&other.ledger()).unwrap();
        let ours = Sled::open(&s.ledger()).unwrap();
        for &prefix in prefixes {
            for item in ours.scan_prefix([prefix]) {
                ours.remove(item.unwrap().0).unwrap();
            }
            for item in theirs.scan_prefix([prefix]) {
                let (key, value) = item.unwrap();
                ours.insert(key, value).unwrap();
            }
        }
        ours.flush().unwrap();
    };
    let prove = || {
        s.run(&[
            "who-held",
            "MINDEF",
            "--on",
            "2024-06-05",
            "--proof",
            "b.json",
        ])
    };
    // The timelines alone rewritten: they answer...
    copy(&[SEGMENT, TIMELINE]);
    s.run(&["who-held", "MINDEF", "--on", "2024-06-05"])
        .success()
        .stdout(contains("acting"));
    // ...but their segments are not those the kept state commits to.
    prove()
        .code(3)
        .stderr(contains("not the ones its leaf of the state commits to"));
    assert!(!s.dir.path().join("b.json").exists());
    // The kept state rewritten with them, consistently: it is not the state the statement
    // signed before it signs.
    copy(&[NAME, STATE, SEGMENT_HASHES]);
    prove()
        .code(3)
        .stderr(contains("not the one the kept statement signs"));
    assert!(!s.dir.path().join("b.json").exists());
    s.run(&["verify"]).code(3);
}

/// The Python checker, in one process: every hex digit of every hash of the bundle's paths,
/// every character of its leaves and of the signed notes' roots changed is refused.
#[test]
fn python_refuses_every_changed_hash_digit_and_leaf_character() {
    let (s, _, vkey) = signed();
    s.run(&[
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "b.json",
    ])
    .success();
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");
    let program = r#"
import copy, json, sys
sys.path.insert(0, sys.argv[1])
import check_answer as c
vkey = c.parse_vkey(open(sys.argv[2]).read())
good = json.load(open(sys.argv[3]))
c.check_bundle(good, vkey)
tried = 0
def refused(b, what):
    global tried
    tried += 1
    try:
        c.check_bundle(b, vkey)
    except c.NotVerified:
        return
    sys.exit(f"took {what}")
for tree in ["office", "segment"]:
    for i, h in enumerate(good[tree]["path"]):
        for at in range(64):
            b = copy.deepcopy(good)
            b[tree]["path"][i] = h[:at] + ("1" if h[at] == "0" else "0") + h[at + 1:]
            refused(b, f"{tree} path {i} digit {at}")
    leaf = good[tree]["leaf"]
    for at in range(len(leaf)):
        b = copy.deepcopy(good)
        b[tree]["leaf"] = leaf[:at] + ("1" if leaf[at] == "0" else "0") + leaf[at + 1:]
        refused(b, f"{tree} leaf character {at}")
for note, line in [("checkpoint", 2), ("statement", 3), ("statement", 5)]:
    lines = good[note].split("\n")
    for at in range(len(lines[line]) - 1):
        b = copy.deepcopy(good)
        changed = list(lines)
        ch = changed[line][at]
        changed[line] = changed[line][:at] + ("B" if ch == "A" else "A") + changed[line][at + 1:]
        b[note] = "\n".join(changed)
        refused(b, f"{note} line {line} character {at}")
print(tried)
"#;
    let Ok(out) = std::process::Command::new("python3")
        .args(["-c", program, docs, &vkey, "b.json"])
        .current_dir(s.dir.path())
        .output()
    else {
        return;
    };
    assert!(out.status.success(), "{out:?}");
    let tried: usize = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(tried > 500, "{tried}");
}
