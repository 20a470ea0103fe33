//! Parsing a batch as it is read: the input comes in pieces (of any size, cut anywhere), and
//! each event is yielded with its line as soon as its line is complete, so that a batch of any
//! size is parsed in the memory of one line. [`crate::parse_batch`] is this parser given the
//! whole input in one piece: the two cannot disagree.
//!
//! The rules are `docs/DESIGN.md`'s (Input): a byte-order mark is refused; when the first
//! non-blank line is JSON that ends early, the rest of the input is one multi-line object;
//! otherwise every non-blank line is one event, and the first line that fails ends the batch.
//! A line longer than an event may be is counted, not kept; so is a multi-line object once
//! it is: what serde says of its text is then read from the rest of the input as it comes.

use std::io::{BufReader, Read};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::event::MAX_EVENT_BYTES;
use crate::parse::{
    InputEvent, InvalidEvent, is_blank, multiline_failure, opens_object, parse_event,
    parse_multiline, strip_cr, too_long,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a batch being read stops.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// An event of the input is refused (line, field, reason).
    #[error(transparent)]
    Invalid(InvalidEvent),
    /// A piece of the input could not be had.
    #[error("reading the input")]
    Read(#[source] E),
}

/// Where the reader is in the input.
#[derive(Debug)]
enum Mode {
    /// Blank lines so far.
    Searching,
    /// One event a line.
    Lines,
    /// One object over several lines, from `first_line`: its text so far.
    Object { first_line: usize, text: Vec<u8> },
}

/// A line too long to be an event, counted instead of kept.
#[derive(Debug, Clone, Copy)]
struct LongLine {
    len: usize,
    blank: bool,
    last: u8,
}

/// The events of a batch whose input comes as `pieces` (an iterator of byte pieces, or of the
/// error that stopped reading them), each with the line it starts on; then `None`. The first
/// error ends the iteration.
pub struct BatchReader<I, B> {
    pieces: I,
    piece: Option<B>,
    /// How much of `piece` is read.
    at: usize,
    /// The first bytes of the input, up to three (a byte-order mark).
    start: Vec<u8>,
    /// The bytes of the current line read so far, when it began in an earlier piece.
    line: Vec<u8>,
    long: Option<LongLine>,
    /// The current line's number, from 1.
    number: usize,
    mode: Mode,
    done: bool,
}

impl<I, B> std::fmt::Debug for BatchReader<I, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReader")
            .field("number", &self.number)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// What a complete line gave.
enum Step {
    Nothing,
    Event(InputEvent),
    Failed(InvalidEvent),
}

impl<I, B, E> BatchReader<I, B>
where
    I: Iterator<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    /// A reader of the input that `pieces` yields.
    pub fn new(pieces: I) -> BatchReader<I, B> {
        BatchReader {
            pieces,
            piece: None,
            at: 0,
            start: Vec::with_capacity(BOM.len()),
            line: Vec::new(),
            long: None,
            number: 1,
            mode: Mode::Searching,
            done: false,
        }
    }

    /// The next event, an error, or `None` at the end.
    fn step(&mut self) -> Option<Result<InputEvent, ReadError<E>>> {
        loop {
            let Some(piece) = self.piece.take() else {
                match self.pieces.next() {
                    None => return self.finish().map(|r| r.map_err(ReadError::Invalid)),
                    Some(Err(e)) => return Some(Err(ReadError::Read(e))),
                    Some(Ok(piece)) => {
                        if self.start.len() < BOM.len() {
                            let bytes = piece.as_ref();
                            let take = (BOM.len() - self.start.len()).min(bytes.len());
                            self.start.extend_from_slice(&bytes[..take]);
                            if self.start == BOM {
                                return Some(Err(ReadError::Invalid(InvalidEvent {
                                    line: 1,
                                    field: None,
                                    reason: "the input starts with a byte-order mark: save it as UTF-8 without BOM".into(),
                                })));
                            }
                        }
                        self.piece = Some(piece);
                        self.at = 0;
                        continue;
                    }
                }
            };
            let bytes = &piece.as_ref()[self.at..];
            if let Mode::Object { text, first_line } = &mut self.mode {
                text.extend_from_slice(bytes);
                if text.len() > MAX_EVENT_BYTES {
                    let first_line = *first_line;
                    let text = std::mem::take(text);
                    return Some(self.overflow(text, first_line));
                }
                continue;
            }
            let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
                self.extend_line(bytes);
                continue;
            };
            let step = if let Some(long) = self.long.take() {
                self.long_line(counted(long, &bytes[..end]))
            } else if self.line.is_empty() {
                self.complete_line(&bytes[..end], true)
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                let step = self.complete_line(&line, true);
                line.clear();
                self.line = line;
                step
            };
            self.at += end + 1;
            self.number += 1;
            if self.at < piece.as_ref().len() {
                self.piece = Some(piece);
            }
            match step {
                Step::Nothing => {}
                Step::Event(event) => return Some(Ok(event)),
                Step::Failed(invalid) => return Some(Err(ReadError::Invalid(invalid))),
            }
        }
    }

    /// Keeps `bytes`, part of a line not yet ended, or counts them once the line is too long
    /// to be an event.
    fn extend_line(&mut self, bytes: &[u8]) {
        if let Some(long) = &mut self.long {
            *long = counted(*long, bytes);
            return;
        }
        self.line.extend_from_slice(bytes);
        // A CR may still end it: longer than an event and its CR, it can only be refused.
        if self.line.len() > MAX_EVENT_BYTES + 1 {
            self.long = Some(counted(
                LongLine {
                    len: 0,
                    blank: true,
                    last: 0,
                },
                &self.line,
            ));
            self.line = Vec::new();
        }
    }

    /// A complete line (without its `\n`; `ended` when one followed it).
    fn complete_line(&mut self, raw: &[u8], ended: bool) -> Step {
        if is_blank(raw) {
            return Step::Nothing;
        }
        if let Mode::Searching = self.mode {
            if opens_object(strip_cr(raw)) {
                let mut text = raw.to_vec();
                if ended {
                    text.push(b'\n');
                }
                self.mode = Mode::Object {
                    first_line: self.number,
                    text,
                };
                return Step::Nothing;
            }
            self.mode = Mode::Lines;
        }
        match parse_event(strip_cr(raw)) {
            Ok(event) => Step::Event(InputEvent {
                line: self.number,
                event,
            }),
            Err(e) => Step::Failed(e.at_line(self.number)),
        }
    }

    /// A complete line too long to be an event: blank, or refused for its length.
    fn long_line(&mut self, long: LongLine) -> Step {
        if long.blank {
            return Step::Nothing;
        }
        self.mode = Mode::Lines;
        let len = long.len - usize::from(long.last == b'\r');
        Step::Failed(too_long(len).at_line(self.number))
    }

    /// The end of the input.
    fn finish(&mut self) -> Option<Result<InputEvent, InvalidEvent>> {
        // The last line, which no newline ended (empty when the input ends with one).
        let step = match self.long.take() {
            Some(long) => self.long_line(long),
            None if matches!(self.mode, Mode::Object { .. }) => Step::Nothing,
            None => {
                let line = std::mem::take(&mut self.line);
                self.complete_line(&line, false)
            }
        };
        match step {
            Step::Event(event) => return Some(Ok(event)),
            Step::Failed(invalid) => return Some(Err(invalid)),
            Step::Nothing => {}
        }
        match std::mem::replace(&mut self.mode, Mode::Lines) {
            Mode::Searching => Some(Err(InvalidEvent {
                line: 1,
                field: None,
                reason: "the input holds no event: write one JSON object, or one object a line"
                    .into(),
            })),
            Mode::Lines => None,
            Mode::Object { first_line, text } => {
                if text.len() > MAX_EVENT_BYTES {
                    return Some(Err(multiline_failure(
                        too_long(text.len()),
                        serde_json::from_slice::<IgnoredAny>(&text).map(|_| ()),
                        first_line,
                    )));
                }
                Some(parse_multiline(&text, first_line))
            }
        }
    }

    /// A multi-line object longer than an event may be: refused, for its length or for what
    /// serde finds in its text, which is read through to the end of the input without being
    /// kept.
    fn overflow(&mut self, text: Vec<u8>, first_line: usize) -> Result<InputEvent, ReadError<E>> {
        let mut rest = Rest {
            len: text.len(),
            kept: text,
            at: 0,
            pieces: &mut self.pieces,
            failed: None,
        };
        let json = {
            let mut de = serde_json::Deserializer::from_reader(BufReader::new(&mut rest));
            IgnoredAny::deserialize(&mut de).and_then(|_| de.end())
        };
        // Counted to the end, whatever serde read.
        rest.at = rest.kept.len();
        while rest.fill() {
            rest.at = rest.kept.len();
        }
        let len = rest.len;
        if let Some(e) = rest.failed.take() {
            return Err(ReadError::Read(e));
        }
        Err(ReadError::Invalid(multiline_failure(
            too_long(len),
            json,
            first_line,
        )))
    }
}

