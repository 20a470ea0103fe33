//! Export and import: the chain as export lines, and a new ledger built from them.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actledger_core::{BatchError, InputEvent, Outcome, Seq, validate_batch};

use crate::entry::{Entry, Head, ZERO_HASH};
use crate::error::{ImportError, LineProblem, Problem, StoreError, storage};
use crate::index::Memo;
use crate::keys;
use crate::ledger::{Faults, Ledger, encode_head};
use crate::open::waiting;
use crate::staging::{Staging, Target, check_target};
use crate::verify::check_fields;
use crate::writes::{WriteSet, Writes};

/// How many export lines an import validates and writes at a time (bounds its memory).
const IMPORT_CHUNK: usize = 10_000;

/// How often (in entries) export reports progress.
const PROGRESS_EVERY: u64 = 1024;

/// How an import runs, besides its input ([`Ledger::import_with`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Importing<'a> {
    /// How long to wait for another process to let go of the path, to say what stands there
    /// and to open the new ledger (zero: fail at once with [`StoreError::InUse`]).
    pub wait: Duration,
    /// Set (by a signal handler, say) to ask the import to stop: it stops before the next
    /// line, and before the new ledger is moved into place, and fails with
    /// [`ImportError::Interrupted`], leaving nothing behind.
    pub stop: Option<&'a AtomicBool>,
}

impl Importing<'_> {
    /// Whether the import was asked to stop.
    fn stopped(&self) -> bool {
        self.stop.is_some_and(|stop| stop.load(Ordering::Relaxed))
    }
}

impl Ledger {
    /// Writes every entry as one export line (NDJSON; no header, no trailer), checking the
    /// chain as it goes, and returns how many. `progress` receives the number of entries
    /// written so far.
    pub fn export(
        &self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        let mut prev = ZERO_HASH;
        let mut expected: Seq = 1;
        let mut previous_time = String::new();
        for item in self.entries(1) {
            let entry = item?;
            if let Some(problem) = check_entry(&entry, expected, &prev, &previous_time) {
                return Err(StoreError::Broken {
                    seq: expected,
                    problem,
                });
            }
            out.write_all(entry.export_line().as_bytes())
                .map_err(StoreError::Write)?;
            prev = entry.hash;
            previous_time = entry.time;
            if expected.is_multiple_of(PROGRESS_EVERY) {
                progress(expected);
            }
            expected += 1;
        }
        let count = expected - 1;
        if count != self.head.count {
            return Err(StoreError::Broken {
                seq: expected,
                problem: Problem::Gap {
                    expected,
                    found: self.head.count,
                },
            });
        }
        out.flush().map_err(StoreError::Write)?;
        progress(count);
        Ok(count)
    }

