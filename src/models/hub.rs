//! A client for the Hugging Face hub's file-resolution protocol, writing the hub's own cache layout
//! (`$HF_HUB_CACHE` or `$HF_HOME/hub`: `models--OWNER--NAME/{blobs,snapshots,refs}`), so files fetched here
//! are shared with the Python tools and a copied hub cache can be imported.
//!
//! Why not the `hf-hub` crate: it neither resumes a partial download nor verifies the file against the hub's
//! checksum, and it reports 401/404 without saying what to do; the protocol it would save us is three HTTP
//! headers. Downloads here resume from `<blob>.incomplete` with a `Range` request (within a run after a cut
//! connection, and across runs), and every file is verified: LFS files against the SHA-256 in their ETag,
//! plain git files against their git blob SHA-1, and all against the announced size.
//!
//! Environment: `HF_ENDPOINT` (default `https://huggingface.co`), `HF_TOKEN` (else `$HF_HOME/token`),
//! `HF_HOME` / `HF_HUB_CACHE`, and `HF_HUB_OFFLINE=1` (no connection at all; only the cache is used).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

/// Errors fetching from the hub. Every variant says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The hub said 401: the repository needs a token.
    #[error("{url}: authentication required (HTTP 401). Set HF_TOKEN to a Hugging Face access token with read access (https://huggingface.co/settings/tokens), or import the file with `ws-book models import`")]
    Unauthorized {
        /// The URL asked for.
        url: String,
    },
    /// The hub said 403: gated or forbidden.
    #[error("{url}: access forbidden (HTTP 403). The repository may be gated: accept its terms on the hub with the account of HF_TOKEN")]
    Forbidden {
        /// The URL asked for.
        url: String,
    },
    /// The hub said 404.
    #[error("{url}: not found (HTTP 404{detail}). Check the repository and file name (`ws-book models fetch --help` lists the presets)")]
    NotFound {
        /// The URL asked for.
        url: String,
        /// The hub's error code, if it gave one (`RepoNotFound`, `EntryNotFound`).
        detail: String,
    },
    /// Another HTTP status.
    #[error("{url}: the hub answered HTTP {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The status code.
        status: u16,
    },
    /// No connection could be made or it kept failing.
    #[error("{url}: cannot reach the hub ({msg}). Check the network or HF_ENDPOINT, or work offline (HF_HUB_OFFLINE=1) with imported models")]
    Network {
        /// The URL asked for.
        url: String,
        /// What failed.
        msg: String,
    },
    /// The hub did not say which file version it serves.
    #[error("{url}: the hub's answer lacks {what}; is HF_ENDPOINT a Hugging Face hub?")]
    Protocol {
        /// The URL asked for.
        url: String,
        /// What is missing.
        what: String,
    },
    /// The downloaded bytes do not match the hub's checksum or size.
    #[error("{file}: checksum mismatch (expected {expected}, got {actual}); the partial download was deleted, run the command again")]
    Checksum {
        /// The file.
        file: String,
        /// Expected digest or size.
        expected: String,
        /// What was downloaded.
        actual: String,
    },
    /// Offline and the file is not in the cache.
    #[error("offline (HF_HUB_OFFLINE or --offline) and {repo}:{file} is not in the hub cache {cache}. Fetch it on a connected machine with `ws-book models fetch {repo}:{file}` and copy it here with `ws-book models import`")]
    Offline {
        /// Repository.
        repo: String,
        /// File.
        file: String,
        /// The cache directory looked in.
        cache: String,
    },
    /// A local file error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, HubError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reports download progress (an indicatif bar on a terminal, log lines otherwise).
pub trait FetchProgress {
    /// A download starts: file name, total bytes, bytes already present (resume).
    fn start(&mut self, file: &str, total: u64, resumed_from: u64);
    /// `n` more bytes arrived.
    fn advance(&mut self, n: u64);
    /// The file is complete and verified.
    fn finish(&mut self, file: &str);
}

/// No progress output.
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn start(&mut self, _: &str, _: u64, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self, _: &str) {}
}

/// Hub settings, normally from the environment.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Base URL (no trailing slash).
    pub endpoint: String,
    /// Access token.
    pub token: Option<String>,
    /// The hub cache directory (`…/hub`).
    pub cache: PathBuf,
    /// Never connect.
    pub offline: bool,
    /// Attempts per file (a cut connection resumes where it stopped).
    pub attempts: u32,
}

fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

