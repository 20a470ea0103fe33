//! One function per command: open the ledger, ask the library, print the answer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actledger_core::{
    Day, Seq, WhoHeld, anomalies, history, parse_batch, show_act, state, who_held,
};
use actledger_store::{
    AppendError, Appended, Findings, ImportError, Ledger, Repair, Scope, StoreError, Verdict,
};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use crate::Finding;
use crate::args::{AsOf, Cli, Command, When};
use crate::{proofs, render};

/// Runs one command, writing its answer to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Finding> {
    let path = cli.ledger.as_path();
    let wait = cli.wait;
    match cli.command {
        Command::Init => {
            Ledger::create(path).map_err(|e| store_error(e, path))?;
            writeln!(out, "created an empty ledger at {}", path.display())?;
        }
        Command::Append { file, json, typed } => {
            let input = match typed {
                Some(event) => {
                    let mut line = event.to_json()?;
                    line.push(b'\n');
                    line
                }
                None => read_input(file.as_deref())?,
            };
            // Opening can fail for want of room too: still all or nothing.
            let mut ledger =
                open(path, wait).map_err(|e| e.context("nothing of the batch was recorded"))?;
            append(&mut ledger, &input, json.json, out)?;
        }
        Command::WhoHeld { office, when, json } => {
            let ledger = open(path, wait)?;
            let as_of = resolve(&ledger, when.as_of)?;
            let answer = who_held(&ledger, &office, when.on, as_of)?;
            if json.json {
                writeln!(out, "{}", serde_json::to_string(&answer)?)?;
            } else {
                writeln!(out, "{}", render::who_held_sentence(&answer))?;
            }
        }
        Command::State { when, json } => {
            let ledger = open(path, wait)?;
            let as_of = resolve(&ledger, when.as_of)?;
            let answers = state(&ledger, when.on, as_of)?;
            print_state(&answers, &when, ledger.head().count, json.json, out)?;
        }
        Command::History { office, json } => {
            let ledger = open(path, wait)?;
            let rows = history(&ledger, &office, None)?;
            if json.json {
                let value =
                    json!({"office": office, "as_of": ledger.head().count, "history": rows});
                writeln!(out, "{value}")?;
            } else {
                write!(out, "{}", render::history_table(&rows))?;
            }
        }
        Command::Show { act, json } => {
            let ledger = open(path, wait)?;
            let record = show_act(&ledger, &act)?;
            if json.json {
                writeln!(out, "{}", serde_json::to_string(&record)?)?;
            } else {
                write!(out, "{}", render::act_text(&record))?;
            }
        }
        Command::Log { from, limit, json } => {
            let ledger = open(path, wait)?;
            log(&ledger, from, limit, json.json, out)?;
        }
        Command::Audit { json } => {
            let ledger = open(path, wait)?;
            let found = anomalies(&ledger, None)?;
            if json.json {
                writeln!(out, "{}", json!({"anomalies": found}))?;
            } else {
                write!(out, "{}", render::audit_table(&found))?;
            }
        }
        Command::Verify {
            checkpoint: None,
            log_only,
            json,
            ..
        } => return verify(path, scope_of(log_only), wait, json.json, out),
        Command::Verify {
            checkpoint: Some(checkpoint),
            vkey,
            log_only,
            json,
        } => {
            let vkey = vkey.context("--checkpoint needs --vkey")?;
            let scope = scope_of(log_only);
            return proofs::verify_against(path, &checkpoint, &vkey, scope, wait, json.json, out);
        }
        Command::Repair { json } => return repair(path, wait, json.json, out),
        Command::Head { json } => {
            let ledger = open(path, wait)?;
            let head = ledger.head();
            if json.json {
                writeln!(
                    out,
                    "{}",
                    json!({"count": head.count, "hash": hex::encode(head.hash)})
                )?;
            } else {
                writeln!(
                    out,
                    "{} entries, head {}",
                    head.count,
                    hex::encode(head.hash)
                )?;
            }
        }
        Command::Export { file } => {
            let ledger = open(path, wait)?;
            export(&ledger, file.as_deref(), out)?;
        }
        Command::Import { file } => import(path, file.as_deref(), out)?,
        Command::Demo => demo(out)?,
        Command::Keygen { name, out: dir } => proofs::keygen(&name, &dir, out)?,
        Command::Checkpoint { key, out: file } => {
            let ledger = open(path, wait)?;
            proofs::checkpoint(&ledger, &key, file.as_deref(), out)?;
        }
        Command::Prove {
            target,
            size,
            from,
            to,
            json,
        } => {
            let ledger = open(path, wait)?;
            match (target, from, to) {
                (Some(target), _, _) => {
                    proofs::prove_inclusion(&ledger, &target, size, json.json, out)?
                }
                (None, Some(from), Some(to)) => {
                    proofs::prove_consistency(&ledger, from, to, json.json, out)?
                }
                _ => bail!("give an entry (SEQ or ACT), or --from OLD --to NEW"),
            }
        }
        Command::Serve {
            addr,
            token_file,
            key,
        } => return serve(path, addr, token_file, key, out),
        Command::CheckProof {
            vkey,
            checkpoint,
            old_checkpoint,
            proof,
        } => proofs::check_proof(&vkey, &checkpoint, old_checkpoint.as_deref(), &proof, out)?,
    }
    Ok(Finding::Clean)
}

