//! Query parameters as the contract takes them: days as `YYYY-MM-DD`, `as_of` as what the
//! CLI's `--as-of` takes (a position, or an RFC 3339 time). A bad value is a 400 that names
//! the parameter.

use actledger_answers::{AsOf, AsOfSyntaxError};
use actledger_core::Day;

use crate::problem::Problem;

/// A required day.
pub(crate) fn day(name: &str, value: Option<&str>) -> Result<Day, Problem> {
    match value {
        None => Err(Problem::bad_parameter(
            name,
            format!("the parameter {name} is required: a day as YYYY-MM-DD, e.g. 2024-06-03"),
        )),
        Some(text) => parse_day(name, text),
    }
}

/// An optional day; an empty value (as an empty form field sends) is no value.
pub(crate) fn optional_day(name: &str, value: Option<&str>) -> Result<Option<Day>, Problem> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => parse_day(name, text).map(Some),
    }
}

fn parse_day(name: &str, text: &str) -> Result<Day, Problem> {
    Day::parse(text).map_err(|e| {
        Problem::bad_parameter(
            name,
            format!(
                "{name}={} {e}; write a day as YYYY-MM-DD, e.g. 2024-06-03",
                actledger_core::quote(text)
            ),
        )
    })
}

/// An optional `as_of`: a position such as 12, or an RFC 3339 time, as `--as-of` takes it.
pub(crate) fn as_of(value: Option<&str>) -> Result<Option<AsOf>, Problem> {
    let Some(text) = value.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|e: AsOfSyntaxError| {
        let detail = match e {
            AsOfSyntaxError::TooLarge(_) => format!("as_of={text} is too large for a position"),
            _ => format!("as_of={}: {e}", actledger_core::quote(text)),
        };
        Problem::bad_parameter("as_of", detail)
    })
}

/// An optional boolean: `true` or `1`, `false` or `0` (an empty value, or none, is `false`).
pub(crate) fn flag(name: &str, value: Option<&str>) -> Result<bool, Problem> {
    match value {
        None | Some("" | "false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(text) => Err(Problem::bad_parameter(
            name,
            format!(
                "{name}={} is neither true (1) nor false (0)",
                actledger_core::quote(text)
            ),
        )),
    }
}

/// A non-negative integer parameter.
pub(crate) fn number(name: &str, value: Option<&str>) -> Result<Option<u64>, Problem> {
    match value {
        None | Some("") => Ok(None),
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse()
            .map(Some)
            .map_err(|_| Problem::bad_parameter(name, format!("{name}={text} is too large"))),
        Some(text) => Err(Problem::bad_parameter(
            name,
            format!(
                "{name}={} is not a whole number",
                actledger_core::quote(text)
            ),
        )),
    }
}
