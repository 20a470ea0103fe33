//! `clone SOURCE LEDGER --vkey VKEY` from a folder `publish` wrote: the same entries, head and
//! answers; a changed bundle, a changed tile or another key's checkpoint refused with exit 3
//! and no ledger left; a clone brought up to date fetches only what is new; a mirror that
//! rewrote history is refused and the clone stays as it was; a running `serve` is cloned from
//! its `/tlog` prefix as a folder is.

use predicates::prelude::*;
use predicates::str::contains;

use crate::{SEED, Sandbox, stdout_of};

const VKEY: &str = "keys/example.org_actledger.vkey";
const KEY: &str = "keys/example.org_actledger.key";

fn published() -> Sandbox {
    let s = Sandbox::seeded();
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    s.run(&["publish", "site", "--key", KEY]).success();
    s
}

fn json(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_str(&stdout_of(assert)).unwrap()
}

/// The names in the sandbox's folder, to show nothing was left behind.
fn names(s: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_clone_has_the_same_head_and_answers() {
    let s = published();
    let cloned = s
        .run(&["clone", "site", "copy.db", "--vkey", VKEY])
        .success()
        .stderr("");
    let text = stdout_of(&cloned);
    assert!(
        text.starts_with("cloned 7 entries of example.org/actledger into copy.db, verified against the checkpoint (root "),
        "{text}"
    );
    let copy = s.dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    s.run(&["--ledger", copy, "head", "--json"])
        .success()
        .stdout(s.head());
    for args in [
        vec!["who-held", "MINDEF", "--on", "2024-06-03", "--json"],
        vec!["state", "--on", "2024-06-03", "--json"],
        vec!["export"],
    ] {
        let source = stdout_of(&s.run(&args).success());
        let mut with_copy = vec!["--ledger", copy];
        with_copy.extend_from_slice(&args);
        s.run(&with_copy).success().stdout(source);
    }
    // The clone keeps the mirror's checkpoint: it verifies, statement included, and proves.
    s.run(&["--ledger", copy, "verify"]).success();
    s.run(&[
        "--ledger",
        copy,
        "who-held",
        "MINDEF",
        "--on",
        "2024-06-03",
        "--proof",
        "answer.json",
    ])
    .success();
    s.run(&["check-answer", "--vkey", VKEY, "answer.json"])
        .success()
        .stdout(contains("José Arista Arbildo, acting"));
}

#[test]
fn a_mirror_that_does_not_verify_is_refused_and_leaves_nothing() {
    let s = published();
    let site = s.dir.path().join("site");
    let before = names(&s);
    let refuse = |what: &str, message: &str| {
        s.run(&["clone", "site", "copy.db", "--vkey", VKEY])
            .code(3)
            .stdout("")
            .stderr(contains(message).and(contains("nothing was cloned")));
        assert_eq!(names(&s), before, "{what} left something behind");
    };
    // A byte of an entry in its bundle.
    let bundle = site.join("tile/entries/000.p/7");
    let original = std::fs::read(&bundle).unwrap();
    let at = original.windows(6).position(|w| w == b"MINDEF").unwrap();
    let mut changed = original.clone();
    changed[at + 5] = b'X';
    std::fs::write(&bundle, &changed).unwrap();
    refuse(
        "a changed bundle",
        "do not hash to its checkpoint's root of size 7",
    );
    std::fs::write(&bundle, &original).unwrap();
    // A byte of a tile.
    let tile = site.join("tile/0/000.p/7");
    let original = std::fs::read(&tile).unwrap();
    let mut changed = original.clone();
    changed[100] ^= 1;
    std::fs::write(&tile, &changed).unwrap();
    refuse("a changed tile", "tile/0/000.p/7 does not hold the hashes");
    std::fs::write(&tile, &original).unwrap();
    // A checkpoint another key signed.
    s.run(&["keygen", "example.org/other", "--out", "keys"])
        .success();
    let before = names(&s);
    s.run(&[
        "clone",
        "site",
        "copy.db",
        "--vkey",
        "keys/example.org_other.vkey",
    ])
    .code(3)
    .stdout("")
    .stderr(contains("does not verify with key example.org/other"));
    assert_eq!(
        names(&s),
        before,
        "another key's checkpoint left something behind"
    );
    // Whole again, it clones.
    s.run(&["clone", "site", "copy.db", "--vkey", VKEY])
        .success();
}

#[test]
fn a_clone_run_again_fetches_only_what_is_new() {
    let s = published();
    s.run(&["clone", "site", "copy.db", "--vkey", VKEY])
        .success();
    let again = json(
        &s.run(&["clone", "site", "copy.db", "--vkey", VKEY, "--json"])
            .success(),
    );
    assert_eq!(
        again["fetched"],
        serde_json::json!(["checkpoint", "statement"])
    );
    assert_eq!(again["previous_size"], 7);
    s.run(&[
        "append",
        "act",
        "--act",
        "RS-300-2024-PCM",
        "--kind",
        "ley",
        "--issuer",
        "PCM",
        "--issued-on",
        "2024-07-01",
    ])
    .success();
    s.run(&["publish", "site", "--key", KEY]).success();
    let grown = json(
        &s.run(&["clone", "site", "copy.db", "--vkey", VKEY, "--json"])
            .success(),
    );
    assert_eq!(
        grown["fetched"],
        serde_json::json!([
            "checkpoint",
            "statement",
            "tile/entries/000.p/8",
            "tile/0/000.p/8"
        ])
    );
    assert_eq!(grown["previous_size"], 7);
    assert_eq!(grown["size"], 8);
    let copy = s.dir.path().join("copy.db");
    let copy_head = stdout_of(
        &s.run(&["--ledger", copy.to_str().unwrap(), "head", "--json"])
            .success(),
    );
    assert_eq!(copy_head, s.head());
    s.run(&["--ledger", copy.to_str().unwrap(), "verify"])
        .success();
}

#[test]
fn a_mirror_that_rewrote_history_is_refused_and_the_clone_stays() {
    let s = published();
    s.run(&["clone", "site", "copy.db", "--vkey", VKEY])
        .success();
    let copy = s.dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    let before = stdout_of(&s.run(&["--ledger", copy, "export"]).success());
    // Another ledger, signed with the same key: the seed with one event fewer, then others.
    let other = s.dir.path().join("other.db");
    let other = other.to_str().unwrap();
    s.run(&["--ledger", other, "init"]).success();
    let shorter: Vec<&str> = SEED.lines().take(6).collect();
    s.cmd()
        .args(["--ledger", other, "append", "-"])
        .write_stdin(shorter.join("\n"))
        .assert()
        .success();
    for n in 0..3 {
        s.run(&[
            "--ledger",
            other,
            "append",
            "act",
            "--act",
            &format!("RS-40{n}-2024-PCM"),
            "--kind",
            "ley",
            "--issuer",
            "PCM",
            "--issued-on",
            "2024-07-01",
        ])
        .success();
    }
    s.run(&["--ledger", other, "publish", "rewritten", "--key", KEY])
        .success();
    s.run(&["clone", "rewritten", "copy.db", "--vkey", VKEY])
        .code(3)
        .stdout("")
        .stderr(contains("does not extend the clone's 7 entries"));
    s.run(&["--ledger", copy, "export"])
        .success()
        .stdout(before);
    s.run(&["--ledger", copy, "verify"]).success();
}

/// Serves the files under `root` over HTTP/1.1 on a local port, one connection at a time,
/// each closed after its answer, until the test process ends; returns the URL of `root`.
fn serve_folder(root: std::path::PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the empty line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let file = root.join(path.trim_start_matches('/'));
            let answer = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let mut answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    answer.extend(body);
                    answer
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&answer);
        }
    });
    url
}

