//! Identifiers, codes and timestamps used on the wire. Each validates on construction and on
//! deserialisation, and has exactly one text form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ProtocolError;
use comity_crypto::encoding::shorten;

fn invalid(what: &'static str, value: &str, reason: &'static str) -> ProtocolError {
    ProtocolError::InvalidValue {
        what,
        value: shorten(value),
        reason,
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An authority's identifier, for example `ar-central-authority`: 2 to 63 characters of
/// lower-case ASCII letters, digits and inner hyphens, starting with a letter (a DNS label, so
/// it can also name the node's TLS certificate).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorityId(String);

impl AuthorityId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The conventional id of a Party's authority with `role`: `ar-central-authority`.
    pub fn conventional(party: &PartyCode, role: Role) -> Self {
        Self(format!(
            "{}-{}",
            party.as_str().to_ascii_lowercase(),
            role.as_str().replace('_', "-")
        ))
    }
}

impl FromStr for AuthorityId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        validate_label("authority id", s, 2, 63)?;
        Ok(Self(s.to_owned()))
    }
}

fn validate_label(
    what: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), ProtocolError> {
    const REASON: &str =
        "expected lower-case letters, digits and inner hyphens, starting with a letter";
    if s.len() < min || s.len() > max {
        return Err(invalid(what, s, "wrong length"));
    }
    let bytes = s.as_bytes();
    let first_ok = bytes.first().is_some_and(u8::is_ascii_lowercase);
    let last_ok = bytes.last().is_some_and(|b| *b != b'-');
    let all_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if first_ok && last_ok && all_ok {
        Ok(())
    } else {
        Err(invalid(what, s, REASON))
    }
}

impl fmt::Display for AuthorityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AuthorityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityId({})", self.0)
    }
}

string_serde!(AuthorityId);

/// The name of a directory's network, for example `comity-pilot`; same form as an authority id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkName(String);

impl FromStr for NetworkName {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        validate_label("network name", s, 2, 63)?;
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkName({})", self.0)
    }
}

string_serde!(NetworkName);

/// A Party: a State as its ISO 3166-1 alpha-2 code (`AR`), or a regional organisation's code of
/// two or three upper-case letters (`EU`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyCode(String);

impl PartyCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PartyCode {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(invalid(
                "party code",
                s,
                "expected two or three upper-case letters",
            ))
        }
    }
}

impl fmt::Display for PartyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyCode({})", self.0)
    }
}

string_serde!(PartyCode);

/// The role of an authority inside its Party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CentralAuthority,
    #[serde(rename = "point_of_contact_24_7")]
    PointOfContact247,
    CompetentAuthority,
    ServiceProvider,
    Oversight,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::CentralAuthority,
        Role::PointOfContact247,
        Role::CompetentAuthority,
        Role::ServiceProvider,
        Role::Oversight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CentralAuthority => "central_authority",
            Role::PointOfContact247 => "point_of_contact_24_7",
            Role::CompetentAuthority => "competent_authority",
            Role::ServiceProvider => "service_provider",
            Role::Oversight => "oversight",
        }
    }
}

impl FromStr for Role {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            invalid(
                "role",
                s,
                "expected central_authority, point_of_contact_24_7, competent_authority, service_provider or oversight",
            )
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an envelope carries, for example `request.mutual_assistance` or `receipt`: dot-separated
/// segments of lower-case letters, digits and underscores, each starting with a letter; at most
/// 64 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvelopeKind(String);

impl EnvelopeKind {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EnvelopeKind {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let segment_ok = |seg: &str| {
            seg.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if s.len() <= 64 && s.split('.').all(segment_ok) {
            Ok(Self(s.to_owned()))
        } else {
            Err(invalid(
                "envelope kind",
                s,
                "expected dot-separated segments of lower-case letters, digits and underscores",
            ))
        }
    }
}

impl fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvelopeKind({})", self.0)
    }
}

string_serde!(EnvelopeKind);

/// An envelope id: a UUID version 7 (RFC 9562) in lower-case hyphenated form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvelopeId(uuid::Uuid);

impl EnvelopeId {
    /// The UUIDv7 for `created` (its millisecond timestamp) and 10 random bytes (of which 74
    /// bits are used).
    pub fn new_v7(created: Timestamp, random: [u8; 10]) -> Self {
        let millis = u64::try_from(created.unix_seconds())
            .unwrap_or(0)
            .saturating_mul(1000);
        Self(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }

    /// The time part, in milliseconds since 1970.
    pub fn unix_millis(&self) -> u64 {
        self.0.get_timestamp().map_or(0, |t| {
            let (seconds, nanos) = t.to_unix();
            seconds
                .saturating_mul(1000)
                .saturating_add(u64::from(nanos / 1_000_000))
        })
    }
}

impl FromStr for EnvelopeId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let u = uuid::Uuid::try_parse(s).map_err(|_| invalid("envelope id", s, "not a uuid"))?;
        if u.get_version_num() != 7 || u.get_variant() != uuid::Variant::RFC4122 {
            return Err(invalid("envelope id", s, "not a uuid version 7"));
        }
        if u.hyphenated().to_string() != s {
            return Err(invalid(
                "envelope id",
                s,
                "expected the lower-case hyphenated form",
            ));
        }
        Ok(Self(u))
    }
}

impl fmt::Display for EnvelopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl fmt::Debug for EnvelopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvelopeId({self})")
    }
}

string_serde!(EnvelopeId);

