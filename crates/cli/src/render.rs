//! Text for people: sentences and aligned tables. JSON is serde's business, not this module's.

use std::fmt::Write as _;

use std::path::Path;

use actledger_answers::{
    AppendOutcomes, AppendStatus, AuditAnswer, HeadAnswer, HistoryAnswer, ImportAnswer,
    OfficesAnswer, RepairAnswer, RepairFound, StateAnswer, VerifyAnswer,
};
use actledger_core::{AbsenceKind, ActRecord, Capacity, Event, Role, Status, WhoHeld};
use actledger_store::{Findings, Repair, Scope, Verdict};

/// Columns padded to their widest cell; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                text.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn person_label(person: &str, name: Option<&String>) -> String {
    name.cloned().unwrap_or_else(|| person.to_owned())
}

/// Why a day is not on an office's record: "the ledger's record of MINDEF starts on
/// 2023-07-01", or that the ledger had none as of the point asked.
fn no_record(answer: &WhoHeld) -> String {
    match answer.record_starts {
        Some(starts) => format!(
            "the ledger's record of {} starts on {starts}",
            answer.office
        ),
        None => format!(
            "the ledger had no record of {} as of entry {}",
            answer.office, answer.as_of
        ),
    }
}

/// "MINDEF on 2024-06-03: José Arista Arbildo, acting (RS-131-2024-PCM); titular Walter
/// Astudillo away (trip, RS-131-2024-PCM)", or "MINDEF on 1900-01-01: no record (the
/// ledger's record of MINDEF starts on 2023-07-01)".
pub fn who_held_sentence(answer: &WhoHeld) -> String {
    let mut text = format!("{} on {}: ", answer.office, answer.on);
    if !answer.on_record {
        write!(text, "no record ({})", no_record(answer)).expect("writing to a String");
        return text;
    }
    match &answer.holder {
        None => text.push_str("vacant"),
        Some(holder) => {
            let capacity = match holder.capacity {
                Capacity::Titular => "titular",
                Capacity::Acting => "acting",
            };
            let basis: Vec<&str> = holder.basis.iter().map(|a| a.as_str()).collect();
            write!(
                text,
                "{}, {capacity} ({})",
                person_label(holder.person.as_str(), holder.name.as_ref()),
                basis.join(", ")
            )
            .expect("writing to a String");
        }
    }
    if let Some(titular) = &answer.titular {
        let is_holder = answer
            .holder
            .as_ref()
            .is_some_and(|h| h.capacity == Capacity::Titular && h.person == titular.person);
        let name = person_label(titular.person.as_str(), titular.name.as_ref());
        // The kind of absence is named: "away (trip, ACT)" or "away (leave, ACT)".
        let away = titular
            .absence
            .zip(titular.absence_act.as_ref())
            .map(|(kind, act)| format!("away ({}, {act})", kind.as_str()));
        match (away, is_holder) {
            (Some(away), true) => write!(text, "; {away} with nobody in charge"),
            (Some(away), false) => write!(text, "; titular {name} {away}"),
            (None, false) => write!(text, "; titular {name} present"),
            (None, true) => Ok(()),
        }
        .expect("writing to a String");
    }
    text
}

/// The `who-held` sentence, on a line of its own.
pub fn who_held_text(answer: &WhoHeld) -> String {
    format!("{}\n", who_held_sentence(answer))
}

/// The `state` table.
pub fn state_table(answer: &StateAnswer) -> String {
    let rows: Vec<Vec<String>> = answer.offices.iter().map(state_row).collect();
    table(&["OFFICE", "HOLDER", "CAPACITY", "BASIS", "TITULAR"], &rows)
}

