//! What the node, directory, keys and envelope commands share: the node directory layout,
//! secret files written with mode 0600, the clock, randomness, and exit codes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_crypto::{EncryptionSecret, KeyId, SigningSecret};
use comity_protocol::{AuthorityEntry, Directory, Timestamp, VerifiedDirectory};

use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CmdError {
    pub exit: u8,
    pub message: String,
}

impl CmdError {
    /// Input that is malformed, missing or refers to something undefined (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    /// A check that failed, or an operation the state does not allow (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_FAILED,
            message: message.into(),
        }
    }
}

pub type CmdResult = Result<(), CmdError>;

/// Prints the error, if any, and returns the exit code.
pub fn finish(result: CmdResult) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.exit)
        }
    }
}

/// Writes to standard output (a closed pipe is not an error worth a panic).
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// The current time: `--now` when given (for tests and reproducible examples), else the clock.
pub fn now(flag: Option<&str>) -> Result<Timestamp, CmdError> {
    match flag {
        Some(text) => text
            .parse()
            .map_err(|e| CmdError::bad_input(format!("--now: {e}"))),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| CmdError::failed("the system clock is before 1970"))?
                .as_secs();
            let secs = i64::try_from(secs)
                .map_err(|_| CmdError::failed("the system clock is out of range"))?;
            Timestamp::from_unix_seconds(secs)
                .map_err(|e| CmdError::failed(format!("the system clock: {e}")))
        }
    }
}

/// `N` bytes from the operating system's generator.
pub fn random<const N: usize>() -> Result<[u8; N], CmdError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| CmdError::failed(format!("the operating system gave no randomness: {e}")))?;
    Ok(bytes)
}

pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, CmdError> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| {
            CmdError::bad_input(format!("cannot read {what} from standard input: {e}"))
        })?;
        return Ok(buf);
    }
    std::fs::read(path)
        .map_err(|e| CmdError::bad_input(format!("cannot read {what} `{}`: {e}", path.display())))
}

/// Replaces `path` atomically (write beside it, then rename).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> CmdResult {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CmdError::failed(format!("cannot write `{}`: {e}", path.display())))
}

/// Creates a file that only its owner can read (mode 0600), refusing to overwrite one.
pub fn write_secret(path: &Path, text: &str) -> CmdResult {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .map_err(|e| CmdError::failed(format!("cannot write secret `{}`: {e}", path.display())))
}

/// Creates a directory that only its owner can enter (mode 0700).
pub fn create_private_dir(path: &Path) -> CmdResult {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| CmdError::failed(format!("cannot create `{}`: {e}", path.display())))
}

/// A node directory, as `comity init` lays it out:
///
/// ```text
/// DIR/authority.json                 the authority's public directory entry
/// DIR/keys/signing-<key id>.key      Ed25519 secret keys (mode 0600), old ones kept
/// DIR/keys/encryption-<key id>.key   X25519 secret keys (mode 0600), old ones kept
/// DIR/keys/log.key                   the transparency log's signed-note key (mode 0600)
/// DIR/log.vkey                       its verifier key, as the directory's `log_vkey` lists it
/// DIR/keys/witness.key               the C2SP cosignature/v1 key that cosigns peers' logs (0600)
/// DIR/witness.vkey                   its verifier key, as the directory's `witness_vkey` lists it
/// DIR/tls/cert.pem, DIR/tls/key.pem  the node's TLS certificate and key (key mode 0600)
/// ```
#[derive(Debug, Clone)]
pub struct NodeDir {
    pub root: PathBuf,
}

impl NodeDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn entry_path(&self) -> PathBuf {
        self.root.join("authority.json")
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    pub fn tls_dir(&self) -> PathBuf {
        self.root.join("tls")
    }

    pub fn signing_path(&self, kid: &KeyId) -> PathBuf {
        self.keys_dir().join(format!("signing-{kid}.key"))
    }

    pub fn encryption_path(&self, kid: &KeyId) -> PathBuf {
        self.keys_dir().join(format!("encryption-{kid}.key"))
    }

    /// The C2SP signed-note secret key (`PRIVATE+KEY+<origin>+...`) that signs the log's
    /// checkpoints.
    pub fn log_key_path(&self) -> PathBuf {
        self.keys_dir().join("log.key")
    }

    /// The log's verifier key (`<origin>+<key id>+<key>`), public.
    pub fn log_vkey_path(&self) -> PathBuf {
        self.root.join("log.vkey")
    }

