//! One function per command: open the ledger, ask the library, print the answer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actledger_answers as answers;
use actledger_answers::{AnswerError, HeadAnswer, ImportAnswer, RepairAnswer, VerifyAnswer};
use actledger_core::{Day, ReadError, Seq};
use actledger_store::{ImportError, Importing, Ledger, Scope, StoreError};
use anyhow::{Context, Result, anyhow, bail};
use chrono::Datelike;
use serde::Serialize;

use crate::Finding;
use crate::args::{Cli, Command};
use crate::files::{input_pieces, is_stdin, write_atomically};
use crate::signals::{Stop, Stopped};
use crate::{mirror, parsing, proofs, render};

/// Runs one command, writing its answer to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Finding> {
    let path = cli.ledger.as_path();
    let wait = cli.wait;
    match cli.command {
        Command::Init => {
            Ledger::create_waiting(path, wait).map_err(|e| store_error(e, path))?;
            writeln!(out, "created an empty ledger at {}", path.display())?;
        }
        Command::Append {
            file,
            quiet,
            strict,
            json,
            typed,
        } => {
            let input: Box<dyn Iterator<Item = Result<Vec<u8>>> + Send> = match typed {
                Some(event) => {
                    let mut line = event.to_json()?;
                    line.push(b'\n');
                    Box::new(std::iter::once(Ok(line)))
                }
                None => {
                    if is_stdin(file.as_deref()) && io::stdin().is_terminal() {
                        // Said on stderr: a person at a terminal would otherwise see nothing.
                        eprintln!(
                            "reading events from the terminal: one JSON object a line, then Ctrl-D (or give a FILE)"
                        );
                    }
                    Box::new(input_pieces(file.as_deref())?)
                }
            };
            // Opening can fail for want of room too: still all or nothing.
            let mut ledger =
                open(path, wait).map_err(|e| e.context("nothing of the batch was recorded"))?;
            let bytes_before = actledger_store::folder_bytes(path).ok();
            let recorded = append(&mut ledger, input, strict, json.json, quiet, out)?;
            // A borrowed ledger goes back to the server that lent it, which must find the
            // folder it lent: it is never compacted from under it.
            let borrowed = ledger.is_borrowed();
            drop(ledger);
            if !borrowed {
                let appended = actledger_store::AppendedBatch {
                    events: recorded,
                    bytes_before,
                };
                compact_after_append(path, appended, quiet || json.json);
            }
        }
        Command::WhoHeld {
            office,
            when,
            proof: None,
            json,
            ..
        } => {
            let on = when.on.map_or_else(today, Ok)?;
            let ledger = open(path, wait)?;
            let answer = answers::holder(&ledger, &office, on, when.as_of.as_of)?.answer;
            print(out, json.json, &answer, render::who_held_text)?;
        }
        Command::WhoHeld {
            office,
            when,
            proof: Some(file),
            checkpoint,
            json,
        } => {
            let on = when.on.map_or_else(today, Ok)?;
            let ledger = open(path, wait)?;
            proofs::who_held_proof(
                &ledger,
                &office,
                on,
                &file,
                checkpoint.as_deref(),
                json.json,
                out,
            )?;
        }
        Command::State { when, json } => {
            let on = when.on.map_or_else(today, Ok)?;
            let ledger = open(path, wait)?;
            let answer = answers::state_on(&ledger, on, when.as_of.as_of)?.answer;
            print(out, json.json, &answer, render::state_table)?;
        }
        Command::History {
            office,
            as_of,
            json,
        } => {
            let ledger = open(path, wait)?;
            let answer = answers::office_history(&ledger, &office, as_of.as_of)?.answer;
            print(out, json.json, &answer, render::history_table)?;
        }
        Command::Offices { query, as_of, json } => {
            let ledger = open(path, wait)?;
            let answer = answers::find_offices(&ledger, query.as_deref(), as_of.as_of)?.answer;
            print(out, json.json, &answer, render::offices_table)?;
        }
        Command::Show { act, as_of, json } => {
            let ledger = open(path, wait)?;
            let answer = answers::act(&ledger, &act, as_of.as_of)?.answer;
            print(out, json.json, &answer, render::act_text)?;
        }
        Command::Log { from, limit, json } => {
            let ledger = open(path, wait)?;
            log(&ledger, from, limit, json.json, out)?;
        }
        Command::Audit { check, as_of, json } => {
            let ledger = open(path, wait)?;
            // The offices are replayed one by one with no count known ahead: a spinner and
            // the time so far, on a terminal only.
            let spinner = working("auditing every office");
            let answer = answers::audit(&ledger, as_of.as_of)?.answer;
            spinner.finish_and_clear();
            print(out, json.json, &answer, render::audit_table)?;
            if check && !answer.anomalies.is_empty() {
                return Ok(Finding::Anomalies);
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
        Command::Compact { json } => compact(path, wait, json.json, out)?,
        Command::Head { json } => {
            let ledger = open(path, wait)?;
            let answer = HeadAnswer::from(ledger.head());
            print(out, json.json, &answer, render::head_text)?;
        }
        Command::Export { file } => {
            let ledger = open(path, wait)?;
            export(&ledger, file.as_deref(), out)?;
        }
        Command::Import { file, json } => import(path, file.as_deref(), wait, json.json, out)?,
        Command::Demo => demo(out)?,
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            let mut command = crate::args::command();
            clap_complete::generate(shell, &mut command, "actledger", &mut script);
            out.write_all(&script)?;
        }
        Command::Man => {
            clap_mangen::Man::new(crate::args::command()).render(out)?;
        }
        Command::Keygen { name, out: dir } => proofs::keygen(&name, &dir, out)?,
        Command::Checkpoint { key, out: file } => {
            let ledger = open(path, wait)?;
            proofs::checkpoint(&ledger, &key, file.as_deref(), out)?;
        }
        Command::Publish { dir, key, json } => {
            let ledger = open(path, wait)?;
            mirror::publish(&ledger, path, &dir, &key, json.json, out)?;
        }
        Command::Clone {
            source,
            ledger,
            vkey,
            json,
        } => mirror::clone(&source, &ledger, &vkey, wait, json.json, out)?,
        Command::Prove {
            target,
            event,
            all,
            size,
            from,
            to,
            json,
        } => {
            let ledger = open(path, wait)?;
            match (target, from, to) {
                (Some(target), _, _) => {
                    let pick = match (event, all) {
                        (Some(seq), _) => proofs::Pick::Event(seq),
                        (None, true) => proofs::Pick::All,
                        (None, false) => proofs::Pick::Named,
                    };
                    proofs::prove_inclusion(&ledger, &target, pick, size, json.json, out)?
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
        } => return serve(path, addr, token_file, key, wait, out),
        Command::CheckProof {
            vkey,
            checkpoint,
            old_checkpoint,
            proof,
        } => proofs::check_proof(&vkey, &checkpoint, old_checkpoint.as_deref(), &proof, out)?,
        Command::FetchAnswer {
            source,
            office,
            on,
            vkey,
            proof,
            json,
        } => mirror::fetch_answer(
            &source,
            &office,
            on,
            &vkey,
            proof.as_deref(),
            json.json,
            out,
        )?,
        Command::CheckAnswer { vkey, json, bundle } => {
            proofs::check_answer(&vkey, &bundle, json.json, out)?
        }
    }
    Ok(Finding::Clean)
}

/// Today's date in UTC: the day `--on` means when it is not given.
fn today() -> Result<Day> {
    let now = chrono::Utc::now().date_naive();
    Day::from_ymd(now.year(), now.month(), now.day())
        .with_context(|| format!("today ({now}) is not a day the ledger takes"))
}

/// A store error in the words of the command line: it names the flags that help.
pub(crate) fn store_error(error: StoreError, path: &Path) -> anyhow::Error {
    match error {
        StoreError::NotALedger { .. } => anyhow!(
            "no ledger at {}: create one with `actledger --ledger {} init`, or point --ledger (or ACTLEDGER_LEDGER) at an existing one",
            path.display(),
            path.display()
        ),
        // The store names the holder; waiting is the command line's notion (--wait).
        StoreError::InUse { .. } => anyhow!("{error}; wait for it with --wait SECONDS"),
        StoreError::StillInUse { .. } => anyhow!("{error}; wait longer with --wait SECONDS"),
        other => other.into(),
    }
}

fn serve(
    path: &Path,
    addr: std::net::SocketAddr,
    token_file: Option<PathBuf>,
    key: Option<PathBuf>,
    wait: Duration,
    out: &mut dyn Write,
) -> Result<Finding> {
    let config = actledger_server::ServerConfig {
        addr,
        token_file,
        key_file: key,
        wait,
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
            report_verdict(&VerifyAnswer::new(*verdict, Scope::Everything), false, out)
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

/// Prints an answer: serde's JSON of it, one line, or its text for people.
pub(crate) fn print<T: Serialize>(
    out: &mut dyn Write,
    as_json: bool,
    answer: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<()> {
    if as_json {
        serde_json::to_writer(&mut *out, answer)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text(answer))?;
    }
    Ok(())
}

/// Why an append read from the input stopped.
enum Failure {
    /// The input could not be read.
    Read(anyhow::Error),
    /// The answers refused or failed.
    Answer(AnswerError),
}

impl From<AnswerError> for Failure {
    fn from(error: AnswerError) -> Failure {
        Failure::Answer(error)
    }
}

/// Appends the events of `input` (read a piece at a time, so that a batch of any size takes
/// the memory of a part) and prints the answer.
fn append(
    ledger: &mut Ledger,
    input: impl Iterator<Item = Result<Vec<u8>>> + Send,
    strict: bool,
    as_json: bool,
    quiet: bool,
    out: &mut dyn Write,
) -> Result<u64> {
    // The input is read and parsed on a second thread while this one validates and writes.
    let appended = parsing::parsed_aside(input, |events| {
        let events = events.map(|event| {
            event.map_err(|e| match e {
                ReadError::Invalid(invalid) => Failure::Answer(AnswerError::Invalid(invalid)),
                ReadError::Read(e) => Failure::Read(e),
            })
        });
        answers::append_stream(ledger, events, strict)
    });
    let outcomes = appended
        .map_err(|e| e.context("nothing of the batch was recorded"))?
        .map_err(|e| match e {
            Failure::Read(e) => e.context("nothing of the batch was recorded"),
            Failure::Answer(AnswerError::Invalid(invalid)) => anyhow!(invalid),
            Failure::Answer(AnswerError::Refused { warnings }) => {
                for warning in &warnings {
                    let _ = writeln!(io::stderr().lock(), "warning: {warning}");
                }
                anyhow!(AnswerError::Refused { warnings })
            }
            Failure::Answer(other) => anyhow!(other).context("nothing of the batch was recorded"),
        })?;
    // Warnings are for people, on stderr; they do not change the exit code.
    for warning in outcomes.warnings() {
        let _ = writeln!(io::stderr().lock(), "warning: {warning}");
    }
    if as_json {
        // One line that may list millions of events, written as they are walked: buffered,
        // and flushed for its errors.
        let mut writer = io::BufWriter::new(&mut *out);
        serde_json::to_writer(&mut writer, &outcomes)?;
        writeln!(writer)?;
        writer.flush()?;
    } else {
        render::write_append(out, &outcomes, quiet)?;
    }
    Ok(outcomes.recorded())
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
    // The log alone is checked on every core with no count to report: a spinner says it works.
    let bar = match scope {
        Scope::Log => working("verifying the log"),
        _ => progress_bar(None, "verifying", Unit::Entries),
    };
    let verdict = actledger_store::verify_path_reporting(path, scope, wait, &mut |checked| {
        bar.set_position(checked)
    })
    .map_err(|e| store_error(e, path))?;
    bar.finish_and_clear();
    let verdict = match (verdict, scope) {
        (actledger_store::Verdict::Intact { count, head }, Scope::Everything) => {
            with_newest_statement(&open(path, wait)?, count, head)?
        }
        (verdict, _) => verdict,
    };
    report_verdict(&VerifyAnswer::new(verdict, scope), as_json, out)
}

/// The verdict on a ledger found intact (`count` entries, `head`), once the newest kept state
/// statement is checked against the state the log implies: diverged when it signs another.
pub(crate) fn with_newest_statement(
    ledger: &Ledger,
    count: u64,
    head: [u8; 32],
) -> Result<actledger_store::Verdict> {
    Ok(match answers::check_newest_statement(ledger)? {
        None => actledger_store::Verdict::Intact { count, head },
        Some(finding) => {
            let mut findings = actledger_store::Findings::default();
            findings.push(finding);
            actledger_store::Verdict::Diverged {
                count,
                head,
                findings,
            }
        }
    })
}

/// Prints a verification; every verdict but intact is exit 3.
pub(crate) fn report_verdict(
    answer: &VerifyAnswer,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Finding> {
    print(out, as_json, answer, render::verify_text)?;
    Ok(if answer.intact {
        Finding::Clean
    } else {
        Finding::Altered
    })
}

fn repair(path: &Path, wait: Duration, as_json: bool, out: &mut dyn Write) -> Result<Finding> {
    let repair = actledger_store::repair_path(path, wait).map_err(|e| store_error(e, path))?;
    let answer = RepairAnswer::from(repair);
    print(out, as_json, &answer, render::repair_text)?;
    Ok(match answer.found {
        answers::RepairFound::LogFails(_) => Finding::Altered,
        _ => Finding::Clean,
    })
}

fn compact(path: &Path, wait: Duration, as_json: bool, out: &mut dyn Write) -> Result<()> {
    let bar = progress_bar(None, "compacting", Unit::Records);
    let mut tick = |done: u64| bar.set_position(done);
    let compacted = actledger_store::compact_path(path, wait, &mut tick);
    bar.finish_and_clear();
    let compacted = compacted.map_err(|e| store_error(e, path))?;
    print(out, as_json, &compacted, |compacted| {
        render::compact_text(compacted, path)
    })
}

/// sled keeps much of what each small append replaces, so once the ledger's folder has grown
/// past its bound since its last compaction, the append that finds it so compacts it (see
/// `compact_if_grown`, which also says what a large batch does instead). `appended`: the batch
/// just recorded. The batch is recorded whatever happens here: a failure is a warning.
fn compact_after_append(path: &Path, appended: actledger_store::AppendedBatch, quiet: bool) {
    let mut bar = None;
    let mut tick = |done: u64| {
        if !quiet {
            bar.get_or_insert_with(|| progress_bar(None, "compacting the ledger", Unit::Records))
                .set_position(done);
        }
    };
    let bound = actledger_store::GrowthBound::APPEND;
    // A Ctrl-C now stops the compaction, not the process: the batch is recorded, and an exit
    // code saying otherwise would have a script append it again.
    let stop = Stop::catch().ok();
    let flag = stop.as_ref().map(Stop::flag);
    let result = actledger_store::compact_if_grown(path, bound, appended, &mut tick, flag);
    drop(stop);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Written, not printed: the batch is recorded, and a closed stderr must not turn that into
    // a failure (`eprintln!` panics on one).
    let said = match result {
        Ok(Some((growth, compacted))) if !quiet => {
            render::auto_compact_text(&growth, &compacted, path)
        }
        Ok(_) => return,
        Err(e @ actledger_store::StoreError::CompactionStopped { .. }) => {
            format!("warning: the batch is recorded; {e}\n")
        }
        Err(e) => {
            format!(
                "warning: the batch is recorded, but compacting the ledger after it failed: {e}\n"
            )
        }
    };
    let _ = io::stderr().lock().write_all(said.as_bytes());
}

/// What a progress bar counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unit {
    /// Bytes of an input: shown in MB, with a rate in MB/s.
    Bytes,
    /// Entries: shown as counts with thousands separators, with a rate in entries/s.
    Entries,
    /// Records of the database, never with a total: counts, with a rate in records/s.
    Records,
}

/// A progress bar on stderr, drawn only on a terminal (indicatif hides it elsewhere), in
/// units people read: MB or entries, a rate and the time left.
pub(crate) fn progress_bar(total: Option<u64>, what: &str, unit: Unit) -> indicatif::ProgressBar {
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let template = match (unit, total.is_some()) {
        (Unit::Bytes, true) => {
            "{what} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left"
        }
        (Unit::Bytes, false) => "{what} {spinner} {bytes} {bytes_per_sec}",
        (Unit::Entries, true) => {
            "{what} [{bar:30}] {human_pos}/{human_len} entries {rate}, {eta} left"
        }
        (Unit::Entries, false) => "{what} {spinner} {human_pos} entries {rate}",
        // A compaction does not know how many records there are before it has copied them.
        (Unit::Records, _) => "{what} {spinner} {human_pos} records {rate}",
    };
    let what = what.to_owned();
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(
            style
                .with_key(
                    "what",
                    move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&what);
                    },
                )
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}/s", indicatif::HumanCount(state.per_sec() as u64));
                    },
                ),
        );
    }
    bar
}