impl HubConfig {
    /// From `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".cache"))
                .join("huggingface")
        });
        let token = var("HF_TOKEN").or_else(|| {
            fs::read_to_string(hf_home.join("token"))
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        Self {
            endpoint: var("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_string(),
            token,
            cache: var("HF_HUB_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("hub")),
            offline: var("HF_HUB_OFFLINE").is_some_and(|v| truthy(&v)),
            attempts: 5,
        }
    }
}

/// The hub client.
pub struct Hub {
    cfg: HubConfig,
    agent: ureq::Agent,
}

/// What the hub says about one file.
#[derive(Debug, Clone)]
struct FileInfo {
    commit: String,
    etag: String,
    size: Option<u64>,
    download_url: String,
}

impl Hub {
    /// A client with these settings.
    pub fn new(cfg: HubConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_recv_body(Some(Duration::from_secs(3600 * 6)))
            .user_agent(concat!("ws-book/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { cfg, agent }
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.cfg
    }

    fn repo_dir(&self, repo: &str) -> PathBuf {
        self.cfg.cache.join(format!("models--{}", repo.replace('/', "--")))
    }

    /// The cached copy of `repo:file` at `revision`, if the cache has it (no connection).
    pub fn cached(&self, repo: &str, file: &str, revision: &str) -> Option<PathBuf> {
        let dir = self.repo_dir(repo);
        let commit = if is_commit(revision) {
            revision.to_string()
        } else {
            fs::read_to_string(dir.join("refs").join(revision))
                .ok()?
                .trim()
                .to_string()
        };
        let p = dir.join("snapshots").join(commit).join(file);
        p.is_file().then_some(p)
    }

    /// Fetches `repo:file` at `revision` (`main` by default) into the hub cache and returns its path there.
    /// A file already in the cache at the hub's current version is not downloaded again. Offline: the cached
    /// copy or [`HubError::Offline`].
    pub fn fetch(&self, repo: &str, file: &str, revision: &str, progress: &mut dyn FetchProgress) -> Result<PathBuf> {
        if self.cfg.offline {
            return self.cached(repo, file, revision).ok_or_else(|| HubError::Offline {
                repo: repo.into(),
                file: file.into(),
                cache: self.cfg.cache.display().to_string(),
            });
        }
        let info = self.head(repo, file, revision)?;
        let dir = self.repo_dir(repo);
        let blob = dir.join("blobs").join(&info.etag);
        if !blob.is_file() {
            self.download(&info, file, &blob, progress)?;
        } else {
            progress.finish(file);
        }
        // snapshot link + ref, as the hub cache lays them out
        let snap = dir.join("snapshots").join(&info.commit).join(file);
        if let Some(parent) = snap.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        if !snap.is_file() {
            let _ = fs::remove_file(&snap);
            let depth = file.matches('/').count();
            let rel: PathBuf = std::iter::repeat_n("..", depth + 2)
                .collect::<PathBuf>()
                .join("blobs")
                .join(&info.etag);
            #[cfg(unix)]
            std::os::unix::fs::symlink(&rel, &snap).map_err(io_err(&snap))?;
            #[cfg(not(unix))]
            fs::copy(&blob, &snap).map_err(io_err(&snap))?;
        }
        if !is_commit(revision) {
            let refs = dir.join("refs");
            fs::create_dir_all(&refs).map_err(io_err(&refs))?;
            fs::write(refs.join(revision), &info.commit).map_err(io_err(&refs))?;
        }
        Ok(snap)
    }

    fn resolve_url(&self, repo: &str, file: &str, revision: &str) -> String {
        format!("{}/{repo}/resolve/{revision}/{file}", self.cfg.endpoint)
    }

    fn with_auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.cfg.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    fn head(&self, repo: &str, file: &str, revision: &str) -> Result<FileInfo> {
        let url = self.resolve_url(repo, file, revision);
        let mut last = String::new();
        for attempt in 0..self.cfg.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt));
            }
            let resp = match self
                .with_auth(self.agent.head(&url))
                .header("Accept-Encoding", "identity")
                .call()
            {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    if matches!(e, ureq::Error::HostNotFound) {
                        break;
                    }
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let h = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
            check_status(status, &url, h("x-error-code"))?;
            if status >= 500 {
                last = format!("HTTP {status}");
                continue;
            }
            let commit = h("x-repo-commit").ok_or_else(|| HubError::Protocol {
                url: url.clone(),
                what: "the X-Repo-Commit header".into(),
            })?;
            let etag = h("x-linked-etag")
                .or_else(|| h("etag"))
                .map(|e| normalize_etag(&e))
                .filter(|e| !e.is_empty() && !e.contains(['/', '\\', '.']))
                .ok_or_else(|| HubError::Protocol {
                    url: url.clone(),
                    what: "an ETag header".into(),
                })?;
            let size = h("x-linked-size")
                .or_else(|| h("content-length"))
                .and_then(|s| s.trim().parse().ok());
            let download_url = if (300..400).contains(&status) {
                let loc = h("location").ok_or_else(|| HubError::Protocol {
                    url: url.clone(),
                    what: "a Location header on its redirect".into(),
                })?;
                absolute(&self.cfg.endpoint, &loc)
            } else {
                url.clone()
            };
            return Ok(FileInfo {
                commit,
                etag,
                size,
                download_url,
            });
        }
        Err(HubError::Network { url, msg: last })
    }

    fn download(&self, info: &FileInfo, file: &str, blob: &Path, progress: &mut dyn FetchProgress) -> Result<()> {
        let parent = blob.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let part = PathBuf::from(format!("{}.incomplete", blob.display()));
        let url = &info.download_url;
        let mut last = String::new();
        let mut started = false;
        for attempt in 0..self.cfg.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt));
            }
            let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if info.size.is_some_and(|s| have >= s) {
                break; // complete on disk; verify below
            }
            let mut req = self.agent.get(url).header("Accept-Encoding", "identity");
            // the token goes only to the hub itself, not to a CDN it redirects to
            if url.starts_with(&self.cfg.endpoint) {
                req = self.with_auth(req);
            }
            if have > 0 {
                req = req.header("Range", format!("bytes={have}-"));
            }
            let resp = match req.call() {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let code = resp
                .headers()
                .get("x-error-code")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            check_status(status, url, code)?;
            let append = match status {
                206 => true,
                200 => false,
                416 => break, // nothing left to send: verify what we have
                s if s >= 500 => {
                    last = format!("HTTP {s}");
                    continue;
                }
                s => {
                    return Err(HubError::Status {
                        url: url.clone(),
                        status: s,
                    })
                }
            };
            let mut out = if append {
                OpenOptions::new().append(true).open(&part)
            } else {
                File::create(&part)
            }
            .map_err(io_err(&part))?;
            let from = if append { have } else { 0 };
            if !started || attempt > 0 {
                progress.start(file, info.size.unwrap_or(0), from);
                started = true;
            }
            let mut body = resp.into_body();
            let mut reader = body.as_reader();
            let mut buf = vec![0u8; 1 << 16];
            let res: std::result::Result<(), String> = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        out.write_all(&buf[..n]).map_err(io_err(&part))?;
                        progress.advance(n as u64);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e.to_string()),
                }
            };
            out.flush().map_err(io_err(&part))?;
            drop(out);
            match res {
                Ok(()) => {
                    let got = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
                    if info.size.is_none_or(|s| got >= s) {
                        break;
                    }
                    last = format!("connection closed after {got} of {} bytes", info.size.unwrap_or(0));
                }
                Err(e) => last = e,
            }
        }
        let got = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if info.size.is_some_and(|s| got < s) || (info.size.is_none() && !started) {
            return Err(HubError::Network {
                url: url.clone(),
                msg: format!(
                    "{last}; {got} bytes kept in {}, the next run resumes there",
                    part.display()
                ),
            });
        }
        if let Err(e) = verify(&part, &info.etag, info.size, file) {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
        fs::rename(&part, blob).map_err(io_err(blob))?;
        progress.finish(file);
        Ok(())
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(5))
}

