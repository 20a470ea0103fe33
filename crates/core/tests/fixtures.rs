//! Data-driven fixtures that read like the spec: events in, answers out.
//!
//! Each file in `tests/fixtures/` is one case:
//!
//! ```text
//! # what the spec says, in a sentence
//! events
//! {"type":"act_issued",...}            every line must be accepted (NDJSON, one batch)
//! batch                                optional: a further batch, appended after the events;
//! {...}                                a `batch` header with no line under it is an empty input
//! expect
//! who-held MINDEF 2024-06-03 => jose-arista acting RS-131-2024-PCM; titular walter-astudillo away RS-131-2024-PCM
//! who-held MINDEF 2024-06-05 as-of 3 => walter-astudillo titular RS-001; titular walter-astudillo present
//! who-held MINDEF 2024-06-20 => ana titular RS-001; titular ana away leave RS-005   (on leave)
//! who-held MINDEF 2024-01-01 => vacant
//! who-held MINSA 2024-01-01 => error: unknown office "MINSA"
//! history MINDEF => titular ana 2024-06-01..2024-06-09 RS-1; vacant 2024-06-10..2024-06-11; titular bruno 2024-06-12.. RS-2
//! history MINDEF as-of 4 => ...                       (rows by first day; `..` alone: still lasting)
//! name walter-astudillo => Walter Astudillo           (`-` when no name is recorded)
//! name walter-astudillo as-of 2 => Walter A.
//! rejected line 2 field "until": is not a date        (the batch is refused; the text is a substring)
//! recorded line 1 at 7 | already line 2 at 3           (outcomes of the batch)
//! head 7                                               (positions recorded, after the batch)
//! anomaly unattended_office MINDEF 2024-06-02..2024-06-04 events 3
//! no-anomaly delegate_away                             (no anomaly of that kind)
//! anomalies 2                                          (how many in all)
//! ```
//!
//! In `events` and `batch` lines, `<<repeat x 70000>>` stands for 70000 times `x` (for inputs
//! too large to write out).

#![allow(clippy::unwrap_used)] // a failing fixture should stop with the offending value

use std::fmt::Write as _;
use std::path::Path;

use actledger_core::{
    AbsenceKind, Anomaly, Capacity, Day, Engine, HistoryRow, Outcome, PersonId, Role, WhoHeld,
    anomalies, history, name_of, parse_batch, who_held,
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
            // A trip reads `away ACT`, a leave `away leave ACT`; `trip_act` names trips only.
            let act = t.absence_act.as_ref().map(|a| a.as_str()).unwrap_or("?");
            let kind = match (t.absence, &t.trip_act) {
                (Some(AbsenceKind::Trip), Some(trip))
                    if trip == t.absence_act.as_ref().unwrap() =>
                {
                    ""
                }
                (Some(AbsenceKind::Leave), None) => "leave ",
                _ => "inconsistent ",
            };
            write!(text, "; titular {} away {kind}{act}", t.person).unwrap();
        }
        Some(t) if t.trip_act.is_some() || t.absence.is_some() || t.absence_act.is_some() => {
            write!(text, "; titular {} present but inconsistent", t.person).unwrap();
        }
        Some(t) => write!(text, "; titular {} present", t.person).unwrap(),
    }
    text
}

fn describe_row(row: &HistoryRow) -> String {
    let until = row.until.map(|d| d.to_string()).unwrap_or_default();
    let basis: Vec<&str> = row.basis.iter().map(|a| a.as_str()).collect();
    match (row.capacity, &row.person) {
        (Role::Vacant, _) | (_, None) => format!("vacant {}..{until}", row.from),
        (role, Some(person)) => {
            let role = if role == Role::Titular {
                "titular"
            } else {
                "acting"
            };
            format!("{role} {person} {}..{until} {}", row.from, basis.join(","))
        }
    }
}

fn kind_name(a: &Anomaly) -> String {
    serde_json::to_value(a.kind)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn describe_anomaly(a: &Anomaly) -> String {
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
        kind_name(a),
        events.join(",")
    )
}

