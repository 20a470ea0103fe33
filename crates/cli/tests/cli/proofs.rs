//! Keys, signed checkpoints and proofs through the command line, checked offline.

use predicates::prelude::*;
use predicates::str::contains;

use crate::{Sandbox, stdout_of};

fn keys(s: &Sandbox) -> (String, String) {
    let made = s
        .run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success()
        .stderr("");
    let vkey_line = stdout_of(&made);
    assert!(
        vkey_line.starts_with("example.org/actledger+"),
        "{vkey_line}"
    );
    let key = s.dir.path().join("keys/example.org_actledger.key");
    let vkey = s.dir.path().join("keys/example.org_actledger.vkey");
    let secret = std::fs::read_to_string(&key).unwrap();
    assert!(secret.starts_with("PRIVATE+KEY+example.org/actledger+"));
    assert!(
        !vkey_line.contains("PRIVATE"),
        "keygen never prints the secret key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        std::fs::read_to_string(&vkey).unwrap().trim(),
        vkey_line.trim()
    );
    (
        key.to_string_lossy().into_owned(),
        vkey.to_string_lossy().into_owned(),
    )
}

#[test]
fn keygen_refuses_to_overwrite() {
    let s = Sandbox::new();
    keys(&s);
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .code(1)
        .stderr(contains("refusing to overwrite"));
    s.run(&["keygen", "bad name", "--out", "keys"]).code(1);
}

#[test]
fn an_inclusion_proof_checks_offline_and_a_changed_one_does_not() {
    let s = Sandbox::seeded();
    let (key, vkey) = keys(&s);
    s.run(&["checkpoint", "--key", &key, "--out", "cp7"])
        .success()
        .stdout("");
    let note = std::fs::read_to_string(s.dir.path().join("cp7")).unwrap();
    assert!(note.starts_with("example.org/actledger\n7\n"), "{note}");
    assert!(
        note.contains("\n\n\u{2014} example.org/actledger "),
        "{note}"
    );
    s.run(&["checkpoint", "--key", &key])
        .success()
        .stdout(contains("example.org/actledger\n7\n"));

    let proof = s.run(&["prove", "RS-131-2024-PCM", "--json"]).success();
    let text = stdout_of(&proof);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["seq"], 5, "an act names its act_issued entry");
    assert_eq!(value["leaf_index"], 4);
    assert_eq!(value["tree_size"], 7);
    assert_eq!(value["leaf_hash"].as_str().unwrap().len(), 64);
    assert!(value["entry"].as_str().unwrap().starts_with("{\"seq\":5,"));
    s.write("p.json", &text);
    // No ledger is needed, or opened.
    s.cmd()
        .env("ACTLEDGER_LEDGER", s.dir.path().join("nothing-here"))
        .args([
            "check-proof",
            "--vkey",
            &vkey,
            "--checkpoint",
            "cp7",
            "p.json",
        ])
        .assert()
        .success()
        .stdout(contains(
            "verified: entry 5 is in the ledger example.org/actledger of 7 entries",
        ));
    assert!(!s.dir.path().join("nothing-here").exists());

    // A changed entry, a changed hash, a proof for another size: exit 3.
    let forged = text.replace("RS-131-2024-PCM", "RS-132-2024-PCM");
    s.write("forged.json", &forged);
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp7",
        "forged.json",
    ])
    .code(3)
    .stderr(contains("does not verify"));
    let first = value["proof"][0].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if first.starts_with('0') { "1" } else { "0" },
        &first[1..]
    );
    s.write("flipped.json", &text.replace(first, &flipped));
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp7",
        "flipped.json",
    ])
    .code(3);
    s.write("garbage.json", "not json");
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp7",
        "garbage.json",
    ])
    .code(3);
    // A checkpoint signed by another key, or altered: exit 3.
    let other = Sandbox::new();
    let (_, other_vkey) = keys(&other);
    s.run(&[
        "check-proof",
        "--vkey",
        &other_vkey,
        "--checkpoint",
        "cp7",
        "p.json",
    ])
    .code(3)
    .stderr(contains("checkpoint"));
    s.write("cp7-altered", &note.replacen("\n7\n", "\n8\n", 1));
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp7-altered",
        "p.json",
    ])
    .code(3);
    // A file that cannot be read: exit 1.
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "missing",
        "p.json",
    ])
    .code(1);
}