pub(crate) fn store_error(error: StoreError, path: &Path) -> anyhow::Error {
    match error {
        StoreError::NotALedger { .. } => anyhow!(
            "no ledger at {}: create one with `actledger --ledger {} init`, or point --ledger (or ACTLEDGER_LEDGER) at an existing one",
            path.display(),
            path.display()
        ),
        other => other.into(),
    }
}

fn serve(
    path: &Path,
    addr: std::net::SocketAddr,
    token_file: Option<PathBuf>,
    key: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<Finding> {
    let config = actledger_server::ServerConfig {
        addr,
        token_file,
        key_file: key,
        ..actledger_server::ServerConfig::new(path)
    };
    actledger_server::serve_blocking(config, |info, made| {
        // What the server says of itself is best effort: it serves whether or not stdout is
        // still there to read it.
        let _ = writeln!(out, "serving {} at {}", path.display(), info.url());
        if let Some(file) = made {
            let _ = writeln!(out, "made a write token in {} (mode 0600)", file.display());
        }
        let _ = out.flush();
    })
    .map(|()| Finding::Clean)
    .or_else(|e| match e {
        actledger_server::ServerError::Store(s) => Err(store_error(s, path)),
        actledger_server::ServerError::NotVerified { verdict, .. } => {
            writeln!(
                out,
                "not serving {}: the ledger does not verify",
                path.display()
            )?;
            report_verdict(
                &verdict,
                Scope::Everything,
                false,
                &mut serde_json::Map::new(),
                out,
            )
        }
        other => Err(other.into()),
    })
}

/// Opens the ledger, waiting up to `wait` for another process to finish with it.
pub(crate) fn open(path: &Path, wait: Duration) -> Result<Ledger> {
    let ledger = Ledger::open_waiting(path, wait).map_err(|e| store_error(e, path))?;
    if let Some(recovery) = ledger.recovery() {
        // Said on stderr, so that the answer on stdout stays what scripts expect.
        eprintln!("note: {recovery}");
    }
    Ok(ledger)
}

fn is_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|f| f == Path::new("-"))
}

pub(crate) fn read_input(file: Option<&Path>) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    if is_stdin(file) {
        io::stdin()
            .lock()
            .read_to_end(&mut input)
            .context("reading standard input")?;
    } else if let Some(file) = file {
        File::open(file)
            .and_then(|mut f| f.read_to_end(&mut input))
            .with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(input)
}

fn resolve(ledger: &Ledger, as_of: Option<AsOf>) -> Result<Option<Seq>> {
    match as_of {
        None => Ok(None),
        Some(AsOf::Seq(seq)) => Ok(Some(seq)),
        Some(AsOf::Time(time)) => {
            let utc = time.with_timezone(&chrono::Utc);
            match ledger.seq_at_time(utc)? {
                Some(seq) => Ok(Some(seq)),
                None => match ledger.entry(1)? {
                    Some(first) => bail!(
                        "as of {time}: the first entry was recorded later, at {}",
                        first.time
                    ),
                    None => bail!("as of {time}: the ledger has no entries"),
                },
            }
        }
    }
}