/// A spinner saying what is being done and for how long, on stderr (a terminal only).
fn working(what: &str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {spinner} {elapsed}") {
        spinner.set_style(style);
    }
    spinner.set_message(what.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

fn export(ledger: &Ledger, file: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let bar = progress_bar(Some(ledger.head().count), "exporting", Unit::Entries);
    let mut tick = |done: u64| bar.set_position(done);
    if is_stdin(file) {
        ledger.export(out, &mut tick)?;
    } else if let Some(file) = file {
        write_atomically(file, |w| Ok(ledger.export(w, &mut tick).map(|_| ())?))?;
    }
    bar.finish_and_clear();
    Ok(())
}

fn import(
    path: &Path,
    file: Option<&Path>,
    wait: Duration,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let (mut reader, total): (Box<dyn BufRead>, Option<u64>) = if is_stdin(file) {
        (Box::new(BufReader::new(io::stdin())), None)
    } else {
        let file: PathBuf = file.map(Path::to_path_buf).unwrap_or_default();
        let handle = File::open(&file).with_context(|| format!("reading {}", file.display()))?;
        let size = handle.metadata().map(|m| m.len()).ok();
        (Box::new(BufReader::new(handle)), size)
    };
    // Ctrl-C or SIGTERM stops the import between lines; the store then removes what it built.
    let stop = Stop::catch().context("catching Ctrl-C and SIGTERM")?;
    let how = Importing {
        wait,
        stop: Some(stop.flag()),
    };
    let bar = progress_bar(total, "importing", Unit::Bytes);
    let mut tick = |done: u64| bar.set_position(done);
    let imported = Ledger::import_with(path, &mut reader, &mut tick, how);
    bar.finish_and_clear();
    let ledger = imported.map_err(|e| match e {
        ImportError::Store(store) => store_error(store, path).context("nothing was imported"),
        ImportError::Interrupted { .. } => anyhow!(Stopped {
            message: e.to_string(),
            code: stop.code(),
        }),
        other => anyhow!(other),
    })?;
    drop(stop);
    let answer = ImportAnswer {
        head: ledger.head().into(),
    };
    print(out, as_json, &answer, |answer| {
        render::import_text(answer, path)
    })
}

/// The seed case, bundled: the spec's example plus the appointments it needs.
pub const SEED: &str = include_str!("../data/seed.ndjson");

fn demo(out: &mut dyn Write) -> Result<()> {
    // tempfile's error names the random folder it tried; say where, not that name.
    let temp = std::env::temp_dir();
    let dir = tempfile::tempdir().map_err(|e| {
        let cause = std::fs::metadata(&temp)
            .err()
            .unwrap_or(io::Error::from(e.kind()));
        anyhow!("creating a temporary folder in {}: {cause}", temp.display())
    })?;
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
    let seed = std::iter::once(Ok(SEED.as_bytes().to_vec()));
    append(&mut ledger, seed, false, false, false, out)?;
    writeln!(out, "\nWho held the Ministry of Defense (MINDEF)?")?;
    for day in 1..=5 {
        let on = Day::from_ymd(2024, 6, day).context("a day of June 2024")?;
        let answer = answers::holder(&ledger, "MINDEF", on, None)?.answer;
        writeln!(out, "  {}", render::who_held_sentence(&answer))?;
    }
    writeln!(out, "\nVerifying the chain:")?;
    let answer = VerifyAnswer::new(ledger.verify()?, Scope::Everything);
    if !answer.intact {
        bail!("the demo ledger does not verify: {}", answer.verdict);
    }
    for line in render::verify_text(&answer).lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}
