//! Where `comity log verify` and `comity report` read a published log from: a directory in the
//! C2SP tlog-tiles layout ([`DirSource`]) or an HTTP(S) URL prefix serving it ([`HttpSource`]),
//! both behind comity_tlog's [`TileSource`].
//!
//! Both serve only the names the auditor asks for — `checkpoint` and tile and entry bundle
//! paths in their one canonical C2SP form ([`check_path`]) — so no `..`, absolute path, query or
//! other file can be reached through them, and both refuse a resource larger than its kind can
//! be ([`max_len`]). A failure says which resource and whether it is missing ([`FetchError`]).
//!
//! The auditor is synchronous and reads from several threads at once; [`HttpSource`] owns a
//! small tokio runtime and each read blocks its calling thread on it (`Runtime::block_on` may be
//! called from many threads together), so that one connection pool serves every worker.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use comity_tlog::tile::{MAX_ENTRY_LEN, TileKind, TilePath};
use comity_tlog::{SourceError, TileSource};

/// The largest checkpoint accepted: a note of 100 signature lines and generous extension lines.
pub const MAX_CHECKPOINT_LEN: u64 = 1 << 20;

/// How long an HTTP connection may take to open, and a whole request to finish.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a resource could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchKind {
    /// The resource does not exist (no such file, HTTP 404 or 410): a fault of the log, unless
    /// it is the checkpoint.
    Missing,
    /// The resource is larger than its kind can be: a fault of the log.
    TooLarge,
    /// The name is not one the auditor may ask for (never happens with comity_tlog's auditor).
    BadPath,
    /// The source could not be read (I/O error, network, an HTTP status other than 404).
    Unreadable,
}

/// A failed read: which resource, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub kind: FetchKind,
    pub message: String,
}

impl FetchError {
    fn new(kind: FetchKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// As comity_tlog's reader error.
    pub fn to_source_error(&self) -> SourceError {
        if self.kind == FetchKind::Missing {
            SourceError::not_found(self.message.clone())
        } else {
            SourceError::other(self.message.clone())
        }
    }
}

/// Checks that `path` is a name the auditor reads: `checkpoint`, or a tile or entry bundle
/// path in canonical form. Gives the tile path, if it is one.
pub fn check_path(path: &str) -> Result<Option<TilePath>, FetchError> {
    if path == "checkpoint" {
        return Ok(None);
    }
    let parsed = TilePath::parse(path)
        .map_err(|e| FetchError::new(FetchKind::BadPath, format!("refused to read: {e}")))?;
    // The canonical grammar has only `tile`, `entries`, digits, `x`, `.p`: no `..`, no root.
    // Checked again here because reading outside the log must be impossible, not unlikely.
    if !Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(FetchError::new(
            FetchKind::BadPath,
            format!("refused to read `{path}`: not a plain relative path"),
        ));
    }
    Ok(Some(parsed))
}

/// The most bytes a resource may have: a checkpoint [`MAX_CHECKPOINT_LEN`], a hash tile 32 per
/// hash, an entry bundle its entries at their longest with their length prefixes.
pub fn max_len(tile: Option<&TilePath>) -> u64 {
    match tile {
        None => MAX_CHECKPOINT_LEN,
        Some(t) => match t.kind {
            TileKind::Hashes(_) => 32 * u64::from(t.width),
            TileKind::Entries => (2 + MAX_ENTRY_LEN as u64) * u64::from(t.width),
        },
    }
}

/// A published log: a directory or a URL prefix.
#[derive(Debug)]
pub enum LogSource {
    Dir(DirSource),
    Http(HttpSource),
}

impl LogSource {
    /// `http://…` or `https://…` is a URL prefix; anything else names a directory. Another
    /// scheme (`ftp://`, `file://`) is refused rather than taken for a directory name.
    pub fn open(location: &str) -> Result<Self, FetchError> {
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return HttpSource::new(location).map(Self::Http);
        }
        if let Some((scheme, _)) = location.split_once("://")
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+')
        {
            return Err(FetchError::new(
                FetchKind::Unreadable,
                format!("`{location}`: only http:// and https:// URLs, or a directory, are read"),
            ));
        }
        DirSource::new(location).map(Self::Dir)
    }

    /// Reads one resource by its path relative to the log.
    pub fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        match self {
            Self::Dir(d) => d.fetch(path),
            Self::Http(h) => h.fetch(path),
        }
    }

    /// How many threads the auditor should read with: a directory is read at the speed of the
    /// disk, a URL at the speed of round trips, so more requests are kept in flight.
    pub fn threads(&self) -> usize {
        match self {
            Self::Dir(_) => 0,
            Self::Http(_) => 8,
        }
    }

    /// Where the log is, for messages.
    pub fn location(&self) -> String {
        match self {
            Self::Dir(d) => d.root.display().to_string(),
            Self::Http(h) => h.base.to_string(),
        }
    }
}

impl TileSource for LogSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.fetch(path).map_err(|e| e.to_source_error())
    }
}