    /// Builds a new ledger at `path` from an export, checking every line's form, hash, link
    /// and time and validating every event with the core rules. It is built in a folder
    /// beside `path` and moved into place at the end, so a refused export leaves nothing
    /// behind. `path` may be missing, an empty folder or a ledger with no entries.
    /// `progress` receives the number of bytes read so far.
    ///
    /// What a `create` or `import` of the same path left when it was killed outright (its
    /// staging folder, locked by nobody) is removed first.
    pub fn import(
        path: &Path,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Ledger, ImportError> {
        Ledger::import_with(path, input, progress, Importing::default())
    }

    /// [`Ledger::import`], waiting for the path and stopping when asked, as `how` says.
    pub fn import_with(
        path: &Path,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
        how: Importing<'_>,
    ) -> Result<Ledger, ImportError> {
        let target = waiting(path, how.wait, || check_target(path))?;
        if let Target::Ledger(count) = target
            && count > 0
        {
            return Err(ImportError::NotEmpty {
                path: path.to_owned(),
                count,
            });
        }
        let mut staging = Staging::new(path)?;
        let mut build = || -> Result<(), ImportError> {
            let db = staging.open_db()?;
            Ledger::write_new_meta(&db, staging.path())?;
            let mut ledger = Ledger {
                path: staging.path().to_owned(),
                db,
                head: Head::EMPTY,
                last_time: String::new(),
                memo: Memo::of_empty_ledger(),
                recovery: None,
                faults: Faults::default(),
                loan: None,
            };
            ledger.import_lines(input, progress, how)?;
            if !how.stopped() {
                ledger.rebuild_cache()?;
            }
            Ok(())
        };
        let built = build();
        // Asked to stop: whatever the build met after that (an input cut short by the same
        // Ctrl-C, say) is the interruption's doing, and nothing is moved into place. The
        // staging folder goes when `staging` is dropped, as after any failure.
        if how.stopped() {
            return Err(ImportError::Interrupted {
                path: path.to_owned(),
            });
        }
        // A refusal names the user's path, never the folder the ledger was built in.
        built.map_err(|e| match e {
            ImportError::Store(store) => ImportError::Store(store.moved(staging.path(), path)),
            other => other,
        })?;
        staging.finish(matches!(target, Target::Ledger(_)))?;
        Ok(Ledger::open_waiting(path, how.wait)?)
    }

    /// Adds to the ledger the export lines of `input`, the entries right after its head (the
    /// lines of a longer export that follow this ledger's), through the checks of
    /// [`Ledger::import`]: form, hash, link, time and the core's validation of every event.
    /// Returns how many entries were added.
    ///
    /// All or nothing: an intent record names the head before it while the entries are
    /// written, so that an extension refused here, or interrupted (by a crash too), is taken
    /// back out, as an append in parts is. The timeline cache and the answers' state are
    /// rebuilt once at the end.
    pub fn extend_from_export(
        &mut self,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, ImportError> {
        let before = self.head;
        self.begin_parts(before)?;
        let extended = self
            .import_lines(input, progress, Importing::default())
            .and_then(|()| Ok(self.rebuild_cache()?));
        match extended {
            Ok(()) => {
                self.db
                    .remove(keys::META_PENDING)
                    .map_err(storage(&self.path))?;
                self.db.flush().map_err(storage(&self.path))?;
                Ok(self.head.count - before.count)
            }
            Err(error) => {
                // The same settling an open would do: the log cut back to `before`, the
                // derived records rebuilt, the record removed.
                self.recover()?;
                Err(error)
            }
        }
    }

    /// Reads, checks and writes the export lines of `input`. Two threads share the work: this
    /// one reads the lines a chunk at a time and validates and writes the chunks; a second one
    /// parses each chunk's lines and checks their hashes and links, a chunk ahead. The outcome
    /// is what doing both in turn gives: chunks are written in order, and an error (of
    /// reading, of a line, of validation) is reported once every chunk before it is written,
    /// and before anything after it is.
    fn import_lines(
        &mut self,
        input: &mut dyn BufRead,
        progress: &mut dyn FnMut(u64),
        how: Importing<'_>,
    ) -> Result<(), ImportError> {
        // An import starts from the empty ledger; an extension from the head it continues.
        let checker = LineChecker {
            start: self.head.count,
            prev: self.head.hash,
            previous_time: self.last_time.clone(),
        };
        std::thread::scope(|scope| {
            let (raw_chunks, to_check) = std::sync::mpsc::sync_channel::<RawChunk>(1);
            let (checked_chunks, checked) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || checker.run(&to_check, &checked_chunks));
            let mut reader = LineReader::default();
            // Chunks sent to be checked and not yet written: at most two.
            let mut sent = 0;
            let read = loop {
                match reader.read_chunk(input, &how) {
                    Ok(Some(raw)) => {
                        if raw_chunks.send(raw).is_err() {
                            // The checker stopped at an error, which it sent.
                            break Ok(());
                        }
                        sent += 1;
                        if sent == 2 {
                            self.import_checked(&checked, progress)?;
                            sent -= 1;
                        }
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            drop(raw_chunks);
            if how.stopped() {
                return Ok(());
            }
            for _ in 0..sent {
                self.import_checked(&checked, progress)?;
            }
            read?;
            progress(reader.bytes);
            Ok(())
        })
    }

    /// Writes the next chunk the checker sends, or returns the error it met.
    fn import_checked(
        &mut self,
        checked: &std::sync::mpsc::Receiver<Result<CheckedChunk, ImportError>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ImportError> {
        // The checker sends a result for every chunk it takes, so one is there for each chunk
        // sent and not yet written.
        if let Ok(result) = checked.recv() {
            let chunk = result?;
            self.import_chunk(chunk.lines)?;
            progress(chunk.bytes_to_end);
        }
        Ok(())
    }

    /// Validates and writes entries whose form and chain are already checked.
    fn import_chunk(&mut self, chunk: Vec<(Entry, InputEvent)>) -> Result<(), ImportError> {
        let (entries, inputs): (Vec<Entry>, Vec<InputEvent>) = chunk.into_iter().unzip();
        let valid = validate_batch(&*self, inputs).map_err(|e| match e {
            BatchError::Invalid(invalid) => ImportError::Line {
                line: invalid.line as u64,
                problem: LineProblem::Invalid(invalid),
            },
            BatchError::Ledger(store) => ImportError::Store(store),
        })?;
        for (line, outcome) in &valid.outcomes {
            if let Outcome::AlreadyRecorded(seq) = outcome {
                return Err(ImportError::Line {
                    line: *line as u64,
                    problem: LineProblem::Repeats { seq: *seq },
                });
            }
        }
        // A new ledger's staging folder, or the intent record of an extension, covers a crash
        // between two slices.
        let mut batch = WriteSet::default();
        self.write_entries(&mut batch, &entries, valid.events())?;
        if let Some(last) = entries.last() {
            let head = Head {
                count: last.seq,
                hash: last.hash,
            };
            batch.insert(keys::META_HEAD, encode_head(head, &last.time));
            batch.apply_in_slices(&self.db, &self.path)?;
            self.memo.note(valid.events());
            self.head = head;
            self.last_time.clone_from(&last.time);
        }
        Ok(())
    }
}

/// Export lines read and not yet checked: their bytes, each with its newline (the last one
/// of the input may lack it).
struct RawChunk {
    /// The number of the first line.
    first_line: u64,
    /// The lines, one after the other.
    data: Vec<u8>,
    /// Where each line ends in `data`.
    ends: Vec<usize>,
    /// The bytes of the input read up to the chunk's end.
    bytes_to_end: u64,
}

/// Export lines checked (form, hash, link, time), with their events.
struct CheckedChunk {
    lines: Vec<(Entry, InputEvent)>,
    bytes_to_end: u64,
}

/// Reads export lines a chunk of [`IMPORT_CHUNK`] at a time.
#[derive(Default)]
struct LineReader {
    /// Lines read so far.
    line: u64,
    /// Bytes read so far.
    bytes: u64,
}

impl LineReader {
    /// The next chunk of lines; none at the end of the input or once the import is asked to
    /// stop.
    fn read_chunk(
        &mut self,
        input: &mut dyn BufRead,
        how: &Importing<'_>,
    ) -> Result<Option<RawChunk>, ImportError> {
        let mut raw = RawChunk {
            first_line: self.line + 1,
            data: Vec::new(),
            ends: Vec::with_capacity(IMPORT_CHUNK),
            bytes_to_end: 0,
        };
        while raw.ends.len() < IMPORT_CHUNK {
            if how.stopped() {
                return Ok(None);
            }
            let read =
                input
                    .read_until(b'\n', &mut raw.data)
                    .map_err(|source| ImportError::Read {
                        line: self.line + 1,
                        source,
                    })?;
            if read == 0 {
                break;
            }
            self.line += 1;
            self.bytes += read as u64;
            raw.ends.push(raw.data.len());
        }
        raw.bytes_to_end = self.bytes;
        Ok((!raw.ends.is_empty()).then_some(raw))
    }
}

/// Checks export lines in order: each one's form, hash, and link and time against the line
/// before.
struct LineChecker {
    /// The head the lines continue.
    start: Seq,
    prev: [u8; 32],
    previous_time: String,
}

impl LineChecker {
    /// Checks the chunks `to_check` receives, in order, and sends each one's outcome; stops
    /// after the first error, or when either side hangs up.
    fn run(
        mut self,
        to_check: &std::sync::mpsc::Receiver<RawChunk>,
        checked: &std::sync::mpsc::SyncSender<Result<CheckedChunk, ImportError>>,
    ) {
        for raw in to_check {
            let outcome = self.check(&raw);
            let failed = outcome.is_err();
            if checked.send(outcome).is_err() || failed {
                return;
            }
        }
    }

    fn check(&mut self, raw: &RawChunk) -> Result<CheckedChunk, ImportError> {
        let mut lines = Vec::with_capacity(raw.ends.len());
        let mut begin = 0;
        for (line, &end) in (raw.first_line..).zip(&raw.ends) {
            let buf = &raw.data[begin..end];
            begin = end;
            let refuse = |problem: LineProblem| ImportError::Line { line, problem };
            if !buf.ends_with(b"\n") {
                return Err(refuse(LineProblem::NoNewline));
            }
            let position = self.start + line;
            let checked_time = (position > 1).then_some(self.previous_time.as_str());
            let (entry, event) = crate::entry::parse_export_line_event(buf, checked_time)
                .map_err(|e| refuse(LineProblem::NotAnExportLine(e)))?;
            if let Some(problem) = check_entry(&entry, position, &self.prev, &self.previous_time) {
                return Err(refuse(LineProblem::Chain(problem)));
            }
            self.prev = entry.hash;
            self.previous_time.clone_from(&entry.time);
            lines.push((
                entry,
                InputEvent {
                    line: usize::try_from(line).unwrap_or(usize::MAX),
                    event,
                },
            ));
        }
        Ok(CheckedChunk {
            lines,
            bytes_to_end: raw.bytes_to_end,
        })
    }
}

/// Checks one entry against its expected position, the hash before it and the time before it.
pub(crate) fn check_entry(
    entry: &Entry,
    expected: Seq,
    prev: &[u8; 32],
    previous_time: &str,
) -> Option<Problem> {
    check_fields(
        entry.seq,
        &entry.time,
        &entry.prev,
        &entry.hash,
        &entry.event,
        expected,
        prev,
        previous_time,
    )
}