/// One row of `state`.
fn state_row(answer: &WhoHeld) -> Vec<String> {
    let (holder, capacity, basis) = match &answer.holder {
        None if !answer.on_record => ("(no record)".to_owned(), String::new(), String::new()),
        None => ("(vacant)".to_owned(), String::new(), String::new()),
        Some(h) => (
            person_label(h.person.as_str(), h.name.as_ref()),
            match h.capacity {
                Capacity::Titular => "titular".into(),
                Capacity::Acting => "acting".into(),
            },
            h.basis
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    let titular = match &answer.titular {
        None => String::new(),
        Some(t) => {
            let name = person_label(t.person.as_str(), t.name.as_ref());
            // A trip reads "away (ACT)", as it always has; a leave "away (leave, ACT)".
            match (t.absence, &t.absence_act) {
                (Some(AbsenceKind::Leave), Some(act)) => format!("{name}, away (leave, {act})"),
                (_, Some(act)) => format!("{name}, away ({act})"),
                (_, None) => name,
            }
        }
    };
    vec![answer.office.to_string(), holder, capacity, basis, titular]
}

/// The `history` table.
pub fn history_table(answer: &HistoryAnswer) -> String {
    let cells: Vec<Vec<String>> = answer
        .history
        .iter()
        .map(|r| {
            vec![
                r.from.to_string(),
                r.until.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                match r.capacity {
                    Role::Titular => "titular",
                    Role::Acting => "acting",
                    Role::Vacant => "vacant",
                }
                .into(),
                r.person
                    .as_ref()
                    .map(|p| person_label(p.as_str(), r.name.as_ref()))
                    .unwrap_or_default(),
                r.basis
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    table(&["FROM", "UNTIL", "CAPACITY", "WHO", "BASIS"], &cells)
}

/// The `offices` table; a sentence when none matches.
pub fn offices_table(answer: &OfficesAnswer) -> String {
    if answer.offices.is_empty() {
        return "no office matches\n".into();
    }
    let day = |day: Option<actledger_core::Day>| day.map_or_else(|| "-".into(), |d| d.to_string());
    let rows: Vec<Vec<String>> = answer
        .offices
        .iter()
        .map(|o| {
            vec![
                o.office.to_string(),
                day(o.first_day),
                day(o.last_day),
                o.name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(&["OFFICE", "FIRST", "LAST", "NAME"], &rows)
}

/// A one-line summary of an event, for `log` and `show`.
pub fn summary(event: &Event) -> String {
    match event {
        Event::ActIssued(e) => format!(
            "{} {} issued by {} on {}",
            e.kind, e.act, e.issuer, e.issued_on
        ),
        Event::Appointed(e) => format!(
            "{} titular of {} from {} ({})",
            e.person, e.office, e.on, e.act
        ),
        Event::LeftOffice(e) => format!("{} leaves {} on {} ({})", e.person, e.office, e.on, e.act),
        Event::TripAuthorized(e) => format!(
            "{} of {} away {}..{}{} ({})",
            e.person,
            e.office,
            e.from,
            e.until,
            e.destination
                .as_ref()
                .map(|d| format!(", {d}"))
                .unwrap_or_default(),
            e.act
        ),
        Event::LeaveGranted(e) => format!(
            "{} of {} on leave {}..{}{} ({})",
            e.person,
            e.office,
            e.from,
            e.until,
            e.reason
                .as_ref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default(),
            e.act
        ),
        Event::DutiesDelegated(e) => format!(
            "{} in charge of {} from {}{} ({})",
            e.delegate,
            e.office,
            e.from,
            e.until
                .map(|u| format!(" until {u}"))
                .unwrap_or_else(|| " for the absence".into()),
            e.act
        ),
        Event::ActRevoked(e) => format!("{} revokes {}", e.act, e.revokes),
        Event::RecordRetracted(e) => format!("entry {} retracted: {}", e.seq, e.reason),
    }
}

/// The `show` text.
pub fn act_text(record: &ActRecord) -> String {
    let mut text = format!(
        "act {}{}\n",
        record.act,
        if record.revoked { " (revoked)" } else { "" }
    );
    let rows: Vec<Vec<String>> = record
        .events
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.event.type_name().to_owned(),
                match e.status {
                    Status::InForce => "in force",
                    Status::Retracted => "retracted",
                    Status::Void => "void",
                }
                .into(),
                summary(&e.event),
            ]
        })
        .collect();
    text.push_str(&table(&["SEQ", "TYPE", "STATUS", "WHAT"], &rows));
    text
}

/// The `audit` table.
pub fn audit_table(answer: &AuditAnswer) -> String {
    let anomalies = &answer.anomalies;
    if anomalies.is_empty() {
        return "no anomalies\n".into();
    }
    let rows: Vec<Vec<String>> = anomalies
        .iter()
        .map(|a| {
            let kind = serde_json::to_value(a.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            vec![
                kind,
                a.office
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into()),
                a.from.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                a.until.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                a.events
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                a.message.clone(),
            ]
        })
        .collect();
    table(
        &["KIND", "OFFICE", "FROM", "UNTIL", "EVENTS", "MESSAGE"],
        &rows,
    )
}

/// The `head` line.
pub fn head_text(head: &HeadAnswer) -> String {
    format!("{} entries, head {}\n", head.count, head.hash)
}

/// One line per input event of an append (none when `quiet`: then no event is walked), then,
/// for more than one event or when `quiet`, a summary: written to `out` line by line, as the
/// events are walked (a batch may have millions of events).
pub fn write_append(
    out: &mut dyn std::io::Write,
    answer: &AppendOutcomes<'_>,
    quiet: bool,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    for event in answer.events().filter(|_| !quiet) {
        let event = event?;
        match (event.status, event.hash) {
            (AppendStatus::Recorded, Some(hash)) => writeln!(
                out,
                "line {}: recorded at {}, hash {hash}",
                event.line, event.seq
            ),
            _ => writeln!(
                out,
                "line {}: already recorded at {}",
                event.line, event.seq
            ),
        }?;
    }
    if quiet || answer.count() > 1 {
        let recorded = answer.recorded();
        let head = answer.head();
        writeln!(
            out,
            "{} recorded, {} already recorded; head {} {}",
            plural(recorded, "event", "events"),
            answer.count() - recorded,
            head.count,
            head.hash
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The `import` line.
pub fn import_text(answer: &ImportAnswer, path: &Path) -> String {
    format!(
        "imported {} entries into {}, head {}\n",
        answer.head.count,
        path.display(),
        answer.head.hash
    )
}

/// `bytes` in megabytes, one decimal: a ledger folder's size as compactions tell it.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// What `compact` did: the records copied and the folder's bytes before and after.
pub fn compact_text(compacted: &actledger_store::Compacted, path: &std::path::Path) -> String {
    let mb = megabytes;
    format!(
        "compacted {}: {} {} copied; {} before, {} now\n",
        path.display(),
        indicatif::HumanCount(compacted.records),
        if compacted.records == 1 {
            "record"
        } else {
            "records"
        },
        mb(compacted.before_bytes),
        mb(compacted.after_bytes)
    )
}

/// The note of an append that compacted the ledger it grew.
pub fn auto_compact_text(
    growth: &actledger_store::Growth,
    compacted: &actledger_store::Compacted,
    path: &std::path::Path,
) -> String {
    let mb = megabytes;
    format!(
        "note: {} had grown to {} on disk, {:.2}x the {} it had after its last compaction (or when first measured); compacted to {}\n",
        path.display(),
        mb(growth.bytes),
        growth.bytes as f64 / growth.baseline.max(1) as f64,
        mb(growth.baseline),
        mb(compacted.after_bytes)
    )
}

/// What `--log-only` leaves unchecked, said wherever its verdict is.
pub const LOG_ONLY_NOTE: &str = "log only: the indexes, timeline cache and tree hashes that answers are read from were not checked";

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first findings, one a line, then how many more, then the count per table.
fn findings_text(findings: &Findings, text: &mut String) {
    for finding in &findings.shown {
        text.push_str(&format!("  {finding}\n"));
    }
    let more = findings.total() - findings.shown.len() as u64;
    if more > 0 {
        text.push_str(&format!("  ...and {more} more\n"));
    }
    let tables: Vec<String> = findings
        .per_table
        .iter()
        .map(|(table, n)| format!("{table}: {n}"))
        .collect();
    text.push_str(&format!("per table: {}\n", tables.join(", ")));
}

/// The `verify` text: intact, or what is altered.
pub fn verify_text(answer: &VerifyAnswer) -> String {
    let mut text = String::new();
    match &answer.verdict {
        // The log and its records hold, but the statement of the checkpoint's size signs a
        // state the log does not imply: the signed statement is the evidence.
        Verdict::Intact { count, head } if !answer.intact => {
            let state = answer.state.as_ref().map_or("", |s| s.message.as_str());
            text.push_str(&format!("ALTERED: {state}\n"));
            text.push_str(&format!(
                "the log is intact ({count} entries, head {}) and every record answers are read from matches it\n",
                hex::encode(head)
            ));
            if let Some(checkpoint) = &answer.checkpoint {
                text.push_str(&format!(
                    "it extends the checkpoint of {} entries signed by {}: keep the checkpoint and the statement, both signed with that key, as evidence\n",
                    checkpoint.size, checkpoint.origin
                ));
            }
        }
        Verdict::Intact { count, head } => {
            text.push_str(&format!(
                "intact: {count} entries, head {}\n",
                hex::encode(head)
            ));
            if let Some(checkpoint) = &answer.checkpoint {
                text.push_str(&format!(
                    "extends the checkpoint of {} entries signed by {}\n",
                    checkpoint.size, checkpoint.origin
                ));
            }
            if answer.scope == Scope::Everything {
                text.push_str(
                    "every index, cached timeline and tree hash matches what the log implies\n",
                );
            } else {
                text.push_str(&format!("{LOG_ONLY_NOTE}\n"));
            }
            state_line(answer, &mut text);
        }
        Verdict::Broken { seq, problem } => {
            text.push_str(&format!("ALTERED: entry {seq}: {problem}\n"))
        }
        Verdict::Diverged {
            count,
            head,
            findings,
        } => {
            text.push_str(&format!(
                "ALTERED: the log is intact ({count} entries, head {}), but the records answers are read from differ from what it implies ({}):\n",
                hex::encode(head),
                plural(findings.total(), "finding", "findings")
            ));
            findings_text(findings, &mut text);
            let kept = actledger_store::Table::KeptCheckpoints;
            if findings.per_table.keys().any(|table| *table != kept) {
                text.push_str("`actledger repair` rebuilds the derived records from the log\n");
            }
            if findings.concern(&[kept]) {
                // Signed notes cannot be recomputed: nothing rebuilds them.
                text.push_str("a kept checkpoint or statement the log does not match was not signed over this log as it stands: keep it as evidence; repair does not touch it\n");
            }
            state_line(answer, &mut text);
        }
        _ => text.push_str(&format!(
            "ALTERED: {}\n",
            answer
                .problem
                .as_deref()
                .unwrap_or("the ledger does not verify")
        )),
    }
    text
}

/// The state check of `verify --checkpoint`, when the ledger was intact enough to make one
/// (a ledger that does not verify has no state to speak of).
fn state_line(answer: &VerifyAnswer, text: &mut String) {
    if let Some(state) = answer
        .state
        .as_ref()
        .filter(|s| s.reason != Some(actledger_answers::NotChecked::LedgerNotVerified))
    {
        text.push_str(&state.message);
        text.push('\n');
    }
}

/// The `repair` text: what was found and what was done.
pub fn repair_text(answer: &RepairAnswer) -> String {
    match &answer.found {
        RepairFound::LogFails(verdict) => format!(
            "the log fails verification, so nothing was changed (restore the ledger from a backup or an export):\n{}",
            verify_text(verdict)
        ),
        RepairFound::Compared { count, head, .. } => match &answer.repair {
            Repair::Rebuilt { findings, .. } => {
                let mut text = format!(
                    "repaired: every derived record was rebuilt from the log ({count} entries, head {head}); before, {}:\n",
                    plural(findings.total(), "finding", "findings")
                );
                findings_text(findings, &mut text);
                text
            }
            _ => format!(
                "nothing to repair: the log is intact ({count} entries, head {head}) and every derived record matches it\n"
            ),
        },
    }
}

/// What `publish` did, in a sentence or two.
pub fn published_text(published: &actledger_mirror::Published, dir: &std::path::Path) -> String {
    let entries = plural(published.size, "entry", "entries");
    if published.written.is_empty() {
        return format!(
            "the mirror at {} is up to date: {entries} of {}, nothing written\n",
            dir.display(),
            published.origin
        );
    }
    let since = match published.previous_size {
        Some(previous) => format!(" (it held {})", plural(previous, "entry", "entries")),
        None => String::new(),
    };
    format!(
        "published {entries} of {} at {}{since}, root {}\n{} written, {} left as they were\n",
        published.origin,
        dir.display(),
        published.root,
        plural(published.written.len() as u64, "file", "files"),
        published.unchanged
    )
}

/// What `clone` did, in a sentence or two.
pub fn cloned_text(cloned: &actledger_mirror::Cloned, ledger: &std::path::Path) -> String {
    let entries = plural(cloned.size, "entry", "entries");
    let what = match cloned.previous_size {
        None => format!(
            "cloned {entries} of {} into {}",
            cloned.origin,
            ledger.display()
        ),
        Some(previous) if previous == cloned.size => format!(
            "{} is up to date with the mirror of {}: {entries}",
            ledger.display(),
            cloned.origin
        ),
        Some(previous) => format!(
            "brought {} from {previous} to {entries} of {}",
            ledger.display(),
            cloned.origin
        ),
    };
    format!(
        "{what}, verified against the checkpoint (root {}); head {}\n{} fetched\n",
        cloned.root,
        cloned.head,
        plural(cloned.fetched.len() as u64, "file", "files")
    )
}