/// `long` with `bytes` more.
fn counted(long: LongLine, bytes: &[u8]) -> LongLine {
    LongLine {
        len: long.len + bytes.len(),
        blank: long.blank && is_blank(bytes),
        last: bytes.last().copied().unwrap_or(long.last),
    }
}

impl<I, B, E> Iterator for BatchReader<I, B>
where
    I: Iterator<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    type Item = Result<InputEvent, ReadError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.step();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// The text of a multi-line object, then the rest of the input, as `Read`, counting the
/// bytes (`len`). A piece that could not be had ends it (`failed`).
struct Rest<'a, I, E> {
    /// The bytes being read: the text, then each piece in turn.
    kept: Vec<u8>,
    at: usize,
    pieces: &'a mut I,
    len: usize,
    failed: Option<E>,
}

impl<I, B, E> Rest<'_, I, E>
where
    I: Iterator<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    /// Moves to the next piece when the current one is read: false at the end.
    fn fill(&mut self) -> bool {
        while self.at == self.kept.len() {
            if self.failed.is_some() {
                return false;
            }
            match self.pieces.next() {
                None => return false,
                Some(Err(e)) => {
                    self.failed = Some(e);
                    return false;
                }
                Some(Ok(piece)) => {
                    self.kept.clear();
                    self.kept.extend_from_slice(piece.as_ref());
                    self.len += self.kept.len();
                    self.at = 0;
                }
            }
        }
        true
    }
}

