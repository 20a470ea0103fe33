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
        text.ends_with("\n7 files written, 0 left as they were\n"),
        "{text}"
    );
    for file in [
        "checkpoint",
        "statement",
        "tile/0/000.p/7",
        "tile/entries/000.p/7",
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
    assert_eq!(value["unchanged"], 7);
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
