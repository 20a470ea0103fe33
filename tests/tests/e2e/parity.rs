//! One answer per question: every question asked through the CLI's `--json` and through the
//! HTTP API of `actledger serve` must give the same JSON, over a generated ledger with
//! revocations, retractions and "as of" points before any office was known.
//!
//! The CLI runs first, alone; then the same CLI questions are asked again beside a running
//! server, which lends them its ledger, and the server answers the same table of questions
//! over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::support::actledger;

/// One question, as the CLI asks it and as the HTTP API does.
struct Question {
    cli: Vec<String>,
    http: String,
    /// The part of the HTTP answer that is the CLI's answer (`None`: all of it).
    keep: Option<&'static [&'static str]>,
}

fn ask(cli: &[&str], http: String) -> Question {
    Question {
        cli: cli.iter().map(|s| (*s).to_owned()).collect(),
        http,
        keep: None,
    }
}

/// The CLI's answer: its JSON output (one value, or NDJSON lines as an array).
fn cli_json(ledger: &Path, args: &[String]) -> Value {
    let output = actledger(ledger).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "actledger {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_json_or_lines(&output.stdout)
}

fn parse_json_or_lines(bytes: &[u8]) -> Value {
    let text = std::str::from_utf8(bytes).unwrap();
    match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => Value::Array(
            text.lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect(),
        ),
    }
}

/// Appends the events of `input` through the CLI, which must accept them.
fn append_file(ledger: &Path, input: &Path) {
    let appended = actledger(ledger).arg("append").arg(input).output().unwrap();
    assert!(
        appended.status.success(),
        "{}",
        String::from_utf8_lossy(&appended.stderr)
    );
}

/// A running `actledger serve`, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(ledger: &Path, token_file: &Path) -> Server {
    let mut child = actledger(ledger)
        .args(["serve", "--addr", "127.0.0.1:0", "--token-file"])
        .arg(token_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // "serving PATH at http://ADDR"
    let addr = first
        .trim()
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    assert!(!addr.is_empty(), "serve said {first:?}");
    Server { child, addr }
}

/// One HTTP/1.1 exchange: the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "answers carry a length: {head}"
    );
    (status, response[split + 4..].to_vec())
}

fn http_json(addr: &str, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path, &[], b"");
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    parse_json_or_lines(&body)
}

fn kept(value: Value, keep: Option<&[&str]>) -> Value {
    match (keep, value) {
        (Some(keys), Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .collect(),
        ),
        (_, value) => value,
    }
}

/// The hashes of entries differ between two ledgers that recorded the same events at other
/// times; everything else of an append report must agree.
fn without_hashes(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("hash");
            for v in map.values_mut() {
                *v = without_hashes(v.take());
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                *v = without_hashes(v.take());
            }
        }
        _ => {}
    }
    value
}

/// The generated events, and what the questions pick from them.
struct Picked {
    offices: Vec<String>,
    acts: Vec<String>,
    /// The position where each of `acts` was picked: the act is known as of it.
    act_seqs: Vec<u64>,
    days: Vec<String>,
    head: u64,
    first_office_seq: u64,
}

fn pick(ledger: &Path) -> Picked {
    let log = cli_json(ledger, &["log".into(), "--json".into()]);
    let mut offices = Vec::new();
    let mut acts = Vec::new();
    let mut act_seqs = Vec::new();
    let mut days = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut first_office_seq = 0;
    let entries = log.as_array().unwrap();
    for entry in entries {
        let event = &entry["event"];
        kinds.insert(event["type"].as_str().unwrap().to_owned());
        if let Some(office) = event["office"].as_str() {
            if first_office_seq == 0 {
                first_office_seq = entry["seq"].as_u64().unwrap();
            }
            if !offices.contains(&office.to_owned()) && offices.len() < 6 {
                offices.push(office.to_owned());
            }
        }
        if event["type"] == "act_revoked" || event["type"] == "trip_authorized" {
            for key in ["act", "revokes"] {
                if let Some(act) = event[key].as_str()
                    && !acts.contains(&act.to_owned())
                    && acts.len() < 8
                {
                    acts.push(act.to_owned());
                    act_seqs.push(entry["seq"].as_u64().unwrap());
                }
            }
        }
        for key in ["on", "from"] {
            if let Some(day) = event[key].as_str()
                && days.len() < 6
                && entry["seq"].as_u64().unwrap() % 37 == 0
            {
                days.push(day.to_owned());
            }
        }
    }
    for kind in [
        "act_revoked",
        "record_retracted",
        "trip_authorized",
        "duties_delegated",
    ] {
        assert!(
            kinds.contains(kind),
            "the generated ledger has no {kind}: {kinds:?}"
        );
    }
    assert!(
        first_office_seq > 1,
        "the ledger starts with an act, before any office"
    );
    Picked {
        offices,
        acts,
        act_seqs,
        days,
        head: entries.len() as u64,
        first_office_seq,
    }
}

