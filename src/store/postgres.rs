//! The PostgreSQL back end: one database shared by a farm of worker hosts. Claims use
//! `SELECT … FOR UPDATE SKIP LOCKED` inside one `UPDATE` statement, so concurrent claimers never wait on
//! each other's rows and never take the same chunk. Audio bytes live in the database, or (with a render's
//! `audio_dir`) in content-addressed files on a shared path whose name and digest the database records.
//!
//! Owns what PostgreSQL does its own way: the pool set-up (idle ping) and `migrations/postgres`, the claim
//! statement, the render row lock and `ANALYZE` of a plan sync, heartbeats and completions as single
//! statements of data-modifying CTEs, and the `audio_dir` files. Every other operation is the shared one
//! in `db.rs`. Imports only sqlx and the store's own modules; it must never import render, worker,
//! engine, publish or cli.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Connection, Postgres, Row};

use super::db::Db;
use super::dialect::{begin_write, q, Dialect, Fields};
use super::{encode_samples, now_ms, Claim, Outcome, Result, StoreError, StoredAudio};

/// A pooled connection idle at least this long is pinged before it is handed out again.
const IDLE_PING: Duration = Duration::from_secs(1);

/// The claim, one statement: pick claimable rows in book order, skipping rows another claimer has locked,
/// and lease them. Under READ COMMITTED a row changed since the snapshot is re-checked after locking.
/// Binds: `$1` worker id, `$2` lease token, `$3` lease expiry, `$4` now (ms), `$5` engine fingerprint,
/// `$6` how many.
///
/// The render ids are an array (`= ANY (ARRAY(…))`, an init plan) rather than an `IN (…)` join so that the
/// planner can walk the partial index `chunks_claimable` (render, chapter, index) in order and stop at the
/// first `$6` unlocked rows. With the join it chose to read every claimable row of the render and sort them
/// whenever its statistics were thin or stale, which made each claim cost O(queue) instead of O(claimers).
pub const CLAIM_SQL: &str = "WITH picked AS (
         SELECT c.id FROM chunks c
         WHERE c.render_id = ANY (ARRAY(SELECT r.id FROM renders r WHERE r.fingerprint = $5))
           AND c.status IN ('pending', 'leased')
           AND ((c.status = 'pending' AND c.retry_after <= $4)
                OR (c.status = 'leased' AND c.lease_expires < $4))
         ORDER BY c.render_id, c.chapter, c.idx
         LIMIT $6
         FOR UPDATE OF c SKIP LOCKED)
     UPDATE chunks SET status = 'leased', lease_owner = $1, lease_token = $2, lease_expires = $3,
         updated_ms = $4
     FROM picked WHERE chunks.id = picked.id
     RETURNING chunks.id, chunks.render_id, chunks.chapter, chunks.idx, chunks.store_key, chunks.request,
         chunks.attempts, (SELECT r.audio_dir FROM renders r WHERE r.id = chunks.render_id) AS audio_dir";

/// A PostgreSQL-backed store.
pub(super) type PgStore = Db<Postgres>;

/// The file of a content-addressed audio blob under `dir`: `dir/ab/abcdef….f32le`.
pub fn audio_file(dir: &Path, digest: &str) -> PathBuf {
    dir.join(&digest[..2.min(digest.len())]).join(format!("{digest}.f32le"))
}

