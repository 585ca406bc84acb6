//! C2SP tlog-checkpoint: the signed statement of a log's size and root.
//!
//! The text is the origin line, the tree size in canonical decimal (no sign, no leading zero),
//! the root as standard padded base64 of 32 bytes, then any number of non-empty extension
//! lines, each line ending in a newline.

use std::fmt;

use crate::Error;
use crate::hash::Hash;
use crate::note::{self, SignerKey, VerifiedNote, VerifierKey};

/// A checkpoint's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// Whether `line` can be a non-empty line of note text.
fn is_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(|c| c < ' ')
}

impl Checkpoint {
    /// A checkpoint of `origin`, which must be a non-empty line without control characters.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, Error> {
        if !is_line(origin) {
            return Err(Error::MalformedCheckpoint(format!(
                "origin `{}` is empty or has a control character",
                origin.escape_debug()
            )));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (non-empty, no control characters).
    pub fn with_extension(mut self, line: &str) -> Result<Self, Error> {
        if !is_line(line) {
            return Err(Error::MalformedCheckpoint(format!(
                "extension line `{}` is empty or has a control character",
                line.escape_debug()
            )));
        }
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// Parses checkpoint text (the note text, with its final newline).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: String| Error::MalformedCheckpoint(why);
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text does not end in a newline".into()))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad("fewer than three lines".into()));
        };
        if !is_line(origin) {
            return Err(bad(
                "the origin line is empty or has a control character".into()
            ));
        }
        let size = parse_size(size)
            .ok_or_else(|| bad(format!("tree size `{size}` is not a canonical decimal u64")))?;
        let root = Hash::from_base64(root)
            .ok_or_else(|| bad(format!("root `{root}` is not standard base64 of 32 bytes")))?;
        let mut checkpoint = Self::new(origin, size, root)?;
        for line in lines {
            checkpoint = checkpoint
                .with_extension(line)
                .map_err(|_| bad("an extension line is empty or has a control character".into()))?;
        }
        Ok(checkpoint)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub const fn size(&self) -> u64 {
        self.size
    }

    pub const fn root(&self) -> &Hash {
        &self.root
    }

    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint text, ending in a newline: what is signed.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, self.root);
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Signs the checkpoint with the log's Ed25519 key: the signed note text to publish.
    pub fn sign(&self, key: &SignerKey) -> Result<String, Error> {
        note::sign(&self.to_text(), &[key])
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Canonical decimal: digits only, no leading zero except `0` itself, at most `u64::MAX`.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// The signed checkpoint of log `origin` at `size` and `root`, signed by `key`.
pub fn sign_checkpoint(
    origin: &str,
    size: u64,
    root: Hash,
    key: &SignerKey,
) -> Result<String, Error> {
    Checkpoint::new(origin, size, root)?.sign(key)
}

/// Verifies a signed checkpoint with the log's keys and parses its text.
pub fn open_checkpoint(
    note: &[u8],
    known: &[VerifierKey],
) -> Result<(Checkpoint, VerifiedNote), Error> {
    let verified = note::open(note, known)?;
    Ok((Checkpoint::parse(verified.text())?, verified))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::EMPTY_ROOT;

    #[test]
    fn round_trip() {
        let c = Checkpoint::new("example.com/log", 0, EMPTY_ROOT)
            .unwrap()
            .with_extension("ext one")
            .unwrap();
        assert_eq!(
            c.to_text(),
            "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n"
        );
        assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1_0",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn refused() {
        assert!(Checkpoint::new("", 1, EMPTY_ROOT).is_err());
        assert!(Checkpoint::new("a\nb", 1, EMPTY_ROOT).is_err());
        assert!(
            Checkpoint::parse("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n").is_err()
        );
        assert!(Checkpoint::parse("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").is_err());
        assert!(Checkpoint::parse("o\n1\n").is_err());
    }
}