/// A point in time with one-second precision, written `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC),
/// from 1970-01-01T00:00:00Z to 9999-12-30T22:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// 9999-12-30T22:00:00Z, the last second jiff can represent in every time zone
const MAX_SECONDS: i64 = 253_402_207_200;

impl Timestamp {
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, ProtocolError> {
        if (0..=MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(invalid(
                "timestamp",
                &seconds.to_string(),
                "outside 1970-01-01T00:00:00Z to 9999-12-30T22:00:00Z",
            ))
        }
    }

    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// `self + seconds`, saturating at the ends of the range.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds).clamp(0, MAX_SECONDS))
    }
}

impl FromStr for Timestamp {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "expected YYYY-MM-DDTHH:MM:SSZ (UTC, whole seconds)";
        let shape_ok = s.len() == 20
            && s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(invalid("timestamp", s, FORM));
        }
        let t: jiff::Timestamp = s
            .parse()
            .map_err(|_| invalid("timestamp", s, "not a valid date and time"))?;
        let parsed = Self::from_unix_seconds(t.as_second())?;
        // refuses leap seconds and anything else that jiff would normalise
        if parsed.to_string() != s {
            return Err(invalid("timestamp", s, "not a valid date and time"));
        }
        Ok(parsed)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_second(self.0) {
            Ok(t) => write!(f, "{}", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

string_serde!(Timestamp);

/// A URL at which an authority is reached: `https://` (or `http://`, for loopback
/// demonstrations) followed by at least one character, printable ASCII only, at most 2048
/// characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint(String);

impl Endpoint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Endpoint {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        match rest {
            Some(rest)
                if !rest.is_empty()
                    && s.len() <= 2048
                    && s.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(invalid(
                "endpoint",
                s,
                "expected an https:// or http:// url of printable ascii",
            )),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.0)
    }
}

string_serde!(Endpoint);

/// An authority's human-readable name: 1 to 200 characters, no control characters, no
/// leading or trailing white space.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorityName(String);

impl AuthorityName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AuthorityName {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.chars().count();
        if n == 0 || n > 200 {
            return Err(invalid("authority name", s, "expected 1 to 200 characters"));
        }
        if s.chars().any(char::is_control) || s.trim() != s {
            return Err(invalid(
                "authority name",
                s,
                "control characters and leading or trailing spaces are not allowed",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for AuthorityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AuthorityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityName({:?})", self.0)
    }
}

string_serde!(AuthorityName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_ids() {
        for ok in ["ar-central-authority", "es", "x1", "a-b-c"] {
            assert_eq!(ok.parse::<AuthorityId>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "a",
            "A-b",
            "1ab",
            "ab-",
            "a_b",
            "a b",
            "é-x",
            &"a".repeat(64),
        ] {
            assert!(bad.parse::<AuthorityId>().is_err(), "{bad}");
        }
        let id = AuthorityId::conventional(&"AR".parse().unwrap(), Role::PointOfContact247);
        assert_eq!(id.as_str(), "ar-point-of-contact-24-7");
        id.as_str().parse::<AuthorityId>().unwrap();
    }

    #[test]
    fn timestamps_have_one_form() {
        let t: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(t.unix_seconds(), 1_772_366_400);
        assert_eq!(t.to_string(), "2026-03-01T12:00:00Z");
        for bad in [
            "2026-03-01T12:00:00+00:00",
            "2026-03-01T12:00:00.5Z",
            "2026-03-01 12:00:00Z",
            "2026-02-30T12:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T23:59:60Z",
            "1969-12-31T23:59:59Z",
            "2026-03-01t12:00:00z",
            "",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
        assert!(Timestamp::from_unix_seconds(-1).is_err());
        assert_eq!(
            Timestamp::from_unix_seconds(MAX_SECONDS)
                .unwrap()
                .to_string(),
            "9999-12-30T22:00:00Z"
        );
    }

    #[test]
    fn envelope_ids_are_v7_lower_case() {
        let t: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let id = EnvelopeId::new_v7(t, [0xab; 10]);
        let text = id.to_string();
        assert_eq!(text.parse::<EnvelopeId>().unwrap(), id);
        assert_eq!(id.unix_millis(), 1_772_366_400_000);
        assert!(text.to_uppercase().parse::<EnvelopeId>().is_err());
        assert!(text.replace('-', "").parse::<EnvelopeId>().is_err());
        assert!(
            "00000000-0000-4000-8000-000000000000"
                .parse::<EnvelopeId>()
                .is_err()
        );
    }

    #[test]
    fn other_codes() {
        assert!("AR".parse::<PartyCode>().is_ok());
        assert!("EU".parse::<PartyCode>().is_ok());
        assert!("ar".parse::<PartyCode>().is_err());
        assert!("ARGE".parse::<PartyCode>().is_err());
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!("request.mutual_assistance".parse::<EnvelopeKind>().is_ok());
        assert!("Request".parse::<EnvelopeKind>().is_err());
        assert!("request..x".parse::<EnvelopeKind>().is_err());
        assert!("https://ar.example/node".parse::<Endpoint>().is_ok());
        assert!("ftp://x".parse::<Endpoint>().is_err());
        assert!("https://".parse::<Endpoint>().is_err());
        assert!("https://a b".parse::<Endpoint>().is_err());
        assert!("Autoridad Central".parse::<AuthorityName>().is_ok());
        assert!(" x".parse::<AuthorityName>().is_err());
        assert!("a\nb".parse::<AuthorityName>().is_err());
    }
}