    /// The log key, if the node has one (node directories made before the log have none).
    pub fn log_key(&self) -> Result<Option<comity_tlog::SignerKey>, CmdError> {
        let path = self.log_key_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => zeroize::Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CmdError::bad_input(format!(
                    "cannot read the log key `{}`: {e}",
                    path.display()
                )));
            }
        };
        comity_tlog::SignerKey::parse(text.trim_end())
            .map(Some)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
    }

    /// The C2SP cosignature/v1 secret key (`PRIVATE+KEY+<network>/<id>/witness+...`) with
    /// which the node cosigns other authorities' checkpoints.
    pub fn witness_key_path(&self) -> PathBuf {
        self.keys_dir().join("witness.key")
    }

    /// The witness's verifier key, public.
    pub fn witness_vkey_path(&self) -> PathBuf {
        self.root.join("witness.vkey")
    }

    /// The witness key, if the node has one (node directories made before witnessing have
    /// none, and witness nothing).
    pub fn witness_key(&self) -> Result<Option<comity_tlog::SignerKey>, CmdError> {
        let path = self.witness_key_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => zeroize::Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CmdError::bad_input(format!(
                    "cannot read the witness key `{}`: {e}",
                    path.display()
                )));
            }
        };
        comity_tlog::SignerKey::parse(text.trim_end())
            .map(Some)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
    }

    pub fn entry(&self) -> Result<AuthorityEntry, CmdError> {
        let path = self.entry_path();
        let bytes = read_file(&path, "authority entry").map_err(|e| {
            CmdError::bad_input(format!(
                "{} (is `{}` a node directory made by `comity init`?)",
                e.message,
                self.root.display()
            ))
        })?;
        AuthorityEntry::from_json(&bytes)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
    }

    pub fn save_entry(&self, entry: &AuthorityEntry) -> CmdResult {
        let mut text = serde_json::to_string_pretty(entry)
            .map_err(|e| CmdError::failed(format!("cannot encode the authority entry: {e}")))?;
        text.push('\n');
        write_atomically(&self.entry_path(), text.as_bytes())
    }

    pub fn signing_secret(&self, kid: &KeyId) -> Result<SigningSecret, CmdError> {
        let path = self.signing_path(kid);
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            CmdError::bad_input(format!(
                "no secret for signing key `{kid}` at `{}`: {e}",
                path.display()
            ))
        })?);
        SigningSecret::from_file_text(&text)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
    }

    pub fn encryption_secret(&self, kid: &KeyId) -> Result<EncryptionSecret, CmdError> {
        let path = self.encryption_path(kid);
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            CmdError::bad_input(format!(
                "no secret for encryption key `{kid}` at `{}`: {e}",
                path.display()
            ))
        })?);
        EncryptionSecret::from_file_text(&text)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
    }

    /// The secret of the entry's active signing key.
    pub fn active_signing(&self, entry: &AuthorityEntry) -> Result<SigningSecret, CmdError> {
        let key = entry.active_signing_key().ok_or_else(|| {
            CmdError::failed(format!(
                "authority `{}` has no active signing key",
                entry.id
            ))
        })?;
        self.signing_secret(&key.kid)
    }
}

/// Reads a directory file (structure only).
pub fn read_directory(path: &Path) -> Result<Directory, CmdError> {
    let bytes = read_file(path, "directory")?;
    Directory::from_bytes(&bytes)
        .map_err(|e| CmdError::bad_input(format!("directory `{}`: {e}", path.display())))
}

/// Reads a directory file and checks its signatures: the directory the envelope commands trust.
pub fn read_verified_directory(path: &Path) -> Result<VerifiedDirectory, CmdError> {
    read_directory(path)?.verify().map_err(|e| {
        CmdError::bad_input(format!("directory `{}` is not valid: {e}", path.display()))
    })
}

pub fn write_directory(path: &Path, directory: &Directory) -> CmdResult {
    let bytes = directory
        .to_bytes()
        .map_err(|e| CmdError::failed(format!("cannot encode the directory: {e}")))?;
    write_atomically(path, &bytes)
}

/// The version to edit: a new version after a completely signed one, else the draft itself
/// (whose signatures any edit drops).
pub fn editable(mut directory: Directory, now: Timestamp) -> Result<Directory, CmdError> {
    if directory.signatures.is_empty() {
        // A version still being edited is issued when it is last edited, so that it may list
        // keys made since it was started.
        directory.issued = directory.issued.max(now);
        return Ok(directory);
    }
    match directory.clone().verify() {
        Ok(_) => directory
            .next_version(now)
            .map_err(|e| CmdError::bad_input(e.to_string())),
        Err(_) => {
            eprintln!(
                "note: version {} is not completely signed; editing it in place drops its signatures",
                directory.version
            );
            directory.signatures.clear();
            directory.issued = directory.issued.max(now);
            Ok(directory)
        }
    }
}