fn append(ledger: &mut Ledger, input: &[u8], as_json: bool, out: &mut dyn Write) -> Result<()> {
    let batch = parse_batch(input)?;
    let report = ledger.append(batch).map_err(|e| match e {
        AppendError::Invalid(invalid) => anyhow!(invalid),
        AppendError::Store(store) => anyhow!(store).context("nothing of the batch was recorded"),
        other => anyhow!(other),
    })?;
    if as_json {
        let events: Vec<serde_json::Value> = report
            .outcomes
            .iter()
            .map(|(line, outcome)| match outcome {
                Appended::Recorded { seq, hash } => {
                    json!({"line": line, "status": "recorded", "seq": seq, "hash": hex::encode(hash)})
                }
                Appended::AlreadyRecorded { seq } => json!({"line": line, "status": "already_recorded", "seq": seq}),
            })
            .collect();
        let head = json!({"count": report.head.count, "hash": hex::encode(report.head.hash)});
        writeln!(out, "{}", json!({"events": events, "head": head}))?;
    } else {
        for (line, outcome) in &report.outcomes {
            match outcome {
                Appended::Recorded { seq, hash } => writeln!(
                    out,
                    "line {line}: recorded at {seq}, hash {}",
                    hex::encode(hash)
                )?,
                Appended::AlreadyRecorded { seq } => {
                    writeln!(out, "line {line}: already recorded at {seq}")?
                }
            }
        }
    }
    Ok(())
}

