//! `verify --checkpoint CP --vkey VKEY` as a monitor runs it: besides the log extending CP,
//! the state statement of CP's size (`CP.statement` beside it, else the one the ledger kept)
//! must sign the state the log implies. A log that signed a false state is exit 3, and the
//! message names both roots and the size.

use actledger_proof::{SignerKey, Statement};
use predicates::prelude::*;
use predicates::str::contains;

use crate::{Sandbox, stdout_of};

const KEY: &str = "keys/example.org_actledger.key";
const VKEY: &str = "keys/example.org_actledger.vkey";

/// A seeded ledger with a key and `checkpoint --key --out cp7` (cp7 and cp7.statement).
fn signed() -> Sandbox {
    let s = Sandbox::seeded();
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    s.run(&["checkpoint", "--key", KEY, "--out", "cp7"])
        .success();
    s
}

fn key(s: &Sandbox) -> SignerKey {
    SignerKey::parse(
        std::fs::read_to_string(s.dir.path().join(KEY))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

fn verify_json(s: &Sandbox, checkpoint: &str, code: i32) -> serde_json::Value {
    let out = s
        .run(&[
            "verify",
            "--checkpoint",
            checkpoint,
            "--vkey",
            VKEY,
            "--json",
        ])
        .code(code);
    serde_json::from_str(&stdout_of(&out)).unwrap()
}

/// The statement in `file`, opened with the sandbox's key.
fn statement_in(s: &Sandbox, file: &str) -> Statement {
    let bytes = std::fs::read(s.dir.path().join(file)).unwrap();
    Statement::open(&bytes, std::slice::from_ref(key(s).verifier_key())).unwrap()
}

/// `statement` with its state root changed, signed with the ledger's own key: what a log that
/// signs a false state publishes.
fn forged(s: &Sandbox, statement: &Statement) -> (Statement, String) {
    let mut forged = statement.clone();
    forged.state_root[0] ^= 0x80;
    let note = forged.sign(&key(s)).unwrap();
    (forged, note)
}

#[test]
fn an_honest_ledger_passes_with_the_statement_beside_the_checkpoint() {
    let s = signed();
    let root = hex::encode(statement_in(&s, "cp7.statement").state_root);
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .success()
        .stderr("")
        .stdout(
            predicate::str::starts_with("intact: 7 entries")
                .and(contains("extends the checkpoint of 7 entries"))
                .and(contains(format!(
                    "the state statement of size 7 (cp7.statement) signs the state the log implies: state root {root}, 2 offices\n"
                ))),
        );
    let json = verify_json(&s, "cp7", 0);
    assert_eq!(json["intact"], true);
    let state = &json["state"];
    assert_eq!(state["checked"], true, "{json}");
    assert_eq!(state["matches"], true);
    assert_eq!(state["source"], "file");
    assert_eq!(state["file"], "cp7.statement");
    assert_eq!(state["size"], 7);
    assert_eq!(state["signed"], state["implied"]);
    assert_eq!(state["signed"]["state_root"], root.as_str());
    assert_eq!(state["signed"]["offices"], 2);
    assert!(state.get("reason").is_none());
}

#[test]
fn a_statement_of_a_false_state_beside_the_checkpoint_is_exit_3_naming_both_roots() {
    let s = signed();
    let honest = statement_in(&s, "cp7.statement");
    let (forged, note) = forged(&s, &honest);
    s.write("cp7.statement", &note);
    let (said, implied) = (
        hex::encode(forged.state_root),
        hex::encode(honest.state_root),
    );
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .code(3)
        .stdout(
            predicate::str::starts_with("ALTERED: the log signed a false state: its statement of size 7 (cp7.statement) signs state root ")
                .and(contains(format!(
                    "signs state root {said} (2 offices), but the log implies state root {implied} (2 offices) at size 7\n"
                )))
                .and(contains("the log is intact (7 entries"))
                .and(contains("as evidence")),
        );
    let json = verify_json(&s, "cp7", 3);
    assert_eq!(json["intact"], false);
    assert_eq!(json["log_intact"], true);
    assert_eq!(json["answers_checked"], true);
    let state = &json["state"];
    assert_eq!(state["checked"], true);
    assert_eq!(state["matches"], false);
    assert_eq!(state["signed"]["state_root"], said.as_str());
    assert_eq!(state["implied"]["state_root"], implied.as_str());
    // A forged number of offices alone is caught too.
    let mut counted = honest.clone();
    counted.offices = 3;
    s.write("cp7.statement", &counted.sign(&key(&s)).unwrap());
    let json = verify_json(&s, "cp7", 3);
    assert_eq!(json["state"]["signed"]["offices"], 3);
    assert_eq!(json["state"]["implied"]["offices"], 2);
    // The honest statement back: it passes again.
    s.write("cp7.statement", &honest.sign(&key(&s)).unwrap());
    verify_json(&s, "cp7", 0);
}

#[test]
fn a_statement_file_that_does_not_verify_or_names_another_checkpoint_is_exit_3() {
    let s = signed();
    let good = std::fs::read_to_string(s.dir.path().join("cp7.statement")).unwrap();
    // Another key of the same name.
    let other = Sandbox::new();
    other
        .run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    let other_key = SignerKey::parse(
        std::fs::read_to_string(other.dir.path().join(KEY))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let theirs = statement_in(&s, "cp7.statement").sign(&other_key).unwrap();
    s.write("cp7.statement", &theirs);
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .code(3)
        .stdout("")
        .stderr(contains(
            "the statement cp7.statement does not verify with key",
        ));
    // A statement of another size, signed with the right key.
    let mut other_size = Statement::open(
        good.as_bytes(),
        std::slice::from_ref(key(&s).verifier_key()),
    )
    .unwrap();
    other_size.size = 6;
    s.write("cp7.statement", &other_size.sign(&key(&s)).unwrap());
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .code(3)
        .stderr(contains("is not of the checkpoint"));
}

#[test]
fn without_a_file_the_statement_kept_for_that_size_is_checked() {
    let s = signed();
    std::fs::remove_file(s.dir.path().join("cp7.statement")).unwrap();
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .success()
        .stdout(contains(
            "the state statement of size 7 (kept in the ledger) signs the state the log implies",
        ));
    let json = verify_json(&s, "cp7", 0);
    assert_eq!(json["state"]["source"], "kept");
    assert_eq!(json["state"]["matches"], true);

    // The kept statement of size 7 replaced by a false one signed with the same key, and a
    // newer honest checkpoint kept after it, so that only the monitor's check looks at size 7.
    use actledger_store::testing::{CHECKPOINT, Sled};
    let mut record = [CHECKPOINT; 9];
    record[1..].copy_from_slice(&7u64.to_be_bytes());
    let honest = {
        let db = Sled::open(&s.ledger()).unwrap();
        let mut kept: serde_json::Value =
            serde_json::from_slice(&db.get(record).unwrap().unwrap()).unwrap();
        let honest = Statement::open(
            kept["statement"].as_str().unwrap().as_bytes(),
            std::slice::from_ref(key(&s).verifier_key()),
        )
        .unwrap();
        kept["statement"] = forged(&s, &honest).1.into();
        // A copy without the leaves of the offices (as kept before they were): the forged
        // statement is then whole, and only a monitor's replay can tell it false.
        kept.as_object_mut().unwrap().remove("offices");
        db.insert(record, kept.to_string().into_bytes()).unwrap();
        db.flush().unwrap();
        honest
    };
    s.cmd()
        .args(["append", "-"])
        .write_stdin(
            r#"{"type":"act_issued","act":"RS-9-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#,
        )
        .assert()
        .success();
    s.run(&["checkpoint", "--key", KEY, "--out", "cp8"])
        .success();
    s.run(&["verify"]).success();
    let (said, implied) = (forged(&s, &honest).0.state_root, honest.state_root);
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", VKEY])
        .code(3)
        .stdout(
            contains("ALTERED: the log signed a false state: its statement of size 7 (kept in the ledger)")
                .and(contains(hex::encode(said)))
                .and(contains(hex::encode(implied))),
        );
    // The newer checkpoint and its own statement still pass.
    verify_json(&s, "cp8", 0);
}

#[test]
fn with_no_statement_the_log_is_verified_and_the_output_says_the_state_was_not_checked() {
    let s = signed();
    // A copy of the ledger made from its export keeps no checkpoint; cp7 has no file beside.
    let export = stdout_of(&s.run(&["export"]).success());
    s.write("export.ndjson", &export);
    s.run(&["--ledger", "copy.db", "import", "export.ndjson"])
        .success();
    std::fs::remove_file(s.dir.path().join("cp7.statement")).unwrap();
    let note = "the state was not checked: no state statement of size 7 was found (no cp7.statement beside the checkpoint, none kept in the ledger)\n";
    s.run(&[
        "--ledger",
        "copy.db",
        "verify",
        "--checkpoint",
        "cp7",
        "--vkey",
        VKEY,
    ])
    .success()
    .stdout(predicate::str::starts_with("intact: 7 entries").and(contains(note)));
    let out = s
        .run(&[
            "--ledger",
            "copy.db",
            "verify",
            "--checkpoint",
            "cp7",
            "--vkey",
            VKEY,
            "--json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["intact"], true);
    assert_eq!(json["state"]["checked"], false);
    assert_eq!(json["state"]["reason"], "no_statement");
    assert_eq!(json["state"]["file"], "cp7.statement");
    assert!(json["state"].get("matches").is_none(), "{json}");
    assert_eq!(json["state"]["message"], note.trim_end());
    // --log-only says so, and a kept statement of another key is not taken as evidence.
    s.run(&[
        "verify",
        "--log-only",
        "--checkpoint",
        "cp7",
        "--vkey",
        VKEY,
    ])
    .success()
    .stdout(contains(
        "the state was not checked: only the log was checked",
    ));
    s.run(&["keygen", "example.org/other", "--out", "other"])
        .success();
    s.run(&["checkpoint", "--key", "other/example.org_other.key"])
        .success();
    let json = verify_json(&s, "cp7", 0);
    assert_eq!(json["state"]["reason"], "kept_under_another_key", "{json}");
}

#[test]
fn a_ledger_that_does_not_verify_has_its_state_left_unchecked() {
    let s = signed();
    let other = Sandbox::new();
    other.run(&["init"]).success();
    other
        .cmd()
        .args(["append", "-"])
        .write_stdin(crate::SEED.replace("Miami", "Boston"))
        .assert()
        .success();
    let out = other
        .cmd()
        .args([
            "verify",
            "--checkpoint",
            s.dir.path().join("cp7").to_str().unwrap(),
            "--vkey",
            s.dir.path().join(VKEY).to_str().unwrap(),
            "--json",
        ])
        .assert()
        .code(3);
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["state"]["reason"], "ledger_not_verified", "{json}");
}
