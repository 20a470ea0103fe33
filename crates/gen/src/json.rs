//! A tiny writer of one JSON object in the ledger's canonical form: `type` first, then the
//! fields in the order they are added (the generator adds them in the spec's order), compact,
//! strings escaped as serde_json escapes them. A generated line is therefore byte for byte
//! the event's canonical bytes, so NDJSON, stored event and export carry the same bytes.

use std::fmt::Write as _;

use actledger_core::Day;

/// One event's JSON object being written.
pub(crate) struct Obj(String);

impl Obj {
    pub(crate) fn new(kind: &str) -> Obj {
        let mut text = String::with_capacity(384);
        text.push_str("{\"type\":\"");
        text.push_str(kind);
        text.push('"');
        Obj(text)
    }

    fn key(&mut self, key: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    pub(crate) fn str(mut self, key: &str, value: &str) -> Obj {
        self.key(key);
        escape_into(&mut self.0, value);
        self
    }

    pub(crate) fn opt(self, key: &str, value: Option<&str>) -> Obj {
        match value {
            Some(value) => self.str(key, value),
            None => self,
        }
    }

    pub(crate) fn num(mut self, key: &str, value: u64) -> Obj {
        self.key(key);
        write!(self.0, "{value}").expect("writing to a string");
        self
    }

    pub(crate) fn day(mut self, key: &str, ordinal: u32) -> Obj {
        self.key(key);
        write!(self.0, "\"{}\"", day(ordinal)).expect("writing to a string");
        self
    }

    pub(crate) fn opt_day(self, key: &str, ordinal: Option<u32>) -> Obj {
        match ordinal {
            Some(ordinal) => self.day(key, ordinal),
            None => self,
        }
    }

    pub(crate) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// The day of an ordinal (days since 0001-01-01).
pub(crate) fn day(ordinal: u32) -> Day {
    // The simulated clock moves about one day per 7 events from 1960: it reaches year 9999
    // only after some twenty billion events.
    Day::from_ordinal(ordinal).expect("the simulated clock stays before 9999-12-31")
}

/// Appends `value` as a JSON string, escaped exactly as serde_json escapes it.
fn escape_into(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                write!(out, "\\u{:04x}", u32::from(c)).expect("writing to a string");
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::Obj;

    #[test]
    fn escapes_as_serde_json_does() {
        let text = "a\"b\\c\nd\u{01}é\u{7f}";
        let line = Obj::new("x").str("k", text).end();
        let expected = format!(
            "{{\"type\":\"x\",\"k\":{}}}",
            serde_json::to_string(text).expect("a string serializes")
        );
        assert_eq!(line, expected);
    }
}