#[test]
fn a_consistency_proof_links_two_checkpoints() {
    let s = Sandbox::seeded();
    let (key, vkey) = keys(&s);
    s.run(&["checkpoint", "--key", &key, "--out", "cp7"])
        .success();
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
    .success();
    s.run(&["checkpoint", "--key", &key, "--out", "cp8"])
        .success();
    let proof = s
        .run(&["prove", "--from", "7", "--to", "8", "--json"])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&proof)).unwrap();
    for field in ["first", "second", "first_root", "second_root", "proof"] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    s.write("c.json", &stdout_of(&proof));
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp8",
        "--old-checkpoint",
        "cp7",
        "c.json",
    ])
    .success()
    .stdout(contains("extends its first 7 entries"));
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp8",
        "c.json",
    ])
    .code(1)
    .stderr(contains("--old-checkpoint"));
    s.run(&[
        "check-proof",
        "--vkey",
        &vkey,
        "--checkpoint",
        "cp7",
        "--old-checkpoint",
        "cp8",
        "c.json",
    ])
    .code(3);
    s.run(&["prove", "--from", "8", "--to", "7"]).code(1);
    s.run(&["prove", "9"]).code(1).stderr(contains("entry 9"));
}

#[test]
fn verify_against_a_checkpoint_catches_a_cut_tail() {
    use actledger_store::Head;
    use actledger_store::testing::{META_HEAD, Sled, encode_head, read_entry, remove_entry};
    let s = Sandbox::seeded();
    let (key, vkey) = keys(&s);
    s.run(&["checkpoint", "--key", &key, "--out", "cp7"])
        .success();
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", &vkey])
        .success()
        .stdout(contains("intact: 7 entries").and(contains("extends the checkpoint of 7 entries")));
    {
        let db = Sled::open(&s.ledger()).unwrap();
        remove_entry(&db, 7);
        let last = read_entry(&db, 6);
        db.insert(
            META_HEAD,
            encode_head(
                Head {
                    count: 6,
                    hash: last.hash,
                },
                &last.time,
            ),
        )
        .unwrap();
        db.flush().unwrap();
    }
    // The chain alone cannot see it (the derived records, still holding entry 7, can); the
    // checkpoint can.
    s.run(&["verify", "--log-only"])
        .success()
        .stdout(contains("intact: 6 entries"));
    s.run(&["verify"])
        .code(3)
        .stdout(contains("ALTERED: the log is intact (6 entries"));
    s.run(&["verify", "--checkpoint", "cp7", "--vkey", &vkey])
        .code(3)
        .stdout(contains("ALTERED: entry 7"));
    s.run(&["verify", "--checkpoint", "cp7"]).code(2);
    let empty = Sandbox::new();
    empty.run(&["init"]).success();
    std::fs::copy(s.dir.path().join("cp7"), empty.dir.path().join("cp7")).unwrap();
    empty
        .run(&["verify", "--checkpoint", "cp7", "--vkey", &vkey])
        .code(3);
    let missing = Sandbox::new();
    std::fs::copy(s.dir.path().join("cp7"), missing.dir.path().join("cp7")).unwrap();
    missing
        .run(&["verify", "--checkpoint", "cp7", "--vkey", &vkey])
        .code(1)
        .stderr(contains("no ledger"));
}

#[test]
fn prove_act_reaches_every_event_of_the_act() {
    let s = Sandbox::seeded();
    // The act alone names its act_issued entry, and says where its other events are.
    let named = stdout_of(&s.run(&["prove", "RS-131-2024-PCM"]).success());
    assert!(named.starts_with("entry 5 is leaf 4"), "{named}");
    assert!(named.contains("proof (3 hashes):"), "{named}");
    assert!(
        named.contains("RS-131-2024-PCM has other events, at 6, 7"),
        "{named}"
    );
    // --event picks the delegation; its proof is that entry's.
    let delegation = stdout_of(
        &s.run(&["prove", "RS-131-2024-PCM", "--event", "7", "--json"])
            .success(),
    );
    let proof: serde_json::Value = serde_json::from_str(&delegation).unwrap();
    assert_eq!(proof["seq"], 7);
    assert!(
        proof["entry"]
            .as_str()
            .unwrap()
            .contains("duties_delegated")
    );
    // --all: one JSON object a line, by position.
    let all = stdout_of(
        &s.run(&["prove", "RS-131-2024-PCM", "--all", "--json"])
            .success(),
    );
    let seqs: Vec<u64> = all
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [5, 6, 7]);
    // An event of another act, and the flags on a position, are refused.
    s.run(&["prove", "RS-131-2024-PCM", "--event", "2"])
        .code(1)
        .stderr(contains(
            "entry 2 is not an event of RS-131-2024-PCM: its events are at 5, 6, 7",
        ));
    s.run(&["prove", "5", "--all"])
        .code(1)
        .stderr(contains("--event and --all go with an ACT"));
}

#[test]
fn a_missing_vkey_file_is_said_to_be_missing() {
    let s = Sandbox::new();
    s.run(&[
        "check-proof",
        "--vkey",
        "nosuch.vkey",
        "--checkpoint",
        "cp",
        "proof.json",
    ])
    .code(1)
    .stderr(contains("--vkey \"nosuch.vkey\": no such file"));
    s.run(&[
        "check-proof",
        "--vkey",
        "a+b+c",
        "--checkpoint",
        "cp",
        "proof.json",
    ])
    .code(1)
    .stderr(contains("is not a verifier key line"));
}