fn questions(p: &Picked) -> Vec<Question> {
    let mut questions = Vec::new();
    // Before any office was known, in the middle, and at the head.
    let points = [1, p.first_office_seq, p.head / 2, p.head];
    for day in &p.days {
        for as_of in points {
            questions.push(ask(
                &[
                    "state",
                    "--on",
                    day,
                    "--as-of",
                    &as_of.to_string(),
                    "--json",
                ],
                format!("/api/v1/state?on={day}&as_of={as_of}"),
            ));
        }
        questions.push(ask(
            &["state", "--on", day, "--json"],
            format!("/api/v1/state?on={day}"),
        ));
        for office in &p.offices {
            for as_of in [p.head / 2, p.head] {
                questions.push(ask(
                    &[
                        "who-held",
                        office,
                        "--on",
                        day,
                        "--as-of",
                        &as_of.to_string(),
                        "--json",
                    ],
                    format!("/api/v1/offices/{office}/holder?on={day}&as_of={as_of}"),
                ));
            }
            questions.push(ask(
                &["who-held", office, "--on", day, "--json"],
                format!("/api/v1/offices/{office}/holder?on={day}"),
            ));
        }
    }
    for office in &p.offices {
        questions.push(Question {
            keep: Some(&["office", "as_of", "history"]),
            ..ask(
                &["history", office, "--json"],
                format!("/api/v1/offices/{office}/timeline"),
            )
        });
        for as_of in [p.first_office_seq, p.head / 2] {
            questions.push(Question {
                keep: Some(&["office", "as_of", "history"]),
                ..ask(
                    &["history", office, "--as-of", &as_of.to_string(), "--json"],
                    format!("/api/v1/offices/{office}/timeline?as_of={as_of}"),
                )
            });
        }
        // A day before any record: no record, not vacant.
        questions.push(ask(
            &["who-held", office, "--on", "1900-01-01", "--json"],
            format!("/api/v1/offices/{office}/holder?on=1900-01-01"),
        ));
        // Part of the id, in lower case: the search ignores case.
        let part = office.to_lowercase().chars().take(3).collect::<String>();
        questions.push(ask(
            &["offices", &part, "--json"],
            format!("/api/v1/offices?query={part}"),
        ));
    }
    for (act, seq) in p.acts.iter().zip(&p.act_seqs) {
        questions.push(ask(&["show", act, "--json"], format!("/api/v1/acts/{act}")));
        questions.push(ask(
            &["show", act, "--as-of", &seq.to_string(), "--json"],
            format!("/api/v1/acts/{act}?as_of={seq}"),
        ));
    }
    questions.push(ask(&["audit", "--json"], "/api/v1/audit".into()));
    for as_of in [1, p.first_office_seq, p.head / 2] {
        questions.push(ask(
            &["audit", "--as-of", &as_of.to_string(), "--json"],
            format!("/api/v1/audit?as_of={as_of}"),
        ));
        questions.push(ask(
            &["offices", "--as-of", &as_of.to_string(), "--json"],
            format!("/api/v1/offices?as_of={as_of}"),
        ));
    }
    questions.push(ask(&["offices", "--json"], "/api/v1/offices".into()));
    questions.push(ask(
        &["log", "--from", "3", "--limit", "40", "--json"],
        "/api/v1/entries?from=3&limit=40".into(),
    ));
    for seq in [1, p.head / 3, p.head] {
        questions.push(Question {
            keep: Some(&[
                "seq",
                "leaf_index",
                "tree_size",
                "leaf_hash",
                "proof",
                "entry",
            ]),
            ..ask(
                &["prove", &seq.to_string(), "--json"],
                format!("/api/v1/entries/{seq}/proof"),
            )
        });
    }
    questions.push(ask(
        &[
            "prove",
            "--from",
            "2",
            "--to",
            &p.head.to_string(),
            "--json",
        ],
        format!("/api/v1/proof/consistency?first=2&second={}", p.head),
    ));
    questions
}

