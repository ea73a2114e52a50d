//! The SQLite back end: one database file in WAL mode, shared by in-process workers and by standalone
//! worker processes on the same host.
//!
//! Owns what SQLite does its own way: the connection set-up and `migrations/sqlite`, write transactions
//! that take the database lock up front (`BEGIN IMMEDIATE`; the one write lock also serialises claimers
//! and plan syncs), the claim through the partial index, and heartbeat and completion as several
//! statements in one transaction (SQLite has no data-modifying CTEs). Audio always lives in the database
//! (no `audio_dir`). Every other operation is the shared one in `db.rs`. Imports only sqlx and the
//! store's own modules; it must never import render, worker, engine, publish or cli.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteQueryResult, SqliteRow, SqliteSynchronous};
use sqlx::{Row, Sqlite};

use super::db::Db;
use super::dialect::{begin_write, q, Dialect};
use super::{encode_samples, now_ms, Claim, Outcome, Result, StoreError, StoredAudio};

/// A SQLite-backed store.
pub(super) type SqliteStore = Db<Sqlite>;

impl SqliteStore {
    /// Opens the file (creating it and its folder), sets WAL, a busy timeout and foreign keys, and migrates.
    pub(super) async fn open(path: &Path) -> Result<SqliteStore> {
        let location = path.display().to_string();
        let open_error = |source| StoreError::Open {
            location: location.clone(),
            source,
        };
        let opts = crate::sqlite_file::wal_options(path)
            .map_err(open_error)?
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(60))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(opts)
            .await
            .map_err(open_error)?;
        migrate(&pool, location).await?;
        Ok(Db { pool })
    }
}

/// Applies `migrations/sqlite` ([`crate::sqlite_file::migrate`]).
async fn migrate(pool: &SqlitePool, location: String) -> Result<()> {
    crate::sqlite_file::migrate(&sqlx::migrate!("./migrations/sqlite"), pool)
        .await
        .map_err(|source| StoreError::Migrate { location, source })
}

impl Dialect for Sqlite {
    /// The write lock is taken when the transaction begins, so a transaction never fails to upgrade a
    /// read lock half-way (the busy timeout waits for it instead).
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");

    /// The claim, one statement; the write lock serialises claimers. `INDEXED BY` makes SQLite scan the
    /// partial index of claimable rows.
    const CLAIM: &'static str = "UPDATE chunks SET status = 'leased', lease_owner = $1, lease_token = $2,
             lease_expires = $3, updated_ms = $4
         WHERE id IN (
             SELECT c.id FROM chunks c INDEXED BY chunks_claimable
             WHERE c.status IN ('pending', 'leased')
               AND c.render_id IN (SELECT r.id FROM renders r WHERE r.fingerprint = $5)
               AND ((c.status = 'pending' AND c.retry_after <= $4)
                    OR (c.status = 'leased' AND c.lease_expires < $4))
             ORDER BY c.render_id, c.chapter, c.idx
             LIMIT $6)
         RETURNING id, render_id, chapter, idx, store_key, request, attempts";

    /// Re-registering keeps the first registration's device and engine.
    const REGISTER_WORKER: &'static str =
        "INSERT INTO workers (id, host, pid, device, engine, started_ms, heartbeat_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, stopped = 0";

    const SELECT_AUDIO: &'static str = "SELECT sample_rate, format, digest, data FROM audio WHERE key = $1";

