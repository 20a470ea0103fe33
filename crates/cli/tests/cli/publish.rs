//! `publish DIR --key KEY` through the command line: the sentence and the JSON, nothing written
//! the second time, and a folder that another key's checkpoint holds refused with exit 3.

use predicates::str::contains;

use crate::{Sandbox, stdout_of};

fn keygen(s: &Sandbox, name: &str) -> String {
    s.run(&["keygen", name, "--out", "keys"]).success();
    let file = s
        .dir
        .path()
        .join(format!("keys/{}.key", name.replace('/', "_")));
    file.to_string_lossy().into_owned()
}

#[test]
fn publish_writes_a_mirror_then_nothing_when_nothing_is_new() {
    let s = Sandbox::seeded();
    let key = keygen(&s, "example.org/actledger");
    let first = s
        .run(&["publish", "site", "--key", &key])
        .success()
        .stderr("");
    let text = stdout_of(&first);
    assert!(
        text.starts_with("published 7 entries of example.org/actledger at site, root "),
        "{text}"
    );
    assert!(
        text.ends_with("\n13 files written, 0 left as they were\n"),
        "{text}"
    );
    for file in [
        "checkpoint",
        "statement",
        "tile/0/000.p/7",
        "tile/entries/000.p/7",
        "state/offices.json",
        "state/offices/MINDEF.json",
        "state/offices/MEF.json",
        "data/holdings.csv",
        "data/popolo.json",
        "data/ftm.ndjson",
        "index.html",
        "offices/MINDEF.html",
        "offices/MEF.html",
    ] {
        assert!(s.dir.path().join("site").join(file).is_file(), "{file}");
    }
    // The checkpoint is the one `checkpoint --key` signs, and it is kept in the ledger too.
    let checkpoint = std::fs::read_to_string(s.dir.path().join("site/checkpoint")).unwrap();
    s.run(&["checkpoint", "--key", &key])
        .success()
        .stdout(checkpoint);

    let again = s
        .run(&["publish", "site", "--key", &key, "--json"])
        .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&again)).unwrap();
    assert_eq!(value["size"], 7);
    assert_eq!(value["origin"], "example.org/actledger");
    assert_eq!(value["previous_size"], 7);
    assert_eq!(value["written"], serde_json::json!([]));
    assert_eq!(value["unchanged"], 13);
    assert_eq!(value["root"].as_str().unwrap().len(), 64);
    s.run(&["publish", "site", "--key", &key]).success().stdout(
        "the mirror at site is up to date: 7 entries of example.org/actledger, nothing written\n",
    );
}

#[test]
fn publish_refuses_a_folder_another_key_signed_with_exit_3() {
    let s = Sandbox::seeded();
    let key = keygen(&s, "example.org/actledger");
    let other = keygen(&s, "example.org/other");
    s.run(&["publish", "site", "--key", &key]).success();
    let before = std::fs::read(s.dir.path().join("site/checkpoint")).unwrap();
    s.run(&["publish", "site", "--key", &other])
        .code(3)
        .stdout("")
        .stderr(contains(
            "site/checkpoint does not verify with key example.org/other",
        ));
    assert_eq!(
        std::fs::read(s.dir.path().join("site/checkpoint")).unwrap(),
        before
    );
}

#[test]
fn publish_into_a_file_is_refused_before_anything_is_signed_or_kept() {
    let s = Sandbox::seeded();
    let key = keygen(&s, "example.org/actledger");
    s.write("site", "not a folder");
    let records = |s: &Sandbox| {
        let db = actledger_store::testing::Sled::open(&s.ledger()).unwrap();
        db.iter().count()
    };
    let before = records(&s);
    s.run(&["publish", "site", "--key", &key])
        .failure()
        .stdout("")
        .stderr(contains("site"));
    assert_eq!(records(&s), before, "no checkpoint kept");
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("site")).unwrap(),
        "not a folder"
    );
}

#[test]
fn fetch_answer_answers_from_the_mirror_alone_with_a_bundle_anyone_checks() {
    let s = Sandbox::seeded();
    let key = keygen(&s, "example.org/actledger");
    let vkey = key.replace(".key", ".vkey");
    s.run(&["publish", "site", "--key", &key]).success();
    let sentence = "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n";
    // No ledger is opened: run from a folder that has none, with none named.
    let fetched = bare(
        &s,
        &[
            "fetch-answer",
            "site",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--vkey",
            &vkey,
            "--proof",
            "answer.json",
        ],
    )
    .success()
    .stderr("");
    assert_eq!(
        stdout_of(&fetched),
        format!("{sentence}checked against the checkpoint of example.org/actledger at size 7\n")
    );
    let checked = bare(
        &s,
        &["check-answer", "--vkey", &vkey, "answer.json", "--json"],
    )
    .success();
    let value: serde_json::Value = serde_json::from_str(&stdout_of(&checked)).unwrap();
    assert_eq!(value["holder"]["name"], "José Arista Arbildo");
    assert_eq!(value["checkpoint"]["size"], 7);
    // The same answer as who-held on the ledger.
    let asked = s
        .run(&["who-held", "MINDEF", "--on", "2024-06-03", "--json"])
        .success();
    let asked: serde_json::Value = serde_json::from_str(&stdout_of(&asked)).unwrap();
    let fetched = bare(
        &s,
        &[
            "fetch-answer",
            "site",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--vkey",
            &vkey,
            "--json",
        ],
    )
    .success();
    let mut fetched: serde_json::Value = serde_json::from_str(&stdout_of(&fetched)).unwrap();
    fetched.as_object_mut().unwrap().remove("checkpoint");
    assert_eq!(fetched, asked);

    // A segment altered in the mirror: exit 3, naming the office's file, no bundle written.
    let file = s.dir.path().join("site/state/offices/MINDEF.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("Walter Astudillo", "Walter Astudilo")).unwrap();
    bare(
        &s,
        &[
            "fetch-answer",
            "site",
            "MINDEF",
            "--on",
            "2024-06-03",
            "--vkey",
            &vkey,
            "--proof",
            "forged.json",
        ],
    )
    .code(3)
    .stderr(contains("state/offices/MINDEF.json"));
    assert!(!s.dir.path().join("forged.json").exists());
}

/// `args` run with `--ledger` naming a path where no ledger is, which must stay so.
fn bare(s: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    let none = s.dir.path().join("none.db");
    let assert = s.cmd().env("ACTLEDGER_LEDGER", &none).args(args).assert();
    assert!(!none.exists(), "{args:?} made a ledger");
    assert
}