#[test]
fn the_cli_and_the_http_api_give_the_same_answer_to_every_question() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let mut events = Vec::new();
    actledger_gen::Generator::new(crate::support::seed("parity"))
        .write_ndjson(1_500, &mut events)
        .unwrap();
    let input = dir.path().join("events.ndjson");
    std::fs::write(&input, &events).unwrap();
    assert!(actledger(&ledger).arg("init").status().unwrap().success());
    append_file(&ledger, &input);

    let picked = pick(&ledger);
    let questions = questions(&picked);
    let by_cli: Vec<Value> = questions
        .iter()
        .map(|q| cli_json(&ledger, &q.cli))
        .collect();
    // The same append through both edges, on two copies of the ledger.
    let copy = dir.path().join("copy.db");
    crate::support::copy_dir(&ledger, &copy);
    let batch = [
        events.split(|b| *b == b'\n').next().unwrap().to_vec(),
        br#"{"type":"act_issued","act":"RS-999-2099-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2099-01-01"}"#.to_vec(),
    ]
    .join(&b'\n');
    let batch_file = dir.path().join("batch.ndjson");
    std::fs::write(&batch_file, &batch).unwrap();
    let appended_by_cli = cli_json(
        &copy,
        &[
            "append".into(),
            "--json".into(),
            batch_file.display().to_string(),
        ],
    );

    let token_file = dir.path().join("token");
    let server = serve(&ledger, &token_file);
    let mut differ = Vec::new();
    // Beside the running server, commands borrow its ledger: four at a time, each answers as
    // it did alone.
    for (chunk, answers) in questions.chunks(4).zip(by_cli.chunks(4)) {
        let running: Vec<_> = chunk
            .iter()
            .map(|q| {
                let child = actledger(&ledger)
                    .args(["--wait", "60"])
                    .args(&q.cli)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (q, child)
            })
            .collect();
        for ((question, child), alone) in running.into_iter().zip(answers) {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "beside the server, actledger {:?}: {}",
                question.cli,
                String::from_utf8_lossy(&output.stderr)
            );
            let beside = parse_json_or_lines(&output.stdout);
            if beside != *alone {
                differ.push(format!(
                    "actledger {} beside the server\n  alone:  {alone}\n  beside: {beside}",
                    question.cli.join(" ")
                ));
            }
        }
    }
    for (question, cli) in questions.iter().zip(by_cli) {
        let served = kept(http_json(&server.addr, &question.http), question.keep);
        let cli = kept(cli, question.keep);
        if served != cli {
            differ.push(format!(
                "actledger {}\n  cli:  {cli}\n  http: {served}",
                question.cli.join(" ")
            ));
        }
    }
    let token = std::fs::read_to_string(&token_file).unwrap();
    let bearer = format!("Bearer {}", token.trim());
    let (status, body) = http(
        &server.addr,
        "POST",
        "/api/v1/events",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/x-ndjson"),
        ],
        &batch,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let appended_by_http: Value = serde_json::from_slice(&body).unwrap();
    if without_hashes(appended_by_http.clone()) != without_hashes(appended_by_cli.clone()) {
        differ.push(format!(
            "append\n  cli:  {appended_by_cli}\n  http: {appended_by_http}"
        ));
    }
    assert!(
        differ.is_empty(),
        "{} of {} questions answered differently:\n{}",
        differ.len(),
        questions.len() + 1,
        differ.join("\n")
    );
    assert!(questions.len() > 60, "only {} questions", questions.len());
}

/// The two divergences the issue found, asked directly.
#[test]
fn state_as_of_a_point_before_any_office_and_unattended_days_agree() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    assert!(actledger(&ledger).arg("init").status().unwrap().success());
    let acts: String = (1..=3)
        .map(|n| format!("{{\"type\":\"act_issued\",\"act\":\"RS-00{n}-2024-PCM\",\"kind\":\"resolucion_suprema\",\"issuer\":\"PCM\",\"issued_on\":\"2024-01-0{n}\"}}\n"))
        .collect();
    let input = dir.path().join("acts.ndjson");
    std::fs::write(&input, acts).unwrap();
    assert!(
        actledger(&ledger)
            .arg("append")
            .arg(&input)
            .status()
            .unwrap()
            .success()
    );
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let by_cli = cli_json(
        &ledger,
        &args(&["state", "--on", "2024-06-01", "--as-of", "1", "--json"]),
    );
    assert_eq!(
        by_cli,
        json!({"on": "2024-06-01", "as_of": 1, "offices": []})
    );

    // Two trips back to back with nobody in charge: one run of unattended days in both.
    let seed = [
        r#"{"type":"act_issued","act":"RS-010-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-02-01"}"#,
        r#"{"type":"appointed","act":"RS-010-2024-PCM","person":"ana","office":"MINDEF","on":"2024-02-01"}"#,
        r#"{"type":"act_issued","act":"RS-011-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}"#,
        r#"{"type":"trip_authorized","act":"RS-011-2024-PCM","person":"ana","office":"MINDEF","from":"2024-03-02","until":"2024-03-04"}"#,
        r#"{"type":"act_issued","act":"RS-012-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-03-01"}"#,
        r#"{"type":"trip_authorized","act":"RS-012-2024-PCM","person":"ana","office":"MINDEF","from":"2024-03-05","until":"2024-03-06"}"#,
    ]
    .join("\n");
    std::fs::write(&input, seed).unwrap();
    append_file(&ledger, &input);
    let audit = cli_json(&ledger, &args(&["audit", "--json"]));
    let unattended: Vec<&Value> = audit["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "unattended_office")
        .collect();
    assert_eq!(unattended.len(), 1, "{audit}");

    let token_file = dir.path().join("token");
    let server = serve(&ledger, &token_file);
    let served = http_json(&server.addr, "/api/v1/state?on=2024-06-01&as_of=1");
    assert_eq!(served, by_cli);
    let timeline = http_json(&server.addr, "/api/v1/offices/MINDEF/timeline");
    let days = timeline["unattended"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{timeline}");
    for key in ["from", "until", "events"] {
        assert_eq!(days[0][key], unattended[0][key], "{key}");
    }
    assert_eq!(
        days[0]["trip_acts"],
        json!(["RS-011-2024-PCM", "RS-012-2024-PCM"])
    );
}