#[test]
fn a_clone_over_http_checks_the_same_and_brings_the_same_ledger() {
    let s = published();
    let url = serve_folder(s.dir.path().to_owned());
    let site = format!("{url}/site/");
    let cloned = json(
        &s.run(&["clone", &site, "copy.db", "--vkey", VKEY, "--json"])
            .success(),
    );
    assert_eq!(
        cloned["fetched"],
        serde_json::json!([
            "checkpoint",
            "statement",
            "tile/entries/000.p/7",
            "tile/0/000.p/7"
        ])
    );
    let copy = s.dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    s.run(&["--ledger", copy, "head", "--json"])
        .success()
        .stdout(s.head());
    // A changed tile served: exit 3, and the clone stays as it was.
    let tile = s.dir.path().join("site/tile/0/000.p/7");
    let mut changed = std::fs::read(&tile).unwrap();
    changed[3] ^= 1;
    std::fs::write(&tile, &changed).unwrap();
    s.run(&["clone", &site, "other.db", "--vkey", VKEY])
        .code(3)
        .stderr(contains(format!(
            "{url}/site/tile/0/000.p/7 does not hold the hashes"
        )));
    assert!(!s.dir.path().join("other.db").exists());
    // A mirror that is not there: an error naming the URL, exit 1.
    s.run(&[
        "clone",
        &format!("{url}/nowhere"),
        "other.db",
        "--vkey",
        VKEY,
    ])
    .code(1)
    .stderr(contains(format!("fetching {url}/nowhere/checkpoint")));
    assert!(!s.dir.path().join("other.db").exists());
}

