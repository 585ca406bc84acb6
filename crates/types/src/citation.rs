//! Citations of treaty provisions: `INSTRUMENT ARTICLE(PARAGRAPH)(ITEM)`.

use crate::{Code, Instrument};
use std::fmt;

/// The most parenthesised groups a citation may carry, e.g. `UNCC 11(1)(a)(ii)` has three.
const MAX_PARTS: usize = 4;
/// The longest lower-case group, e.g. `viii`.
const MAX_ALPHA: usize = 6;

/// One provision of one instrument, e.g. `UNCC 40(21)(b)` or `BUD 29(4)` or `UNCC 65`.
///
/// Stored as a small `Copy` value so that compiled rules and decisions carry citations without
/// allocating; [`fmt::Display`] gives back the canonical text, which is how citations compare in
/// the decision format (exact strings).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Citation {
    instrument: Instrument,
    article: u16,
    parts: [Part; MAX_PARTS],
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
enum Part {
    #[default]
    None,
    Number(u16),
    Alpha([u8; MAX_ALPHA], u8),
}

/// Why a text is not a citation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitationError {
    #[error(
        "`{0}` is not a citation: expected `INSTRUMENT ARTICLE(PARAGRAPH)(ITEM)`, e.g. `UNCC 42(4)` or `BUD 29(5)(a)`"
    )]
    Malformed(String),
    #[error("`{0}` names an unknown instrument (expected UNCC, BUD, AP1 or SAP2)")]
    UnknownInstrument(String),
}

impl Citation {
    /// Parses the canonical form. Numbers have no leading zeros; groups are digits or lower-case
    /// letters; at most four groups.
    pub fn parse(text: &str) -> Result<Self, CitationError> {
        let malformed = || CitationError::Malformed(text.to_owned());
        let (code, rest) = text.split_once(' ').ok_or_else(malformed)?;
        let instrument = Instrument::from_code(code)
            .ok_or_else(|| CitationError::UnknownInstrument(text.to_owned()))?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (article_text, mut groups) = rest.split_at(digits_end);
        let article = parse_number(article_text).ok_or_else(malformed)?;
        let mut parts = [Part::None; MAX_PARTS];
        let mut count = 0;
        while !groups.is_empty() {
            let inner_and_rest = groups.strip_prefix('(').ok_or_else(malformed)?;
            let (inner, rest) = inner_and_rest.split_once(')').ok_or_else(malformed)?;
            let part = if inner.bytes().all(|b| b.is_ascii_digit()) {
                Part::Number(parse_number(inner).ok_or_else(malformed)?)
            } else if !inner.is_empty()
                && inner.len() <= MAX_ALPHA
                && inner.bytes().all(|b| b.is_ascii_lowercase())
            {
                let mut bytes = [0u8; MAX_ALPHA];
                for (slot, b) in bytes.iter_mut().zip(inner.bytes()) {
                    *slot = b;
                }
                Part::Alpha(bytes, inner.len() as u8)
            } else {
                return Err(malformed());
            };
            let slot = parts.get_mut(count).ok_or_else(malformed)?;
            *slot = part;
            count += 1;
            groups = rest;
        }
        Ok(Self {
            instrument,
            article,
            parts,
        })
    }

    /// The instrument cited.
    pub fn instrument(&self) -> Instrument {
        self.instrument
    }

    /// The article number.
    pub fn article(&self) -> u16 {
        self.article
    }
}

fn parse_number(text: &str) -> Option<u16> {
    if text.is_empty() || text.starts_with('0') || text.len() > 4 {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.instrument.code(), self.article)?;
        for part in &self.parts {
            match part {
                Part::None => break,
                Part::Number(n) => write!(f, "({n})")?,
                Part::Alpha(bytes, len) => {
                    f.write_str("(")?;
                    for &b in bytes.iter().take(usize::from(*len)) {
                        write!(f, "{}", char::from(b))?;
                    }
                    f.write_str(")")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Citation({self})")
    }
}

impl serde::Serialize for Citation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Citation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Citation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a citation such as `UNCC 42(4)`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Citation, E> {
                Citation::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl std::str::FromStr for Citation {
    type Err = CitationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_forms_round_trip() {
        for text in [
            "UNCC 65",
            "UNCC 2(h)",
            "UNCC 40(15)(c)",
            "BUD 29(5)(a)",
            "AP1 8(2)",
            "SAP2 7(9)(a)",
            "UNCC 11(1)(a)(ii)",
            "UNCC 40(21)(b)",
        ] {
            assert_eq!(Citation::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn malformed_citations_are_refused() {
        for text in [
            "",
            "UNCC",
            "UNCC ",
            "UNCC42",
            "uncc 42",
            "UNCC 042",
            "UNCC 42()",
            "UNCC 42(4",
            "UNCC 42(04)",
            "UNCC 42(A)",
            "UNCC 42 (4)",
            "UNCC 42(4)(a)(b)(c)(d)",
            "UNCC 42(abcdefg)",
            "UNCC 42(4)x",
            "UNCC 99999",
        ] {
            assert!(Citation::parse(text).is_err(), "{text:?} should be refused");
        }
        assert!(matches!(
            Citation::parse("ECHR 8"),
            Err(CitationError::UnknownInstrument(_))
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(text in "\\PC{0,24}") {
            if let Ok(c) = Citation::parse(&text) {
                prop_assert_eq!(c.to_string(), text);
            }
        }

        #[test]
        fn generated_citations_round_trip(
            inst in prop::sample::select(vec!["UNCC", "BUD", "AP1", "SAP2"]),
            article in 1u16..999,
            para in prop::option::of(1u16..99),
            item in prop::option::of("[a-z]{1,4}"),
        ) {
            let mut text = format!("{inst} {article}");
            if let Some(p) = para { text.push_str(&format!("({p})")); }
            if let Some(i) = item { text.push_str(&format!("({i})")); }
            prop_assert_eq!(Citation::parse(&text).unwrap().to_string(), text);
        }
    }
}
