//! Data-driven fixtures that read like the spec: events in, answers out.
//!
//! Each file in `tests/fixtures/` is one case:
//!
//! ```text
//! # what the spec says, in a sentence
//! events
//! {"type":"act_issued",...}            every line must be accepted (NDJSON)
//! batch                                optional: a further batch, appended after the events
//! {...}
//! expect
//! who-held MINDEF 2024-06-03 => jose-arista acting RS-131-2024-PCM; titular walter-astudillo away RS-131-2024-PCM
//! who-held MINDEF 2024-06-05 as-of 3 => walter-astudillo titular RS-001; titular walter-astudillo present
//! who-held MINDEF 2024-01-01 => vacant
//! name walter-astudillo => Walter Astudillo
//! rejected line 2 field "until": is not a date        (the batch is refused; the text is a substring)
//! recorded line 1 at 7 | already line 2 at 3           (outcomes of the batch)
//! anomaly unattended_office MINDEF 2024-06-02..2024-06-04 events 3
//! anomalies 2                                          (how many in all)
//! ```

#![allow(clippy::unwrap_used)] // a failing fixture should stop with the offending value

use std::fmt::Write as _;
use std::path::Path;

use actledger_core::{
    Anomaly, Capacity, Day, Engine, Outcome, PersonId, WhoHeld, anomalies, name_of, parse_batch,
    who_held,
};

fn describe(answer: &WhoHeld) -> String {
    let Some(holder) = &answer.holder else {
        return "vacant".into();
    };
    let capacity = match holder.capacity {
        Capacity::Titular => "titular",
        Capacity::Acting => "acting",
    };
    let basis: Vec<&str> = holder.basis.iter().map(|a| a.as_str()).collect();
    let mut text = format!("{} {capacity} {}", holder.person, basis.join(","));
    match &answer.titular {
        None => text.push_str("; no titular"),
        Some(t) if t.absent => {
            let trip = t.trip_act.as_ref().map(|a| a.as_str()).unwrap_or("?");
            write!(text, "; titular {} away {trip}", t.person).unwrap();
        }
        Some(t) => write!(text, "; titular {} present", t.person).unwrap(),
    }
    text
}

fn describe_anomaly(a: &Anomaly) -> String {
    let kind = serde_json::to_value(a.kind).unwrap();
    let office = a
        .office
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_else(|| "-".into());
    let days = match (a.from, a.until) {
        (Some(f), Some(u)) => format!("{f}..{u}"),
        _ => "-".into(),
    };
    let events: Vec<String> = a.events.iter().map(|s| s.to_string()).collect();
    format!(
        "{} {office} {days} events {}",
        kind.as_str().unwrap(),
        events.join(",")
    )
}

/// Runs one fixture; returns the failures, one line each.
fn run(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut section = "";
    let (mut events, mut batch, mut expect) = (String::new(), String::new(), Vec::new());
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.trim() {
            "events" | "batch" | "expect" => section = line.trim(),
            _ => match section {
                "events" => writeln!(events, "{line}").unwrap(),
                "batch" => writeln!(batch, "{line}").unwrap(),
                "expect" => expect.push(line.trim().to_owned()),
                _ => panic!("{}: a line outside any section: {line}", path.display()),
            },
        }
    }
    let mut engine = Engine::new();
    let mut failures = Vec::new();
    if !events.is_empty() {
        let parsed = parse_batch(events.as_bytes())
            .unwrap_or_else(|e| panic!("{}: events: {e}", path.display()));
        engine
            .append(parsed)
            .unwrap_or_else(|e| panic!("{}: events refused: {e}", path.display()));
    }
    let outcome =
        (!batch.is_empty()).then(|| parse_batch(batch.as_bytes()).and_then(|b| engine.append(b)));
    let found = anomalies(&engine, None).unwrap();

    for line in &expect {
        let fail = |failures: &mut Vec<String>, got: String| {
            failures.push(format!("`{line}`: got `{got}`"))
        };
        if let Some(rest) = line.strip_prefix("who-held ") {
            let (query, want) = rest.split_once(" => ").expect("who-held needs =>");
            let words: Vec<&str> = query.split_whitespace().collect();
            let as_of = match words.as_slice() {
                [_, _, "as-of", n] => Some(n.parse().unwrap()),
                [_, _] => None,
                _ => panic!("bad who-held line: {line}"),
            };
            let day = Day::parse(words[1]).unwrap();
            match who_held(&engine, words[0], day, as_of) {
                Ok(answer) if describe(&answer) == want => {}
                Ok(answer) => fail(&mut failures, describe(&answer)),
                Err(e) => fail(&mut failures, format!("error: {e}")),
            }
        } else if let Some(rest) = line.strip_prefix("name ") {
            let (person, want) = rest.split_once(" => ").unwrap();
            let got = name_of(
                &engine,
                &PersonId::new(person).unwrap(),
                engine.events().len() as u64,
            )
            .unwrap();
            if got.as_deref() != Some(want) {
                fail(&mut failures, format!("{got:?}"));
            }
        } else if let Some(want) = line.strip_prefix("rejected ") {
            match &outcome {
                Some(Err(e)) if e.to_string().contains(want) => {}
                other => fail(&mut failures, format!("{other:?}")),
            }
        } else if line.starts_with("recorded ") || line.starts_with("already ") {
            let Some(Ok(outcomes)) = &outcome else {
                fail(&mut failures, format!("{outcome:?}"));
                continue;
            };
            let got: Vec<String> = outcomes
                .iter()
                .map(|(l, o)| match o {
                    Outcome::Recorded(s) => format!("recorded line {l} at {s}"),
                    Outcome::AlreadyRecorded(s) => format!("already line {l} at {s}"),
                })
                .collect();
            if got.join(" | ") != *line {
                fail(&mut failures, got.join(" | "));
            }
        } else if let Some(want) = line.strip_prefix("anomaly ") {
            if !found.iter().any(|a| describe_anomaly(a) == want) {
                let all: Vec<String> = found.iter().map(describe_anomaly).collect();
                fail(&mut failures, all.join(" / "));
            }
        } else if let Some(n) = line.strip_prefix("anomalies ") {
            if found.len() != n.parse::<usize>().unwrap() {
                let all: Vec<String> = found.iter().map(describe_anomaly).collect();
                fail(&mut failures, all.join(" / "));
            }
        } else {
            panic!("{}: unknown expectation: {line}", path.display());
        }
    }
    if batch.is_empty() && outcome.is_some() {
        unreachable!();
    }
    failures
}

#[test]
fn every_fixture_holds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    let mut report = String::new();
    for path in &paths {
        for failure in run(path) {
            writeln!(
                report,
                "{}: {failure}",
                path.file_name().unwrap().to_string_lossy()
            )
            .unwrap();
        }
    }
    assert!(report.is_empty(), "fixtures failed:\n{report}");
}
