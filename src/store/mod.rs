//! The render queue and the content-addressed audio store, behind one API.
//!
//! [`Store`] is the only type the rest of the crate sees. Its methods speak in render concepts (sync a
//! plan, claim a batch with a lease, complete with audio, fail with a retry time) and never expose the
//! back end's SQL, locking or clock. SQLite ([`sqlite`]) is the embedded default; PostgreSQL
//! ([`postgres`]) serves a farm of worker hosts. Both pass one parameterised test suite
//! (`tests/store_api.rs`).
//!
//! Layout: this module owns the public facade (the API types, [`StoreError`], location parsing, the
//! sample encoding and lease tokens) and dispatches each call to the back end. `db` implements every
//! operation once, generic over the `Dialect` that `dialect` defines; `sqlite` and `postgres` implement
//! that dialect (connection set-up, claim statement, locking, heartbeat and completion statements, the
//! audio folder). No store module may import render, worker, engine, publish or cli: the store knows
//! nothing of what it queues.
//!
//! Invariants kept here (DESIGN.md 4 and 5):
//! - a chunk becomes `done` in the same transaction that stores its audio, and only while the completing
//!   worker still holds the lease (the lease token fences late completions);
//! - a claim takes a batch in one atomic statement; expired leases are claimable again;
//! - failures are retried after a back-off until `max_attempts`, then the chunk is `failed` with its error.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

mod db;
mod dialect;
pub mod postgres;
mod samples;
pub mod sqlite;
mod takes;

pub use samples::{decode_samples, encode_samples};
pub use takes::{ChunkTakes, TakeRow};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or migrated.
    #[error("cannot open the state database {location}: {source}")]
    Open {
        /// Path or URL.
        location: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("cannot migrate the state database {location}: {source}")]
    Migrate {
        /// Path or URL.
        location: String,
        /// The cause.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("state database {}: error while trying to {action}: {source}{}", location.as_deref().unwrap_or("?"), what_to_do(.source))]
    Query {
        /// What was being done.
        action: &'static str,
        /// The database (path or redacted URL), filled in by [`Store`].
        location: Option<String>,
        /// The cause.
        source: sqlx::Error,
    },
    /// The location is neither a SQLite path nor a PostgreSQL URL.
    #[error("unsupported state database `{0}`: use a SQLite path, `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`")]
    Unsupported(String),
    /// A content-addressed audio file (a render's `audio_dir`) could not be written or read.
    #[error("audio file {path}: {source}")]
    AudioFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No render of this name exists in the database.
    #[error("the state database has no render named `{0}` (run `ws-book render` first)")]
    NoRender(String),
    /// A request the store refuses (e.g. choosing a take that does not exist).
    #[error("{0}")]
    Invalid(String),
    /// Stored audio is malformed.
    #[error("stored audio for key {key} is corrupt: {why}")]
    CorruptAudio {
        /// Content key.
        key: String,
        /// What is wrong.
        why: String,
    },
}

/// What a user can do about a database error, as a sentence to append (empty when there is nothing
/// specific to say).
fn what_to_do(e: &sqlx::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("disk is full") || text.contains("No space left") {
        "; free space on the disk that holds it and run the same command again (nothing done so far is lost)"
    } else if text.contains("malformed") || text.contains("not a database") || text.contains("corrupt") {
        "; the state database is damaged: move its folder (`.ws-book/` beside the project) aside and render again. \
         Every chunk is then synthesised again (the outputs in `out/` are kept until they are rewritten)"
    } else {
        ""
    }
}

impl StoreError {
    /// The same error naming the database it came from.
    fn at(self, location: &str) -> StoreError {
        match self {
            StoreError::Query {
                action,
                location: None,
                source,
            } => StoreError::Query {
                action,
                location: Some(redact(location)),
                source,
            },
            e => e,
        }
    }

    /// Whether the error is a lost or refused connection (the database restarting, a network cut) that a
    /// retry after a back-off can get past, as opposed to a bad query or bad data.
    pub fn is_transient(&self) -> bool {
        let e = match self {
            StoreError::Query { source, .. } | StoreError::Open { source, .. } => source,
            _ => return false,
        };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| {
                // PostgreSQL: class 08 connection exception, 57P01-57P03 shutdown / cannot connect now.
                c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03"
            }),
            _ => false,
        }
    }
}

/// Result alias for store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What a render is: one project rendered with one engine.
#[derive(Debug, Clone, Serialize)]
pub struct RenderSpec {
    /// Stable name of the render within its database (the project file's name).
    pub name: String,
    /// Book title.
    pub title: String,
    /// Book author.
    pub author: String,
    /// Engine name (`espeak`, `whisperspeech`).
    pub engine: String,
    /// Engine fingerprint (name, version, model digests); only workers with the same one claim its chunks.
    pub fingerprint: String,
    /// Attempts per chunk before it is marked failed.
    pub max_attempts: u32,
    /// Shared folder for content-addressed audio files (PostgreSQL); `None` keeps audio in the database.
    pub audio_dir: Option<PathBuf>,
}