fn print_state(
    answers: &[WhoHeld],
    when: &When,
    head: Seq,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let as_of = answers.first().map(|a| a.as_of).unwrap_or(head);
    if as_json {
        writeln!(
            out,
            "{}",
            json!({"on": when.on, "as_of": as_of, "offices": answers})
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = answers.iter().map(render::state_row).collect();
    write!(
        out,
        "{}",
        render::table(&["OFFICE", "HOLDER", "CAPACITY", "BASIS", "TITULAR"], &rows)
    )?;
    Ok(())
}

fn log(
    ledger: &Ledger,
    from: Seq,
    limit: Option<u64>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let limit = limit.unwrap_or(u64::MAX);
    let mut rows = Vec::new();
    for entry in ledger
        .entries(from.max(1))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let entry = entry?;
        if as_json {
            write!(out, "{}", entry.export_line())?;
            continue;
        }
        let event = entry.event()?;
        rows.push(vec![
            entry.seq.to_string(),
            entry.time.clone(),
            event.type_name().to_owned(),
            hex::encode(&entry.hash[..6]),
            render::summary(&event),
        ]);
    }
    if !as_json {
        write!(
            out,
            "{}",
            render::table(&["SEQ", "TIME", "TYPE", "HASH", "WHAT"], &rows)
        )?;
    }
    Ok(())
}

fn scope_of(log_only: bool) -> Scope {
    if log_only {
        Scope::Log
    } else {
        Scope::Everything
    }
}

fn verify(
    path: &Path,
    scope: Scope,
    wait: Duration,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Finding> {
    let verdict = actledger_store::verify_path_waiting(path, scope, wait)
        .map_err(|e| store_error(e, path))?;
    report_verdict(&verdict, scope, as_json, &mut serde_json::Map::new(), out)
}

/// What `--log-only` leaves unchecked, said wherever its verdict is.
pub(crate) const LOG_ONLY_NOTE: &str = "log only: the indexes, timeline cache and tree hashes that answers are read from were not checked";

/// Prints a verdict of verification; `extra` goes into its JSON object (a checkpoint's
/// fields). Every verdict but intact is exit 3.
pub(crate) fn report_verdict(
    verdict: &Verdict,
    scope: Scope,
    as_json: bool,
    extra: &mut serde_json::Map<String, serde_json::Value>,
    out: &mut dyn Write,
) -> Result<Finding> {
    let answers_checked = scope == Scope::Everything;
    let mut value = match verdict {
        Verdict::Intact { count, head } => {
            json!({"intact": true, "log_intact": true, "answers_checked": answers_checked,
                "count": count, "head": hex::encode(head)})
        }
        Verdict::Broken { seq, problem } => {
            json!({"intact": false, "log_intact": false, "answers_checked": false,
                "seq": seq, "problem": problem.to_string()})
        }
        Verdict::Diverged {
            count,
            head,
            findings,
        } => json!({"intact": false, "log_intact": true, "answers_checked": true,
            "count": count, "head": hex::encode(head),
            "findings": findings_json(findings), "total": findings.total(),
            "per_table": per_table_json(findings)}),
        Verdict::Unreadable { reason } => {
            json!({"intact": false, "log_intact": false, "answers_checked": false,
                "problem": format!("the storage engine found the ledger's files damaged: {reason}")})
        }
        other => bail!("an unknown verdict: {other}"),
    };
    if as_json {
        if let Some(object) = value.as_object_mut() {
            object.append(extra);
        }
        writeln!(out, "{value}")?;
    } else {
        match verdict {
            Verdict::Intact { count, head } => {
                writeln!(out, "intact: {count} entries, head {}", hex::encode(head))?;
                if answers_checked {
                    writeln!(
                        out,
                        "every index, cached timeline and tree hash matches what the log implies"
                    )?;
                } else {
                    writeln!(out, "{LOG_ONLY_NOTE}")?;
                }
            }
            Verdict::Broken { seq, problem } => writeln!(out, "ALTERED: entry {seq}: {problem}")?,
            Verdict::Diverged {
                count,
                head,
                findings,
            } => {
                writeln!(
                    out,
                    "ALTERED: the log is intact ({count} entries, head {}), but the records answers are read from differ from what it implies ({}):",
                    hex::encode(head),
                    plural(findings.total(), "finding", "findings")
                )?;
                write_findings(findings, out)?;
                writeln!(out, "`actledger repair` rebuilds them from the log")?;
            }
            Verdict::Unreadable { reason } => writeln!(
                out,
                "ALTERED: the storage engine found the ledger's files damaged: {reason}"
            )?,
            _ => {}
        }
    }
    Ok(if verdict.is_intact() {
        Finding::Clean
    } else {
        Finding::Altered
    })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn findings_json(findings: &Findings) -> serde_json::Value {
    findings
        .shown
        .iter()
        .map(|finding| {
            json!({"table": finding.table.name(), "prefix": finding.table.prefix(),
                "subject": finding.subject.to_string(),
                "difference": finding.difference.to_string(),
                "message": finding.to_string()})
        })
        .collect()
}

fn per_table_json(findings: &Findings) -> serde_json::Value {
    findings
        .per_table
        .iter()
        .map(|(table, n)| (table.name().to_owned(), json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The first findings, one a line, then how many more, then the count per table.
fn write_findings(findings: &Findings, out: &mut dyn Write) -> Result<()> {
    for finding in &findings.shown {
        writeln!(out, "  {finding}")?;
    }
    let more = findings.total() - findings.shown.len() as u64;
    if more > 0 {
        writeln!(out, "  ...and {more} more")?;
    }
    let tables: Vec<String> = findings
        .per_table
        .iter()
        .map(|(table, n)| format!("{table}: {n}"))
        .collect();
    writeln!(out, "per table: {}", tables.join(", "))?;
    Ok(())
}

fn repair(path: &Path, wait: Duration, as_json: bool, out: &mut dyn Write) -> Result<Finding> {
    let repair = actledger_store::repair_path(path, wait).map_err(|e| store_error(e, path))?;
    match repair {
        Repair::LogFails(verdict) => {
            if !as_json {
                writeln!(
                    out,
                    "the log fails verification, so nothing was changed (restore the ledger from a backup or an export):"
                )?;
            }
            let mut extra = serde_json::Map::new();
            extra.insert("repaired".into(), json!(false));
            report_verdict(&verdict, Scope::Everything, as_json, &mut extra, out)
        }
        Repair::NothingToRepair { count, head } => {
            if as_json {
                writeln!(
                    out,
                    "{}",
                    json!({"repaired": false, "count": count,
                    "head": hex::encode(head), "total": 0, "per_table": {}, "findings": []})
                )?;
            } else {
                writeln!(
                    out,
                    "nothing to repair: the log is intact ({count} entries, head {}) and every derived record matches it",
                    hex::encode(head)
                )?;
            }
            Ok(Finding::Clean)
        }
        Repair::Rebuilt {
            count,
            head,
            findings,
        } => {
            if as_json {
                writeln!(
                    out,
                    "{}",
                    json!({"repaired": true, "count": count,
                    "head": hex::encode(head), "total": findings.total(),
                    "per_table": per_table_json(&findings), "findings": findings_json(&findings)})
                )?;
            } else {
                writeln!(
                    out,
                    "repaired: every derived record was rebuilt from the log ({count} entries, head {}); before, {}:",
                    hex::encode(head),
                    plural(findings.total(), "finding", "findings")
                )?;
                write_findings(&findings, out)?;
            }
            Ok(Finding::Clean)
        }
        other => bail!("an unknown result of repair: {other:?}"),
    }
}

fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{what} [{{bar:30}}] {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
    )) {
        bar.set_style(style);
    }
    bar
}

fn export(ledger: &Ledger, file: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let bar = progress_bar(Some(ledger.head().count), "exporting");
    let mut tick = |done: u64| bar.set_position(done);
    if is_stdin(file) {
        ledger.export(out, &mut tick)?;
    } else if let Some(file) = file {
        write_atomically(file, |w| Ok(ledger.export(w, &mut tick).map(|_| ())?))?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Writes `file` whole or not at all: into a temporary file beside it, synced, then renamed.
/// A device, a pipe or a socket is written in place: renaming over it would put a regular
/// file where it was (`export /dev/null` once replaced the machine's `/dev/null`).
pub(crate) fn write_atomically(
    file: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let special = std::fs::metadata(file).is_ok_and(|meta| !meta.is_file() && !meta.is_dir());
    if special {
        let target = std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .with_context(|| format!("opening {}", file.display()))?;
        let mut writer = io::BufWriter::new(target);
        write(&mut writer)?;
        writer
            .flush()
            .with_context(|| format!("writing {}", file.display()))?;
        return Ok(());
    }
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating {}", file.display()))?;
    let mut writer = io::BufWriter::new(temp);
    write(&mut writer)?;
    let temp = writer.into_inner().map_err(|e| e.into_error())?;
    temp.as_file().sync_all()?;
    temp.persist(file)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

fn import(path: &Path, file: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let (mut reader, total): (Box<dyn BufRead>, Option<u64>) = if is_stdin(file) {
        (Box::new(BufReader::new(io::stdin())), None)
    } else {
        let file: PathBuf = file.map(Path::to_path_buf).unwrap_or_default();
        let handle = File::open(&file).with_context(|| format!("reading {}", file.display()))?;
        let size = handle.metadata().map(|m| m.len()).ok();
        (Box::new(BufReader::new(handle)), size)
    };
    let bar = progress_bar(total, "importing");
    let mut tick = |done: u64| bar.set_position(done);
    let ledger = Ledger::import(path, &mut reader, &mut tick).map_err(|e| match e {
        ImportError::Store(store) => anyhow!(store).context("nothing was imported"),
        other => anyhow!(other),
    })?;
    bar.finish_and_clear();
    let head = ledger.head();
    writeln!(
        out,
        "imported {} entries into {}, head {}",
        head.count,
        path.display(),
        hex::encode(head.hash)
    )?;
    Ok(())
}

/// The seed case, bundled: the spec's example plus the appointments it needs.
pub const SEED: &str = include_str!("../data/seed.ndjson");

fn demo(out: &mut dyn Write) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let path = dir.path().join("demo.db");
    let mut ledger = Ledger::create(&path)?;
    writeln!(
        out,
        "The seed case: Resolución Suprema 131-2024-PCM authorizes Defense Minister Walter Astudillo"
    )?;
    writeln!(
        out,
        "to travel to Miami on 2-4 June 2024 and puts Economy Minister José Arista Arbildo in charge."
    )?;
    writeln!(
        out,
        "\nRecording {} events in a fresh ledger ({}):",
        SEED.lines().count(),
        path.display()
    )?;
    append(&mut ledger, SEED.as_bytes(), false, out)?;
    writeln!(out, "\nWho held the Ministry of Defense (MINDEF)?")?;
    for day in 1..=5 {
        let on = Day::from_ymd(2024, 6, day).context("a day of June 2024")?;
        let answer = who_held(&ledger, "MINDEF", on, None)?;
        writeln!(out, "  {}", render::who_held_sentence(&answer))?;
    }
    writeln!(out, "\nVerifying the chain:")?;
    match ledger.verify()? {
        Verdict::Intact { count, head } => {
            writeln!(out, "  intact: {count} entries, head {}", hex::encode(head))?;
            writeln!(
                out,
                "  every index, cached timeline and tree hash matches what the log implies"
            )?;
        }
        other => bail!("the demo ledger does not verify: {other}"),
    }
    Ok(())
}
