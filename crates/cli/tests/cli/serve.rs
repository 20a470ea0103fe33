//! `actledger serve`: it answers over HTTP, holds the ledger (other commands say where), and
//! stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use predicates::str::contains;

use crate::Sandbox;

fn get(url: &str, path: &str) -> String {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// `serve` on the sandbox's ledger at a free loopback port, once it says where: the process
/// and its URL.
fn serve(s: &Sandbox) -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_actledger"))
        .args(["--ledger", s.ledger().to_str().unwrap()])
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        first.starts_with("serving ") && url.starts_with("http://127.0.0.1:"),
        "{first}"
    );
    (server, url)
}

#[test]
fn serve_answers_holds_the_ledger_and_stops_on_sigterm() {
    let s = Sandbox::seeded();
    let (mut server, url) = serve(&s);

    let health = get(&url, "/healthz");
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    assert!(health.contains(r#""size":7"#), "{health}");
    let holder = get(&url, "/api/v1/offices/MINDEF/holder?on=2024-06-03");
    assert!(holder.contains(r#""capacity":"acting""#), "{holder}");

    // Without waiting, a command is told who holds the ledger; waiting, it borrows the ledger
    // from the server and answers as alone, and so do several at once.
    s.run(&["--wait", "0", "who-held", "MINDEF", "--on", "2024-06-03"])
        .code(1)
        .stderr(contains(format!("is held by actledger serve at {url}")));
    let beside: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_actledger"))
                .env("ACTLEDGER_LEDGER", s.ledger())
                .args(["who-held", "MINDEF", "--on", "2024-06-03"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in beside {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(output.stderr.is_empty(), "{output:?}");
        assert_eq!(String::from_utf8(output.stdout).unwrap(), SEED_SENTENCE);
    }
    // `compact` replaces the ledger's folder, so it never borrows it: it is refused, naming
    // the server, once its wait is over.
    s.run(&["--wait", "1", "compact"])
        .code(1)
        .stderr(contains(format!("held by actledger serve at {url}")));
    // The server answers after the loans as before them.
    let holder_after = get(&url, "/api/v1/offices/MINDEF/holder?on=2024-06-03");
    assert_eq!(
        holder_after.split("\r\n\r\n").nth(1),
        holder.split("\r\n\r\n").nth(1)
    );

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    assert!(exit.success(), "serve exits 0 on SIGTERM: {exit:?}");
    s.run(&["who-held", "MINDEF", "--on", "2024-06-03"])
        .success()
        .stdout(SEED_SENTENCE);
}

/// `who-held MINDEF --on 2024-06-03` on the seed case, alone.
const SEED_SENTENCE: &str = "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter Astudillo away (trip, RS-131-2024-PCM)\n";

#[test]
fn an_append_beside_a_server_compacts_nothing_and_the_server_answers_on() {
    let s = Sandbox::new();
    s.run(&["init"]).success();
    let big = s.write("big.ndjson", &crate::derived::many_acts(8_000));
    s.run(&["append", "--quiet", big.to_str().unwrap()])
        .success();
    let (mut server, url) = serve(&s);
    // As if the folder had grown far past its size after its last compaction.
    std::fs::write(s.ledger().join("compacted-bytes"), "1000\n").unwrap();
    // The append borrows the ledger from the server: recorded, and nothing compacted.
    s.cmd()
        .args(["append", "-"])
        .write_stdin(crate::SEED)
        .assert()
        .code(0)
        .stderr("");
    let holder = get(&url, "/api/v1/offices/MINDEF/holder?on=2024-06-03");
    assert!(holder.contains(r#""capacity":"acting""#), "{holder}");
    assert!(holder.contains("jose-arista"), "{holder}");

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.wait().unwrap().success());
    // Alone, the next small append finds the folder past its bound and compacts it (once the
    // file holds more than its records, as many small appends leave it).
    crate::derived::bloat(&s.ledger());
    let act = r#"{"type":"act_issued","act":"RS-999-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-12-01"}"#;
    s.cmd()
        .args(["append", "-"])
        .write_stdin(act)
        .assert()
        .code(0)
        .stderr(contains("compacted to"));
}
