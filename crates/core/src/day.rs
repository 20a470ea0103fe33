//! Calendar days as the spec defines them: `YYYY-MM-DD`, years 0001 to 9999, no time zone.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};

/// A calendar day in the jurisdiction's own calendar, between 0001-01-01 and 9999-12-31.
///
/// Days are ordered and support stepping one day forward or back, which is all replay needs
/// (ranges are inclusive on both ends).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

/// Why a text is not a [`Day`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DayError {
    /// Not of the shape `YYYY-MM-DD` (four, two and two digits).
    #[error("is not a date of the form YYYY-MM-DD")]
    Shape,
    /// The shape is right but no such day exists (`2024-02-30`, month 13, year 0000).
    #[error("is not a date")]
    Impossible,
}

impl Day {
    /// The first day the ledger can name.
    pub const MIN: Day = Day(NaiveDate::from_ymd_opt(1, 1, 1).expect("0001-01-01 is a valid date"));
    /// The last day the ledger can name.
    pub const MAX: Day =
        Day(NaiveDate::from_ymd_opt(9999, 12, 31).expect("9999-12-31 is a valid date"));

    /// Parses exactly `YYYY-MM-DD`: no sign, no time, no surrounding space.
    pub fn parse(text: &str) -> Result<Day, DayError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(DayError::Shape);
        }
        let number = |range: std::ops::Range<usize>| -> u32 {
            text[range]
                .bytes()
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let year = i32::try_from(number(0..4)).map_err(|_| DayError::Impossible)?;
        if year < 1 {
            return Err(DayError::Impossible);
        }
        NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))
            .map(Day)
            .ok_or(DayError::Impossible)
    }

    /// Builds a day from its parts; `None` when it does not exist or lies outside 0001..9999.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=9999).contains(&year) {
            return None;
        }
        NaiveDate::from_ymd_opt(year, month, day).map(Day)
    }

    /// The day after, or `None` after 9999-12-31.
    pub fn next(self) -> Option<Day> {
        if self == Day::MAX {
            None
        } else {
            self.0.succ_opt().map(Day)
        }
    }

    /// The day before, or `None` before 0001-01-01.
    pub fn prev(self) -> Option<Day> {
        if self == Day::MIN {
            None
        } else {
            self.0.pred_opt().map(Day)
        }
    }

    /// The number of days from `self` to `later`, counting both ends (1 when they are equal).
    pub fn days_through(self, later: Day) -> i64 {
        (later.0 - self.0).num_days() + 1
    }

    /// A compact ordinal (days since 0001-01-01, which is 0): stable, for indexes and encodings.
    pub fn ordinal(self) -> u32 {
        u32::try_from(self.0.num_days_from_ce() - 1)
            .expect("days from 0001-01-01 are never negative")
    }

    /// The inverse of [`Day::ordinal`]; `None` outside 0001-01-01..=9999-12-31.
    pub fn from_ordinal(ordinal: u32) -> Option<Day> {
        let days = i32::try_from(ordinal).ok()?.checked_add(1)?;
        NaiveDate::from_num_days_from_ce_opt(days)
            .filter(|d| (1..=9999).contains(&d.year()))
            .map(Day)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Plain integer formatting: chrono's strftime machinery is measurably slower, and
        // days are formatted for every cached segment and every JSON answer.
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Day {
    type Err = DayError;
    fn from_str(s: &str) -> Result<Day, DayError> {
        Day::parse(s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Day::parse(&text).map_err(|e| serde::de::Error::custom(format!("{text:?} {e}")))
    }
}

/// In OpenAPI a day is a string of format `date`, as it is written in JSON.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Day {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some(
                "A calendar day YYYY-MM-DD in the jurisdiction's own calendar (no time zone), \
                 from 0001-01-01 to 9999-12-31; ranges include both ends",
            ))
            .examples(["2024-06-03"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Day {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_spec_shape() {
        assert_eq!(
            Day::parse("2024-06-03").map(|d| d.to_string()),
            Ok("2024-06-03".into())
        );
        for bad in [
            "2024-6-03",
            "+002024-06-01",
            "2024-06-03T00:00",
            " 2024-06-03",
            "2024/06/03",
        ] {
            assert_eq!(Day::parse(bad), Err(DayError::Shape), "{bad}");
        }
        for impossible in [
            "2024-02-30",
            "2024-13-01",
            "0000-00-00",
            "0000-01-01",
            "2023-02-29",
        ] {
            assert_eq!(
                Day::parse(impossible),
                Err(DayError::Impossible),
                "{impossible}"
            );
        }
        assert!(Day::parse("2024-02-29").is_ok());
    }

    #[test]
    fn steps_and_bounds() {
        let d = Day::parse("2024-03-01").unwrap();
        assert_eq!(d.prev().unwrap().to_string(), "2024-02-29");
        assert_eq!(Day::MAX.next(), None);
        assert_eq!(Day::MIN.prev(), None);
        assert_eq!(Day::MIN.ordinal(), 0);
        assert_eq!(Day::from_ordinal(d.ordinal()), Some(d));
        assert_eq!(Day::from_ordinal(Day::MAX.ordinal() + 1), None);
        assert_eq!(d.days_through(d), 1);
    }
}