/// A chunk of the plan as the queue stores it.
#[derive(Debug, Clone)]
pub struct PlannedChunk {
    /// 0-based chapter.
    pub chapter: u32,
    /// 0-based position in the chapter.
    pub index: u32,
    /// The plan's content key.
    pub plan_key: String,
    /// The audio store key (plan key + engine fingerprint + voice embedding digest).
    pub store_key: String,
    /// The synthesis request, serialised (JSON), so a standalone worker needs only the database.
    pub request: String,
}

/// What [`Store::sync_plan`] did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    /// The render's id.
    pub render_id: i64,
    /// Chunks in the plan.
    pub total: u64,
    /// Chunks that were already done before this sync.
    pub already_done: u64,
    /// Chunks done at once because their audio was already stored (reuse across edits and renders).
    pub reused: u64,
    /// Chunks waiting for synthesis after the sync.
    pub queued: u64,
    /// Chunks removed from the render because they vanished from the plan.
    pub dropped: u64,
}

/// A chunk claimed by a worker.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Row id.
    pub chunk_id: i64,
    /// Render id.
    pub render_id: i64,
    /// Audio store key.
    pub store_key: String,
    /// Serialised synthesis request.
    pub request: String,
    /// Lease token; completion and failure must present it.
    pub lease_token: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The render's shared audio folder at claim time (PostgreSQL `store.audio_dir`), if any.
    pub audio_dir: Option<PathBuf>,
}

/// What became of a completion or failure report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded.
    Recorded,
    /// The lease was lost (expired and taken over, or the plan changed): nothing was written.
    LeaseLost,
}

/// What became of a failure report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again after the back-off.
    Retrying,
    /// Attempts exhausted: the chunk is failed.
    Failed,
    /// The lease was lost: nothing was written.
    LeaseLost,
}

/// Mono audio as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Samples.
    pub samples: Vec<f32>,
}

impl StoredAudio {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate.max(1) as f64
    }
}

/// A render's row.
#[derive(Debug, Clone, Serialize)]
pub struct RenderInfo {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Engine name.
    pub engine: String,
    /// Engine fingerprint.
    pub fingerprint: String,
    /// Outputs written by the last render (JSON array).
    pub outputs: serde_json::Value,
}

/// Counts for one chapter.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChapterProgress {
    /// 0-based chapter index.
    pub index: u32,
    /// Title.
    pub title: String,
    /// Chunks in the chapter.
    pub total: u64,
    /// Done.
    pub done: u64,
    /// Waiting (including waiting for a retry).
    pub pending: u64,
    /// Leased by a worker.
    pub leased: u64,
    /// Failed for good.
    pub failed: u64,
    /// Seconds of audio done.
    pub audio_seconds: f64,
}

/// A chunk that failed for good.
#[derive(Debug, Clone, Serialize)]
pub struct FailedChunk {
    /// 0-based chapter.
    pub chapter: u32,
    /// 0-based index in the chapter.
    pub index: u32,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// One chunk row's state (for status and tests).
#[derive(Debug, Clone, Serialize)]
pub struct ChunkState {
    /// 0-based chapter.
    pub chapter: u32,
    /// 0-based index.
    pub index: u32,
    /// `pending`, `leased`, `done` or `failed`.
    pub status: String,
    /// Failed attempts.
    pub attempts: u32,
    /// Times a worker completed this row (at most 1 unless the plan changed it).
    pub completions: u32,
    /// Audio store key.
    pub store_key: String,
    /// The worker holding the lease (`leased` rows only).
    pub lease_owner: Option<String>,
    /// Seconds of audio (done rows).
    pub duration: Option<f64>,
}

/// A worker as registered.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerInfo {
    /// Unique id (host, pid and a counter).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Device (`cpu`, `cuda:0`).
    pub device: String,
    /// Engine fingerprint.
    pub engine: String,
}

/// A worker's row with its statistics.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    /// Registration.
    pub info: WorkerInfo,
    /// Last heartbeat, Unix ms.
    pub heartbeat_ms: i64,
    /// Chunks completed.
    pub chunks_done: u64,
    /// Seconds of audio produced.
    pub audio_seconds: f64,
    /// Seconds spent synthesising.
    pub busy_seconds: f64,
    /// Whether the worker said it stopped.
    pub stopped: bool,
}

/// The back ends.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Evaluates `$call` with `$s` bound to the store's back end, whichever it is (both are a `db::Db`, so
/// the call is the same text for each).
macro_rules! on_backend {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
        .map_err(|e| e.at(&$self.location))
    };
}