impl<I, B, E> Read for Rest<'_, I, E>
where
    I: Iterator<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.fill() {
            if self.failed.is_some() {
                return Err(std::io::Error::other("the input could not be read"));
            }
            return Ok(0);
        }
        let n = out.len().min(self.kept.len() - self.at);
        out[..n].copy_from_slice(&self.kept[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use serde::de::IgnoredAny;

    use super::{BatchReader, ReadError};
    use crate::event::MAX_EVENT_BYTES;
    use crate::parse::{InputEvent, InvalidEvent, parse_event, parse_multiline, strip_cr};

    /// `parse_batch` as it was before the input was read in pieces: the reader must agree
    /// with it on every input, however it is cut.
    fn whole(input: &[u8]) -> Result<Vec<InputEvent>, InvalidEvent> {
        if input.starts_with(b"\xEF\xBB\xBF") {
            return Err(InvalidEvent {
                line: 1,
                field: None,
                reason: "the input starts with a byte-order mark: save it as UTF-8 without BOM"
                    .into(),
            });
        }
        let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        let is_blank = |l: &&[u8]| l.iter().all(u8::is_ascii_whitespace);
        let Some(first) = lines.iter().position(|l| !is_blank(l)) else {
            return Err(InvalidEvent {
                line: 1,
                field: None,
                reason: "the input holds no event: write one JSON object, or one object a line"
                    .into(),
            });
        };
        let first_line = strip_cr(lines[first]);
        if first_line.len() <= MAX_EVENT_BYTES
            && std::str::from_utf8(first_line).is_ok()
            && let Err(e) = serde_json::from_slice::<IgnoredAny>(first_line)
            && e.is_eof()
        {
            let start: usize = lines[..first].iter().map(|l| l.len() + 1).sum();
            return parse_multiline(&input[start..], first + 1).map(|e| vec![e]);
        }
        let mut events = Vec::new();
        for (index, line) in lines.iter().enumerate().skip(first) {
            if is_blank(line) {
                continue;
            }
            let number = index + 1;
            let event = parse_event(strip_cr(line)).map_err(|e| e.at_line(number))?;
            events.push(InputEvent {
                line: number,
                event,
            });
        }
        Ok(events)
    }

    fn in_pieces(input: &[u8], size: usize) -> Result<Vec<InputEvent>, InvalidEvent> {
        let pieces = input.chunks(size).map(Ok::<_, Infallible>);
        BatchReader::new(pieces)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| match e {
                ReadError::Invalid(invalid) => invalid,
                ReadError::Read(never) => match never {},
            })
    }

    const ACT: &str =
        r#"{"type":"act_issued","act":"A-1","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#;

    fn check(input: &[u8], sizes: &[usize]) {
        let expected = whole(input);
        for &size in sizes {
            assert_eq!(
                in_pieces(input, size.max(1)),
                expected,
                "pieces of {size}: {:?}",
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
    }

    #[test]
    fn pieces_cut_anywhere_read_as_the_whole_input() {
        let act2 = ACT.replace("A-1", "A-2");
        let pretty = "{\n  \"type\": \"act_issued\",\n  \"act\": \"A-1\",\n  \"kind\": \"ley\",\n  \"issuer\": \"PCM\",\n  \"issued_on\": \"2024-01-01\"\n}\n".to_owned();
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n\n  \r\n".to_vec(),
            format!("{ACT}\n{act2}\n").into_bytes(),
            format!("{ACT}\r\n\r\n{act2}").into_bytes(),
            format!("\n\n{ACT}\n{{\"type\":\"act_issued\"}}\n").into_bytes(),
            format!("\u{feff}{ACT}\n").into_bytes(),
            b"\xEF\xBB".to_vec(),
            pretty.clone().into_bytes(),
            format!("\n\r\n{pretty}").into_bytes(),
            format!("{pretty}{pretty}").into_bytes(),
            pretty.replace("\n}", "\n").into_bytes(),
            pretty.replace("\"kind\"", "kind").into_bytes(),
            b"{\"type\":\"act_issued\",\"act\":\"A\"".to_vec(),
            b"{\"type\":\"act_issued\",\n\"act\":\"A\"\n\n".to_vec(),
            format!("{ACT}\nnot json\n{act2}").into_bytes(),
            b"[1,\n2]\n".to_vec(),
            b"\xff\xfe{\n".to_vec(),
        ];
        for input in &inputs {
            check(input, &[1, 2, 3, 5, 17, 64, 4096, input.len()]);
        }
    }

    #[test]
    fn long_lines_and_long_objects_are_refused_as_the_whole_input_refuses_them() {
        let big = "x".repeat(MAX_EVENT_BYTES + 10);
        let spaces = " ".repeat(MAX_EVENT_BYTES + 10);
        let object_of = |n: usize| {
            let mut text = String::from(
                "{\n\"type\":\"act_revoked\",\n\"act\":\"A-1\",\n\"revokes\":\"A-0\",\n\"reason\":\"",
            );
            text.push_str(&"r".repeat(n));
            text.push_str("\"\n}\n");
            text
        };
        let array = format!("[\n{}\n1]\n", "1,\n".repeat(MAX_EVENT_BYTES / 3));
        let inputs: Vec<Vec<u8>> = vec![
            format!("{ACT}\n{big}\n{ACT}\n").into_bytes(),
            format!("{big}\r\n").into_bytes(),
            big.clone().into_bytes(),
            format!("{spaces}\n{ACT}\n").into_bytes(),
            format!("{spaces}\r\n{spaces}").into_bytes(),
            format!("{}\r\n", "x".repeat(MAX_EVENT_BYTES)).into_bytes(),
            format!("{}\r\n", "x".repeat(MAX_EVENT_BYTES - 1)).into_bytes(),
            object_of(MAX_EVENT_BYTES - 200).into_bytes(),
            object_of(MAX_EVENT_BYTES + 10).into_bytes(),
            format!("{}{}", object_of(MAX_EVENT_BYTES + 10), object_of(3)).into_bytes(),
            format!("{}{}", object_of(3), object_of(MAX_EVENT_BYTES + 10)).into_bytes(),
            object_of(MAX_EVENT_BYTES + 10)
                .replace("\n}\n", "\n")
                .into_bytes(),
            format!("{}\n@", object_of(MAX_EVENT_BYTES + 10)).into_bytes(),
            array.clone().into_bytes(),
            array.replace("\n1]", "\n1,]").into_bytes(),
        ];
        for input in &inputs {
            check(input, &[7, 1000, 65536, input.len()]);
        }
    }

    #[test]
    fn a_piece_that_cannot_be_had_ends_the_batch_after_the_events_before_it() {
        let input = format!("{ACT}\n{}", ACT.replace("A-1", "A-2"));
        let pieces = vec![Ok(input.as_bytes()), Err("gone")];
        let mut reader = BatchReader::new(pieces.into_iter());
        assert_eq!(reader.next().unwrap().unwrap().line, 1);
        assert!(matches!(reader.next(), Some(Err(ReadError::Read("gone")))));
        assert!(reader.next().is_none());
    }
}