fn check_status(status: u16, url: &str, code: Option<String>) -> Result<()> {
    match status {
        401 => Err(HubError::Unauthorized { url: url.into() }),
        403 => Err(HubError::Forbidden { url: url.into() }),
        404 => Err(HubError::NotFound {
            url: url.into(),
            detail: code.map(|c| format!(": {c}")).unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

fn is_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

fn normalize_etag(e: &str) -> String {
    e.trim().trim_start_matches("W/").trim_matches('"').to_string()
}

fn absolute(endpoint: &str, loc: &str) -> String {
    if loc.starts_with("http://") || loc.starts_with("https://") {
        loc.to_string()
    } else {
        format!("{endpoint}/{}", loc.trim_start_matches('/'))
    }
}

/// Checks a downloaded file: size, and the SHA-256 (LFS, 64 hex digits) or git blob SHA-1 (40 hex digits)
/// named by the ETag. Other ETags are checked by size only.
fn verify(path: &Path, etag: &str, size: Option<u64>, file: &str) -> Result<()> {
    let len = fs::metadata(path).map_err(io_err(path))?.len();
    if let Some(s) = size {
        if len != s {
            return Err(HubError::Checksum {
                file: file.into(),
                expected: format!("{s} bytes"),
                actual: format!("{len} bytes"),
            });
        }
    }
    let hex = etag.len() == 64 || etag.len() == 40;
    if !hex || !etag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    let actual = if etag.len() == 64 {
        sha256_file(path)
    } else {
        // a git blob id: SHA-1 of "blob <len>\0" + content
        hash_file::<sha1::Sha1>(path, format!("blob {len}\0").as_bytes())
    }
    .map_err(io_err(path))?;
    if !actual.eq_ignore_ascii_case(etag) {
        return Err(HubError::Checksum {
            file: file.into(),
            expected: etag.into(),
            actual,
        });
    }
    Ok(())
}

/// The hex digest of `prefix` followed by the file's bytes.
fn hash_file<D: Digest>(path: &Path, prefix: &[u8]) -> std::io::Result<String> {
    let mut h = D::new();
    h.update(prefix);
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex_string(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// The SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    hash_file::<sha2::Sha256>(path, b"")
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