    /// No audio folder (`$7` is left out): audio lives in the database.
    const RECORD_RENDER: &'static str = "INSERT INTO renders (name, title, author, engine, fingerprint, max_attempts,
             created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $8, $8)
         ON CONFLICT (name) DO UPDATE SET title = excluded.title, author = excluded.author,
             engine = excluded.engine, fingerprint = excluded.fingerprint,
             max_attempts = excluded.max_attempts, updated_ms = excluded.updated_ms
         RETURNING id";

    const INTEGRITY_CHECK: Option<&'static str> = Some("PRAGMA integrity_check");

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// `BEGIN IMMEDIATE` already keeps other plan syncs out.
    async fn lock_render(_conn: &mut SqliteConnection, _render_id: i64) -> Result<()> {
        Ok(())
    }

    /// Nothing to do: SQLite plans each statement afresh.
    async fn after_plan_sync(_pool: &SqlitePool, _changed: u64) -> Result<()> {
        Ok(())
    }

    /// The worker row and its leases, in one write transaction.
    async fn heartbeat(pool: &SqlitePool, worker_id: &str, lease_ms: i64) -> Result<u64> {
        let now = now_ms();
        let mut tx = begin_write(pool, "begin a heartbeat").await?;
        sqlx::query("UPDATE workers SET heartbeat_ms = $2 WHERE id = $1")
            .bind(worker_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(q("record a heartbeat"))?;
        let n = sqlx::query("UPDATE chunks SET lease_expires = $2 WHERE lease_owner = $1 AND status = 'leased'")
            .bind(worker_id)
            .bind(now + lease_ms)
            .execute(&mut *tx)
            .await
            .map_err(q("renew leases"))?
            .rows_affected();
        tx.commit().await.map_err(q("commit a heartbeat"))?;
        Ok(n)
    }

    /// One write transaction: each item's fenced status change, its audio row and the chunks sharing its
    /// key, then the worker's counters once for the batch.
    async fn complete_batch(
        pool: &SqlitePool,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> Result<Vec<Outcome>> {
        let now = now_ms();
        let mut tx = begin_write(pool, "begin a completion").await?;
        let mut outcomes = Vec::with_capacity(items.len());
        let (mut done, mut seconds_done) = (0i64, 0f64);
        for (claim, audio) in items {
            if complete_one(&mut tx, claim, audio, now).await? {
                done += 1;
                seconds_done += audio.seconds();
                outcomes.push(Outcome::Recorded);
            } else {
                outcomes.push(Outcome::LeaseLost);
            }
        }
        if done > 0 {
            sqlx::query(
                "UPDATE workers SET chunks_done = chunks_done + $2, audio_seconds = audio_seconds + $3,
                     busy_seconds = busy_seconds + $4, heartbeat_ms = $5 WHERE id = $1",
            )
            .bind(worker_id)
            .bind(done)
            .bind(seconds_done)
            .bind(busy_seconds)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(q("count a worker's chunks"))?;
        }
        tx.commit().await.map_err(q("commit a completion"))?;
        Ok(outcomes)
    }

    fn claim_audio_dir(_row: &SqliteRow) -> Result<Option<PathBuf>> {
        Ok(None)
    }

    fn audio_bytes(_key: &str, row: &SqliteRow) -> Result<Vec<u8>> {
        row.try_get("data").map_err(q("read audio"))
    }
}

/// One item of a completion inside its transaction: whether the lease still held (and the chunk is done).
async fn complete_one(conn: &mut SqliteConnection, claim: &Claim, audio: &StoredAudio, now: i64) -> Result<bool> {
    let seconds = audio.seconds();
    let n = sqlx::query(
        "UPDATE chunks SET status = 'done', lease_owner = NULL, lease_token = NULL, lease_expires = NULL,
             completions = completions + 1, duration = $3, last_error = NULL, updated_ms = $4
         WHERE id = $1 AND lease_token = $2 AND status = 'leased'",
    )
    .bind(claim.chunk_id)
    .bind(&claim.lease_token)
    .bind(seconds)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(q("mark a chunk done"))?
    .rows_affected();
    if n == 0 {
        // Fenced: the lease was taken over or the chunk changed; nothing is written for it.
        return Ok(false);
    }
    let bytes = encode_samples(&audio.samples);
    let digest = blake3::hash(&bytes).to_hex().to_string();
    sqlx::query(
        "INSERT INTO audio (key, sample_rate, samples, format, digest, data, created_ms)
         VALUES ($1, $2, $3, 'f32le', $4, $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&claim.store_key)
    .bind(audio.sample_rate as i64)
    .bind(audio.samples.len() as i64)
    .bind(&digest)
    .bind(&bytes)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(q("store audio"))?;
    sqlx::query(
        "UPDATE chunks SET status = 'done', duration = $2, updated_ms = $3
         WHERE store_key = $1 AND status = 'pending'",
    )
    .bind(&claim.store_key)
    .bind(seconds)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(q("complete chunks sharing a key"))?;
    Ok(true)
}
