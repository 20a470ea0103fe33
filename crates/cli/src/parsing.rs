//! The input of `append` parsed on a thread of its own: reading and parsing lines is about an
//! eighth of a large append's work, and the rest (validating, indexing, writing) stays on the
//! calling thread, so on a machine with two cores the two go side by side.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use actledger_core::{BatchReader, InputEvent, ReadError};
use anyhow::{Context, Result};

/// Events handed over at a time: enough that the channel costs nothing beside the parse, few
/// enough that what is in flight stays small.
const EVENTS_PER_SEND: usize = 512;

/// Handovers the channel holds before the parsing thread waits for the caller: at most
/// `EVENTS_PER_SEND * SENDS_IN_FLIGHT` parsed events are held ahead.
const SENDS_IN_FLIGHT: usize = 8;

/// An event of the input, or the error that ends it.
pub(crate) type Parsed = Result<InputEvent, ReadError<anyhow::Error>>;

/// Runs `consume` on the events of `input`, in order, as [`BatchReader`] gives them (the
/// first error last), while a thread of its own reads and parses them. If `consume` stops
/// early, the thread stops at its next handover.
pub(crate) fn parsed_aside<T>(
    input: impl Iterator<Item = Result<Vec<u8>>> + Send,
    consume: impl FnOnce(Received) -> T,
) -> Result<T> {
    let (sender, receiver) = mpsc::sync_channel(SENDS_IN_FLIGHT);
    thread::scope(|scope| {
        thread::Builder::new()
            .name("parse".to_owned())
            .spawn_scoped(scope, move || send_all(BatchReader::new(input), &sender))
            .context("starting the thread that reads the input")?;
        Ok(consume(Received {
            receiver,
            handed: Vec::new().into_iter(),
        }))
    })
}

/// Sends the events of `reader` to `sender`, [`EVENTS_PER_SEND`] at a time, until the first
/// error (sent last) or until nobody receives.
fn send_all(reader: impl Iterator<Item = Parsed>, sender: &SyncSender<Vec<Parsed>>) {
    let mut batch = Vec::with_capacity(EVENTS_PER_SEND);
    for event in reader {
        let failed = event.is_err();
        batch.push(event);
        if batch.len() == EVENTS_PER_SEND || failed {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(EVENTS_PER_SEND));
            if sender.send(full).is_err() || failed {
                return;
            }
        }
    }
    if !batch.is_empty() {
        // Nobody receiving is no error of the input's: the caller has stopped.
        let _ = sender.send(batch);
    }
}

/// The events the parsing thread hands over, one at a time.
pub(crate) struct Received {
    receiver: Receiver<Vec<Parsed>>,
    handed: std::vec::IntoIter<Parsed>,
}

impl Iterator for Received {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(event) = self.handed.next() {
                return Some(event);
            }
            // The thread ends (and the channel with it) after the last event or the error.
            self.handed = self.receiver.recv().ok()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str, size: usize) -> Vec<Result<Vec<u8>>> {
        text.as_bytes()
            .chunks(size)
            .map(|piece| Ok(piece.to_vec()))
            .collect()
    }

    fn summary(events: impl Iterator<Item = Parsed>) -> Vec<String> {
        events
            .map(|event| match event {
                Ok(event) => format!("{} {}", event.line, event.event.type_name()),
                Err(ReadError::Read(e)) => format!("error {e:#}"),
                Err(ReadError::Invalid(invalid)) => format!("error {invalid}"),
            })
            .collect()
    }

    const ACT: &str = r#"{"type":"act_issued","act":"RS-1","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-05-31"}"#;

    /// Many events, several handovers, a line split across pieces, an error after them: the
    /// same events and error, in the same order, as the reader gives on this thread.
    #[test]
    fn the_events_are_those_the_reader_gives_here() {
        let mut text = String::new();
        for _ in 0..(EVENTS_PER_SEND * 3 + 7) {
            text.push_str(ACT);
            text.push('\n');
        }
        text.push_str("{\"type\":\"nonsense\"}\n");
        text.push_str(ACT);
        text.push('\n');
        let here = summary(BatchReader::new(pieces(&text, 1000).into_iter()));
        let aside = parsed_aside(pieces(&text, 1000).into_iter(), summary).unwrap();
        assert_eq!(aside, here);
        assert!(aside.last().unwrap().starts_with("error"), "{aside:?}");
        assert_eq!(aside.len(), EVENTS_PER_SEND * 3 + 8);
    }

    /// An error of the input itself (a piece that could not be read) comes through as it.
    #[test]
    fn an_error_reading_the_input_comes_through() {
        let mut input = pieces(&format!("{ACT}\n"), 4096);
        input.push(Err(anyhow::anyhow!("the disk went away")));
        let got = parsed_aside(input.into_iter(), summary).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[1].contains("the disk went away"), "{got:?}");
    }

    /// A caller that stops after one event does not wait for the rest of a long input.
    #[test]
    fn stopping_early_stops_the_thread() {
        let endless = std::iter::repeat_with(|| Ok(format!("{ACT}\n").into_bytes()));
        let first = parsed_aside(endless, |mut events| events.next().map(|e| e.is_ok())).unwrap();
        assert_eq!(first, Some(true));
    }
}