/// A log in a directory, in the C2SP tlog-tiles layout: `DIR/checkpoint`, `DIR/tile/...`.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, FetchError> {
        let root = root.into();
        if !root.is_dir() {
            return Err(FetchError::new(
                FetchKind::Unreadable,
                format!("`{}` is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    pub fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        let tile = check_path(path)?;
        let limit = max_len(tile.as_ref());
        let file = self.root.join(path);
        let fail = |e: std::io::Error| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                FetchKind::Missing
            } else {
                FetchKind::Unreadable
            };
            FetchError::new(kind, format!("`{}`: {e}", file.display()))
        };
        let f = std::fs::File::open(&file).map_err(fail)?;
        let mut bytes = Vec::new();
        f.take(limit + 1).read_to_end(&mut bytes).map_err(fail)?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::new(
                FetchKind::TooLarge,
                format!(
                    "`{}` is larger than {limit} bytes, the most `{path}` can hold",
                    file.display()
                ),
            ));
        }
        Ok(bytes)
    }
}

/// A log served over HTTP(S) under a URL prefix: `PREFIX/checkpoint`, `PREFIX/tile/...`.
#[derive(Debug)]
pub struct HttpSource {
    base: reqwest::Url,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl HttpSource {
    /// A source for the log under `prefix` (a trailing `/` is implied). Server certificates are
    /// checked against the platform's roots, with the workspace's one crypto provider (ring).
    pub fn new(prefix: &str) -> Result<Self, FetchError> {
        let bad = |why: String| FetchError::new(FetchKind::Unreadable, why);
        let mut base = reqwest::Url::parse(prefix).map_err(|e| bad(format!("`{prefix}`: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad(format!("`{prefix}` is not an http(s) URL")));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad(format!(
                "`{prefix}`: a log prefix has no query or fragment"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        comity_crypto::tls::install_default_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("comity/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(format!("HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("comity-log-http")
            .enable_all()
            .build()
            .map_err(|e| bad(format!("starting the HTTP runtime: {e}")))?;
        Ok(Self {
            base,
            client,
            runtime,
        })
    }

    pub fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        let tile = check_path(path)?;
        let url = self.base.join(path).map_err(|e| {
            FetchError::new(
                FetchKind::BadPath,
                format!("`{path}` under the prefix: {e}"),
            )
        })?;
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking inside a runtime would panic; the CLI never does it.
            return Err(FetchError::new(
                FetchKind::Unreadable,
                "the HTTP source was read from inside an async runtime",
            ));
        }
        self.runtime
            .block_on(get(&self.client, url, path, max_len(tile.as_ref())))
    }
}

/// GETs `url` (the resource `path`), refusing more than `limit` bytes.
async fn get(
    client: &reqwest::Client,
    url: reqwest::Url,
    path: &str,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    let unreadable = |e: reqwest::Error| {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "failed"
        };
        FetchError::new(
            FetchKind::Unreadable,
            format!("GET {url}: {what}: {}", describe(&e)),
        )
    };
    let mut response = client.get(url.clone()).send().await.map_err(unreadable)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Err(FetchError::new(
            FetchKind::Missing,
            format!("`{path}` not found (HTTP {status} from {url})"),
        ));
    }
    if !status.is_success() {
        return Err(FetchError::new(
            FetchKind::Unreadable,
            format!("`{path}`: HTTP {status} from {url}"),
        ));
    }
    let too_large = || {
        FetchError::new(
            FetchKind::TooLarge,
            format!("`{path}` from {url} is larger than {limit} bytes, the most it can hold"),
        )
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreadable)? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// An error with its causes (reqwest's top-level message alone says little).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use comity_tlog::tile::TILE_WIDTH;

    #[test]
    fn only_the_names_of_a_log_are_read() {
        for ok in [
            "checkpoint",
            "tile/0/000",
            "tile/entries/x001/234.p/5",
            "tile/3/x001/x002/003",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../checkpoint",
            "/etc/passwd",
            "tile/0/../../../etc/passwd",
            "tile/0/000/..",
            "tile/entries/./000",
            "tile/0/0000",
            "tile//000",
            "checkpoint/",
            "Checkpoint",
            "tile/0/000?x=1",
            "",
        ] {
            assert_eq!(
                check_path(bad).unwrap_err().kind,
                FetchKind::BadPath,
                "{bad}"
            );
        }
    }

    #[test]
    fn limits_follow_the_kind() {
        assert_eq!(max_len(None), MAX_CHECKPOINT_LEN);
        assert_eq!(max_len(TilePath::hashes(0, 0, 256).as_ref()), 8192);
        assert_eq!(max_len(TilePath::hashes(2, 7, 3).as_ref()), 96);
        assert_eq!(
            max_len(TilePath::entries(0, TILE_WIDTH).as_ref()),
            256 * 65537
        );
    }

    #[test]
    fn a_directory_source_refuses_what_is_outside_or_too_large() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("secret"), b"x").unwrap();
        let log = dir.join("log");
        std::fs::create_dir_all(log.join("tile/0/000.p")).unwrap();
        std::fs::write(log.join("tile/0/000.p/1"), [0u8; 33]).unwrap();
        let source = DirSource::new(&log).unwrap();
        assert_eq!(
            source.fetch("../secret").unwrap_err().kind,
            FetchKind::BadPath
        );
        assert_eq!(
            source.fetch("tile/0/000.p/1").unwrap_err().kind,
            FetchKind::TooLarge
        );
        assert_eq!(
            source.fetch("checkpoint").unwrap_err().kind,
            FetchKind::Missing
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(LogSource::open("ftp://example.com/log").is_err());
        assert!(LogSource::open("file:///tmp").is_err());
        assert!(matches!(
            LogSource::open("https://example.com/log").unwrap(),
            LogSource::Http(h) if h.base.as_str() == "https://example.com/log/"
        ));
    }
}