/// A running `actledger serve`, stopped when dropped (a failing test included).
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `actledger serve` over the sandbox's ledger on a loopback port, and its URL.
fn serving(s: &Sandbox) -> (Serving, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut server = Command::new(env!("CARGO_BIN_EXE_actledger"))
        .args([
            "--ledger",
            s.ledger().to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_owned();
    let server = Serving(server);
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (server, url)
}

#[test]
fn a_clone_from_a_running_serve_under_tlog_is_the_served_ledger_and_catches_up() {
    let s = Sandbox::seeded();
    s.run(&["keygen", "example.org/actledger", "--out", "keys"])
        .success();
    let (server, url) = serving(&s);
    // Nothing is served before a checkpoint is kept: clone says so and makes nothing.
    s.run(&["clone", &format!("{url}/tlog"), "copy.db", "--vkey", VKEY])
        .code(1)
        .stderr(contains(format!("fetching {url}/tlog/checkpoint")));
    assert!(!s.dir.path().join("copy.db").exists());
    // `checkpoint --key` borrows the ledger from the server and keeps a checkpoint in it.
    s.run(&["checkpoint", "--key", KEY]).success();
    let cloned = json(
        &s.run(&[
            "clone",
            &format!("{url}/tlog"),
            "copy.db",
            "--vkey",
            VKEY,
            "--json",
        ])
        .success(),
    );
    assert_eq!(
        cloned["fetched"],
        serde_json::json!([
            "checkpoint",
            "statement",
            "tile/entries/000.p/7",
            "tile/0/000.p/7"
        ])
    );
    let copy = s.dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    s.run(&["--ledger", copy, "head", "--json"])
        .success()
        .stdout(s.head());
    // An answer with its proof from the server's /tlog alone, as from a folder.
    s.run(&[
        "fetch-answer",
        &format!("{url}/tlog"),
        "MINDEF",
        "--on",
        "2024-06-03",
        "--vkey",
        VKEY,
        "--proof",
        "answer.json",
    ])
    .success()
    .stdout(contains("José Arista Arbildo, acting"));
    s.run(&["check-answer", "--vkey", VKEY, "answer.json"])
        .success()
        .stdout(contains(
            "checked against the checkpoint of example.org/actledger at size 7",
        ));
    // With a trailing slash, the same.
    s.run(&["clone", &format!("{url}/tlog/"), "slash.db", "--vkey", VKEY])
        .success();
    s.run(&["--ledger", "slash.db", "head", "--json"])
        .success()
        .stdout(s.head());
    // An append through the server's lending, then a new checkpoint: the clone run again
    // fetches only what is new.
    s.run(&[
        "append",
        "act",
        "--act",
        "RS-300-2024-PCM",
        "--kind",
        "ley",
        "--issuer",
        "PCM",
        "--issued-on",
        "2024-07-01",
    ])
    .success();
    s.run(&["checkpoint", "--key", KEY]).success();
    let grown = json(
        &s.run(&[
            "clone",
            &format!("{url}/tlog"),
            "copy.db",
            "--vkey",
            VKEY,
            "--json",
        ])
        .success(),
    );
    assert_eq!(
        grown["fetched"],
        serde_json::json!([
            "checkpoint",
            "statement",
            "tile/entries/000.p/8",
            "tile/0/000.p/8"
        ])
    );
    assert_eq!(grown["previous_size"], 7);
    s.run(&["--ledger", copy, "head", "--json"])
        .success()
        .stdout(s.head());
    s.run(&["--ledger", copy, "verify"]).success();
    drop(server);
}