// declared after `on_backend!` so that its facade methods can use the macro
mod review;
pub use review::{parse_take_audio_key, still_flagged, take_audio_key, ReviewState};

/// The store: cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    location: String,
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new lease token: unique per claim across hosts (worker id, time, process and a counter).
pub(crate) fn new_token(worker_id: &str) -> String {
    let n = TOKEN_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = blake3::Hasher::new();
    h.update(worker_id.as_bytes());
    h.update(&now_ms().to_le_bytes());
    h.update(&n.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Where a database location points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// The location for messages: a URL's password replaced by `***`.
pub fn redact(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.into();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return location.into();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => location.into(),
    }
}

/// Parses `PATH`, `sqlite:PATH`, `sqlite://PATH`, or `postgres://…` / `postgresql://…`.
pub fn parse_location(location: &str) -> Result<Location> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok(Location::Postgres(location.into()));
    }
    let path = location
        .strip_prefix("sqlite://")
        .or_else(|| location.strip_prefix("sqlite:"))
        .unwrap_or(location);
    if path.contains("://") {
        return Err(StoreError::Unsupported(location.into()));
    }
    Ok(Location::Sqlite(PathBuf::from(path)))
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `location`: a path, `sqlite:PATH`, or a
    /// `postgres://` URL.
    pub async fn open(location: &str) -> Result<Store> {
        match parse_location(location)? {
            Location::Sqlite(path) => Self::open_sqlite(&path).await,
            Location::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(postgres::PgStore::open(&url).await?),
                location: redact(&url),
            }),
        }
    }

    /// Whether this store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Opens a SQLite database file, creating its folder and applying migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let s = sqlite::SqliteStore::open(path).await?;
        Ok(Store {
            backend: Backend::Sqlite(s),
            location: path.display().to_string(),
        })
    }

    /// Where the database is (for messages).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Creates or updates the render and brings its chunks in line with the plan (idempotent).
    pub async fn sync_plan(
        &self,
        spec: &RenderSpec,
        chapters: &[String],
        chunks: &[PlannedChunk],
    ) -> Result<SyncReport> {
        on_backend!(self, s => s.sync_plan(spec, chapters, chunks).await)
    }

    /// The render of this name.
    pub async fn render(&self, name: &str) -> Result<RenderInfo> {
        on_backend!(self, s => s.render(name).await)
    }

    /// All renders.
    pub async fn renders(&self) -> Result<Vec<RenderInfo>> {
        on_backend!(self, s => s.renders().await)
    }

    /// Records the outputs written by a render.
    pub async fn set_outputs(&self, render_id: i64, outputs: &serde_json::Value) -> Result<()> {
        on_backend!(self, s => s.set_outputs(render_id, outputs).await)
    }

    /// Registers (or re-registers) a worker.
    pub async fn register_worker(&self, w: &WorkerInfo) -> Result<()> {
        on_backend!(self, s => s.register_worker(w).await)
    }

    /// Records a heartbeat and extends every lease the worker holds by `lease_ms`.
    pub async fn heartbeat(&self, worker_id: &str, lease_ms: i64) -> Result<u64> {
        on_backend!(self, s => s.heartbeat(worker_id, lease_ms).await)
    }

    /// Marks a worker stopped and returns its leased chunks to the queue.
    pub async fn stop_worker(&self, worker_id: &str) -> Result<u64> {
        on_backend!(self, s => s.stop_worker(worker_id).await)
    }

    /// Workers registered from `host` that have not said they stopped.
    pub async fn workers(&self) -> Result<Vec<WorkerRow>> {
        on_backend!(self, s => s.workers().await)
    }

    /// Claims up to `n` chunks of renders whose engine fingerprint is `fingerprint`, in book order, with a
    /// lease of `lease_ms`, in one atomic statement. Pending chunks whose retry time has come and leased
    /// chunks whose lease expired are claimable.
    pub async fn claim(&self, worker_id: &str, fingerprint: &str, n: u32, lease_ms: i64) -> Result<Vec<Claim>> {
        on_backend!(self, s => s.claim(worker_id, fingerprint, n, lease_ms).await)
    }

    /// Stores the audio and marks the chunk done in one transaction, if the lease is still held.
    /// Other pending chunks of the same key are done at once too.
    pub async fn complete(
        &self,
        claim: &Claim,
        worker_id: &str,
        audio: &StoredAudio,
        busy_seconds: f64,
    ) -> Result<Outcome> {
        let r = self.complete_batch(&[(claim, audio)], worker_id, busy_seconds).await?;
        Ok(r.into_iter().next().unwrap_or(Outcome::LeaseLost))
    }

    /// Completes several claims in one transaction (each fenced by its own lease token): one outcome
    /// per item, in order. `busy_seconds` is the engine time of the whole batch.
    pub async fn complete_batch(
        &self,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> Result<Vec<Outcome>> {
        on_backend!(self, s => s.complete_batch(items, worker_id, busy_seconds).await)
    }

    /// Records a failed attempt: the chunk is queued again after `retry_after_ms`, or failed for good
    /// when its attempts reach the render's `max_attempts`.
    pub async fn fail(&self, claim: &Claim, error: &str, retry_after_ms: i64) -> Result<FailOutcome> {
        on_backend!(self, s => s.fail(claim, error, retry_after_ms).await)
    }

    /// Returns a claim to the queue without counting an attempt (graceful stop).
    pub async fn release(&self, claim: &Claim) -> Result<Outcome> {
        on_backend!(self, s => s.release(claim).await)
    }

    /// Per-chapter counts of a render.
    pub async fn progress(&self, render_id: i64) -> Result<Vec<ChapterProgress>> {
        on_backend!(self, s => s.progress(render_id).await)
    }

    /// Chunks failed for good.
    pub async fn failed_chunks(&self, render_id: i64) -> Result<Vec<FailedChunk>> {
        on_backend!(self, s => s.failed_chunks(render_id).await)
    }

    /// Every chunk row of a render, in book order.
    pub async fn chunk_states(&self, render_id: i64) -> Result<Vec<ChunkState>> {
        on_backend!(self, s => s.chunk_states(render_id).await)
    }

    /// Replaces the QA takes of a chunk's store key.
    pub async fn record_takes(&self, key: &str, takes: &[TakeRow]) -> Result<()> {
        on_backend!(self, s => s.record_takes(key, takes).await)
    }

    /// The QA takes of a render's chunks, in book order (chunks without takes are absent).
    pub async fn render_takes(&self, render_id: i64) -> Result<Vec<ChunkTakes>> {
        on_backend!(self, s => s.render_takes(render_id).await)
    }

    /// The stored audio of a key: a chunk's store key, or a take's ([`take_audio_key`]).
    pub async fn audio(&self, key: &str) -> Result<Option<StoredAudio>> {
        match parse_take_audio_key(key) {
            Some((k, t)) => on_backend!(self, s => s.take_audio(k, t).await),
            None => on_backend!(self, s => s.audio(key).await),
        }
    }

    /// Whether any chunk of any render with this fingerprint is pending or leased.
    pub async fn has_work(&self, fingerprint: &str) -> Result<bool> {
        on_backend!(self, s => s.has_work(fingerprint).await)
    }

    /// Renders with pending or leased chunks whose engine fingerprint is not `fingerprint`: (name,
    /// fingerprint). A worker that finds nothing to claim uses it to say why.
    pub async fn other_work(&self, fingerprint: &str) -> Result<Vec<(String, String)>> {
        on_backend!(self, s => s.other_work(fingerprint).await)
    }

    /// The done chunks of a render whose stored audio is missing or fails its blake3 digest (store key, why).
    pub async fn damaged_audio(&self, render_id: i64) -> Result<Vec<(String, String)>> {
        on_backend!(self, s => s.damaged_audio(render_id).await)
    }

    /// Stored audio no chunk of any render uses any more: (entries, seconds). Kept on purpose, so that undoing
    /// an edit re-uses it instead of synthesising again.
    pub async fn orphaned_audio(&self) -> Result<(u64, f64)> {
        on_backend!(self, s => s.orphaned_audio().await)
    }

    /// The database's consistency problems (SQLite `PRAGMA integrity_check`; PostgreSQL checks itself).
    pub async fn integrity(&self) -> Result<Vec<String>> {
        on_backend!(self, s => s.integrity().await)
    }

    /// Drops a key's damaged audio and queues its done chunks again; returns how many were queued.
    pub async fn requeue_audio(&self, key: &str) -> Result<u64> {
        on_backend!(self, s => s.requeue_audio(key).await)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_name_the_database_and_say_what_to_do() {
        let q = |msg: &str| StoreError::Query {
            action: "read audio",
            location: None,
            source: sqlx::Error::Protocol(msg.into()),
        };
        let full = q("database or disk is full").at("/p/.ws-book/state.db").to_string();
        assert!(
            full.starts_with("state database /p/.ws-book/state.db: error while trying to read audio"),
            "{full}"
        );
        assert!(full.contains("free space"), "{full}");
        let bad = q("database disk image is malformed")
            .at("/p/.ws-book/state.db")
            .to_string();
        assert!(
            bad.contains("move its folder") && bad.contains("synthesised again"),
            "{bad}"
        );
        let pg = q("boom").at("postgres://u:secret@h/db").to_string();
        assert!(
            pg.contains("postgres://u:***@h/db") && !pg.contains("secret") && pg.ends_with("boom"),
            "{pg}"
        );
    }
}