/// Expands `<<repeat C N>>` into `N` times the text `C`.
fn expand(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("<<repeat ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "<<repeat ".len()..];
        let end = after.find(">>").expect("<<repeat C N>> is closed by >>");
        let (text, count) = after[..end].rsplit_once(' ').expect("<<repeat C N>>");
        out.push_str(&text.repeat(count.parse().expect("N is a number")));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Splits `QUERY => ANSWER` (the answer may be empty).
fn split_answer(line: &str) -> (&str, &str) {
    let (query, answer) = line.split_once(" =>").expect("a query needs =>");
    (query, answer.trim())
}

/// Splits `QUERY [as-of N]` into the query words and the position.
fn as_of(query: &str) -> (Vec<&str>, Option<u64>) {
    let mut words: Vec<&str> = query.split_whitespace().collect();
    match words.as_slice() {
        [.., "as-of", n] => {
            let n = n.parse().expect("as-of takes a position");
            words.truncate(words.len() - 2);
            (words, Some(n))
        }
        _ => (words, None),
    }
}

/// Runs one fixture; returns the failures, one line each.
fn run(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut section = "";
    let (mut events, mut batch, mut expect) = (String::new(), None::<String>, Vec::new());
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.trim() {
            "events" | "expect" => section = line.trim(),
            "batch" => {
                section = "batch";
                batch = Some(String::new());
            }
            _ => match (section, &mut batch) {
                ("events", _) => writeln!(events, "{}", expand(line)).unwrap(),
                ("batch", Some(batch)) => writeln!(batch, "{}", expand(line)).unwrap(),
                ("expect", _) => expect.push(line.trim().to_owned()),
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
    let outcome = batch.map(|b| parse_batch(b.as_bytes()).and_then(|b| engine.append(b)));
    let found = anomalies(&engine, None).unwrap();
    let all_anomalies = || {
        let all: Vec<String> = found.iter().map(describe_anomaly).collect();
        all.join(" / ")
    };

    for line in &expect {
        let fail = |failures: &mut Vec<String>, got: String| {
            failures.push(format!("`{line}`: got `{got}`"))
        };
        if let Some(rest) = line.strip_prefix("who-held ") {
            let (query, want) = split_answer(rest);
            let (words, as_of) = as_of(query);
            let [office, day] = words.as_slice() else {
                panic!("bad who-held line: {line}");
            };
            let day = Day::parse(day).unwrap();
            match who_held(&engine, office, day, as_of) {
                Ok(answer) if describe(&answer) == want => {}
                Ok(answer) => fail(&mut failures, describe(&answer)),
                Err(e) if format!("error: {e}") == want => {}
                Err(e) => fail(&mut failures, format!("error: {e}")),
            }
        } else if let Some(rest) = line.strip_prefix("history ") {
            let (query, want) = split_answer(rest);
            let (words, as_of) = as_of(query);
            let [office] = words.as_slice() else {
                panic!("bad history line: {line}");
            };
            match history(&engine, office, as_of) {
                Ok(rows) => {
                    let got: Vec<String> = rows.iter().map(describe_row).collect();
                    if got.join("; ") != want {
                        fail(&mut failures, got.join("; "));
                    }
                }
                Err(e) => fail(&mut failures, format!("error: {e}")),
            }
        } else if let Some(rest) = line.strip_prefix("name ") {
            let (query, want) = split_answer(rest);
            let (words, as_of) = as_of(query);
            let [person] = words.as_slice() else {
                panic!("bad name line: {line}");
            };
            let as_of = as_of.unwrap_or(engine.events().len() as u64);
            let got = name_of(&engine, &PersonId::new(*person).unwrap(), as_of).unwrap();
            if got.as_deref().unwrap_or("-") != want {
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
        } else if let Some(n) = line.strip_prefix("head ") {
            let head = engine.events().len();
            if head != n.parse::<usize>().unwrap() {
                fail(&mut failures, head.to_string());
            }
        } else if let Some(want) = line.strip_prefix("anomaly ") {
            if !found.iter().any(|a| describe_anomaly(a) == want) {
                fail(&mut failures, all_anomalies());
            }
        } else if let Some(kind) = line.strip_prefix("no-anomaly ") {
            if found.iter().any(|a| kind_name(a) == kind) {
                fail(&mut failures, all_anomalies());
            }
        } else if let Some(n) = line.strip_prefix("anomalies ") {
            if found.len() != n.parse::<usize>().unwrap() {
                fail(&mut failures, all_anomalies());
            }
        } else {
            panic!("{}: unknown expectation: {line}", path.display());
        }
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