/// Writes `bytes` to its content-addressed file under `dir` (temporary name, fsync, rename) and returns
/// the final path. An existing file whose content has this digest is kept.
fn write_audio_file(dir: &Path, digest: &str, token: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let path = audio_file(dir, digest);
    // Kept only if it really holds these bytes: a damaged file is replaced, never reused.
    if std::fs::read(&path).is_ok_and(|old| blake3::hash(&old).to_hex().as_str() == digest) {
        return Ok(path);
    }
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{digest}.{token}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Reads the audio file `path` of `key`, checking it against the blake3 `digest` the database recorded.
fn read_audio_file(key: &str, path: PathBuf, digest: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(&path).map_err(|source| StoreError::AudioFile {
        path: path.clone(),
        source,
    })?;
    let actual = blake3::hash(&bytes).to_hex().to_string();
    if actual != digest {
        return Err(StoreError::CorruptAudio {
            key: key.into(),
            why: format!("{} has blake3 {actual}, the database recorded {digest}", path.display()),
        });
    }
    Ok(bytes)
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies `migrations/postgres`.
    pub(super) async fn open(url: &str) -> Result<PgStore> {
        let location = super::redact(url);
        let open_error = |source| StoreError::Open {
            location: location.clone(),
            source,
        };
        let opts: PgConnectOptions = url.parse().map_err(open_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings every connection it returns to the pool; pinging it again on every acquire cost a
            // third round trip per statement. Only a connection that sat idle long enough for the server to
            // have gone away unnoticed is pinged before use (a dead one is dropped and replaced).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(opts)
            .await
            .map_err(open_error)?;
        // sqlx's migrator takes an advisory lock, so hosts starting at once apply each migration once.
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { location, source })?;
        Ok(Db { pool })
    }
}

impl Dialect for Postgres {
    const BEGIN_WRITE: Option<&'static str> = None;
    const CLAIM: &'static str = CLAIM_SQL;

    /// Re-registering updates the device and engine too.
    const REGISTER_WORKER: &'static str =
        "INSERT INTO workers (id, host, pid, device, engine, started_ms, heartbeat_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, stopped = 0,
             device = excluded.device, engine = excluded.engine";

    const SELECT_AUDIO: &'static str = "SELECT sample_rate, format, digest, data, path FROM audio WHERE key = $1";

    /// The render row carries the render's `audio_dir`.
    const RECORD_RENDER: &'static str = "INSERT INTO renders (name, title, author, engine, fingerprint, max_attempts,
             audio_dir, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (name) DO UPDATE SET title = excluded.title, author = excluded.author,
             engine = excluded.engine, fingerprint = excluded.fingerprint,
             max_attempts = excluded.max_attempts, audio_dir = excluded.audio_dir,
             updated_ms = excluded.updated_ms
         RETURNING id";

    const INTEGRITY_CHECK: Option<&'static str> = None;

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// One plan sync of a render at a time (two hosts starting the same render).
    async fn lock_render(conn: &mut PgConnection, render_id: i64) -> Result<()> {
        sqlx::query("SELECT id FROM renders WHERE id = $1 FOR UPDATE")
            .bind(render_id)
            .execute(conn)
            .await
            .map_err(q("lock the render"))?;
        Ok(())
    }

    /// Fresh statistics for the planner: without them (autovacuum analyses a minute or more later) it plans
    /// the claim as "read every claimable row of the render, sort, lock the first" instead of walking
    /// `chunks_claimable` in book order, and every claim reads the whole queue.
    async fn after_plan_sync(pool: &PgPool, changed: u64) -> Result<()> {
        if changed > 0 {
            sqlx::query("ANALYZE chunks")
                .execute(pool)
                .await
                .map_err(q("analyse the chunks table"))?;
        }
        Ok(())
    }

    /// One autocommit statement: a worker host that stalls mid-heartbeat never holds row locks that would
    /// keep other claimers from taking its expired leases over.
    async fn heartbeat(pool: &PgPool, worker_id: &str, lease_ms: i64) -> Result<u64> {
        let now = now_ms();
        let row = sqlx::query(
            "WITH beat AS (UPDATE workers SET heartbeat_ms = $2 WHERE id = $1)
             , renewed AS (
                 UPDATE chunks SET lease_expires = $3 WHERE lease_owner = $1 AND status = 'leased' RETURNING 1)
             SELECT COUNT(*) FROM renewed",
        )
        .bind(worker_id)
        .bind(now)
        .bind(now + lease_ms)
        .fetch_one(pool)
        .await
        .map_err(q("renew leases"))?;
        let n: i64 = row.try_get(0).map_err(q("renew leases"))?;
        Ok(n as u64)
    }

    /// One item (the common case): one atomic statement, one round trip. Several: one transaction.
    async fn complete_batch(
        pool: &PgPool,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> Result<Vec<Outcome>> {
        let outcome = |done| if done { Outcome::Recorded } else { Outcome::LeaseLost };
        if let [(claim, audio)] = items {
            return Ok(vec![outcome(
                complete_one(pool, claim, audio, worker_id, busy_seconds).await?,
            )]);
        }
        let mut tx = begin_write(pool, "begin a completion").await?;
        let mut outcomes = Vec::with_capacity(items.len());
        let mut first = true;
        for (claim, audio) in items {
            // The batch's engine time is counted once, with its first recorded item.
            let busy = if first { busy_seconds } else { 0.0 };
            let done = complete_one(&mut *tx, claim, audio, worker_id, busy).await?;
            first &= !done;
            outcomes.push(outcome(done));
        }
        tx.commit().await.map_err(q("commit a completion"))?;
        Ok(outcomes)
    }

    fn claim_audio_dir(row: &PgRow) -> Result<Option<PathBuf>> {
        let dir: Option<String> = Fields::new(row, "read a claim").get("audio_dir")?;
        Ok(dir.map(PathBuf::from))
    }

    /// The bytes in `data`, or else in the file `path`, checked against `digest`.
    fn audio_bytes(key: &str, row: &PgRow) -> Result<Vec<u8>> {
        let f = Fields::new(row, "read audio");
        if let Some(data) = f.get::<Option<Vec<u8>>>("data")? {
            return Ok(data);
        }
        let path: Option<String> = f.get("path")?;
        let digest: String = f.get("digest")?;
        read_audio_file(key, PathBuf::from(path.unwrap_or_default()), &digest)
    }
}

/// Completes one claim in one statement: the fenced status change (only the holder of the current
/// lease token turns the row done), the audio row, chunks sharing the key, and the worker's counters
/// all happen, or none does. With an `audio_dir` the file is written (temporary name, fsync, rename)
/// before the statement, so it exists before the row that names it commits.
async fn complete_one<'e, E>(
    exec: E,
    claim: &Claim,
    audio: &StoredAudio,
    worker_id: &str,
    busy_seconds: f64,
) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let now = now_ms();
    let seconds = audio.seconds();
    let bytes = encode_samples(&audio.samples);
    let digest = blake3::hash(&bytes).to_hex().to_string();
    let (data, path) = match &claim.audio_dir {
        Some(dir) => {
            let path =
                write_audio_file(dir, &digest, &claim.lease_token, &bytes).map_err(|source| StoreError::AudioFile {
                    path: audio_file(dir, &digest),
                    source,
                })?;
            (None, Some(path.display().to_string()))
        }
        None => (Some(bytes), None),
    };
    let row = sqlx::query(
        "WITH done AS (
             UPDATE chunks SET status = 'done', lease_owner = NULL, lease_token = NULL, lease_expires = NULL,
                 completions = completions + 1, duration = $3, last_error = NULL, updated_ms = $4
             WHERE id = $1 AND lease_token = $2 AND status = 'leased'
             RETURNING store_key),
         stored AS (
             INSERT INTO audio (key, sample_rate, samples, format, digest, data, path, created_ms)
             SELECT store_key, $5, $6, 'f32le', $7, $8, $9, $4 FROM done
             ON CONFLICT (key) DO NOTHING),
         shared AS (
             UPDATE chunks SET status = 'done', duration = $3, updated_ms = $4
             WHERE store_key IN (SELECT store_key FROM done) AND status = 'pending'),
         counted AS (
             UPDATE workers SET chunks_done = chunks_done + 1, audio_seconds = audio_seconds + $3,
                 busy_seconds = busy_seconds + $11, heartbeat_ms = $4
             WHERE id = $10 AND EXISTS (SELECT 1 FROM done))
         SELECT COUNT(*) FROM done",
    )
    .bind(claim.chunk_id)
    .bind(&claim.lease_token)
    .bind(seconds)
    .bind(now)
    .bind(audio.sample_rate as i64)
    .bind(audio.samples.len() as i64)
    .bind(&digest)
    .bind(data)
    .bind(path)
    .bind(worker_id)
    .bind(busy_seconds)
    .fetch_one(exec)
    .await
    .map_err(q("complete a chunk"))?;
    let n: i64 = row.try_get(0).map_err(q("complete a chunk"))?;
    Ok(n > 0)
}
