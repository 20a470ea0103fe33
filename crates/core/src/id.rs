//! Identifiers of acts, persons and offices: `[A-Za-z0-9][A-Za-z0-9._-]*`, 1 to 128 characters.

use std::fmt;

use serde::Serialize;

/// The longest identifier the spec allows.
pub const MAX_ID_LEN: usize = 128;

/// Why a text is not an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The empty string.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_ID_LEN`].
    #[error("is longer than 128 characters")]
    TooLong,
    /// A character outside the pattern, or a first character that is not a letter or digit.
    #[error("must start with a letter or digit and hold only letters, digits, '.', '_' and '-'")]
    Pattern,
}

/// Checks `text` against the identifier pattern.
pub fn check_id(text: &str) -> Result<(), IdError> {
    let bytes = text.as_bytes();
    let Some(first) = bytes.first() else {
        return Err(IdError::Empty);
    };
    if bytes.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if first.is_ascii_alphanumeric() && bytes.iter().all(inner) {
        Ok(())
    } else {
        Err(IdError::Pattern)
    }
}

/// The schema of an identifier: its pattern and length, `description` (the type's doc) and an
/// example.
#[cfg(feature = "openapi")]
fn id_schema(
    description: &str,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "{} An identifier: a letter or digit, then letters, digits, '.', '_' and '-'; \
             1 to {MAX_ID_LEN} characters.",
            description.trim()
        )))
        .pattern(Some("^[A-Za-z0-9][A-Za-z0-9._-]*$"))
        .min_length(Some(1))
        .max_length(Some(MAX_ID_LEN))
        .examples([example])
        .into()
}

macro_rules! identifier {
    ($(#[doc = $doc:literal])* $name:ident, $example:literal) => {
        $(#[doc = $doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `text` against the identifier pattern.
            pub fn new(text: impl Into<String>) -> Result<Self, IdError> {
                let text = text.into();
                check_id(&text)?;
                Ok(Self(text))
            }

            /// The identifier as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }

        /// In OpenAPI an identifier is a string of the identifier pattern.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                id_schema(concat!($($doc),*), $example)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

identifier!(
    /// A legal act, e.g. `RS-131-2024-PCM`.
    ActId,
    "RS-131-2024-PCM"
);
identifier!(
    /// A person, e.g. `walter-astudillo`.
    PersonId,
    "walter-astudillo"
);
identifier!(
    /// An office, e.g. `MINDEF`; also used for issuers such as `PCM`.
    OfficeId,
    "MINDEF"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern() {
        assert!(check_id("RS-131-2024-PCM").is_ok());
        assert!(check_id("a.b_c-1").is_ok());
        assert_eq!(check_id(""), Err(IdError::Empty));
        assert_eq!(check_id("-x"), Err(IdError::Pattern));
        assert_eq!(check_id("José"), Err(IdError::Pattern));
        assert_eq!(check_id("a b"), Err(IdError::Pattern));
        assert!(check_id(&"a".repeat(128)).is_ok());
        assert_eq!(check_id(&"a".repeat(129)), Err(IdError::TooLong));
    }
}
