//! The PostgreSQL back end: one database shared by a farm of worker hosts. Claims use
//! `SELECT … FOR UPDATE SKIP LOCKED` inside one `UPDATE` statement, so concurrent claimers never wait on
//! each other's rows and never take the same chunk. Audio bytes live in the database, or (with a render's
//! `audio_dir`) in content-addressed files on a shared path whose name and digest the database records.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};

use super::{
    decode_samples, encode_samples, new_token, now_ms, ChapterProgress, ChunkState, Claim, FailOutcome, FailedChunk,
    Outcome, PlannedChunk, RenderInfo, RenderSpec, Result, StoreError, StoredAudio, SyncReport, WorkerInfo, WorkerRow,
};

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
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

fn q(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { action, source }
}

/// The file of a content-addressed audio blob under `dir`: `dir/ab/abcdef….f32le`.
pub fn audio_file(dir: &Path, digest: &str) -> PathBuf {
    dir.join(&digest[..2.min(digest.len())]).join(format!("{digest}.f32le"))
}

/// Writes `bytes` to its content-addressed file under `dir` (temporary name, fsync, rename) and returns
/// the final path. An existing file of the same digest is kept (same content by construction).
fn write_audio_file(dir: &Path, digest: &str, token: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let path = audio_file(dir, digest);
    if path.exists() {
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

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies `migrations/postgres`.
    pub async fn open(url: &str) -> Result<PgStore> {
        let location = super::redact(url);
        let opts: PgConnectOptions = url.parse().map_err(|source| StoreError::Open {
            location: location.clone(),
            source,
        })?;
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
            .map_err(|source| StoreError::Open {
                location: location.clone(),
                source,
            })?;
        // sqlx's migrator takes an advisory lock, so hosts starting at once apply each migration once.
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { location, source })?;
        Ok(PgStore { pool })
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    pub(super) async fn sync_plan(
        &self,
        spec: &RenderSpec,
        chapters: &[String],
        chunks: &[PlannedChunk],
    ) -> Result<SyncReport> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(q("begin a plan sync"))?;
        let render_id: i64 = sqlx::query(
            "INSERT INTO renders (name, title, author, engine, fingerprint, max_attempts, audio_dir, created_ms,
                 updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (name) DO UPDATE SET title = excluded.title, author = excluded.author,
                 engine = excluded.engine, fingerprint = excluded.fingerprint,
                 max_attempts = excluded.max_attempts, audio_dir = excluded.audio_dir,
                 updated_ms = excluded.updated_ms
             RETURNING id",
        )
        .bind(&spec.name)
        .bind(&spec.title)
        .bind(&spec.author)
        .bind(&spec.engine)
        .bind(&spec.fingerprint)
        .bind(spec.max_attempts as i64)
        .bind(spec.audio_dir.as_ref().map(|p| p.display().to_string()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(q("record the render"))?
        .try_get(0)
        .map_err(q("read the render id"))?;
        // One plan sync of a render at a time (two hosts starting the same render).
        sqlx::query("SELECT id FROM renders WHERE id = $1 FOR UPDATE")
            .bind(render_id)
            .execute(&mut *tx)
            .await
            .map_err(q("lock the render"))?;

        sqlx::query("DELETE FROM chapters WHERE render_id = $1 AND idx >= $2")
            .bind(render_id)
            .bind(chapters.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(q("drop vanished chapters"))?;
        for (i, title) in chapters.iter().enumerate() {
            sqlx::query(
                "INSERT INTO chapters (render_id, idx, title) VALUES ($1, $2, $3)
                 ON CONFLICT (render_id, idx) DO UPDATE SET title = excluded.title",
            )
            .bind(render_id)
            .bind(i as i64)
            .bind(title)
            .execute(&mut *tx)
            .await
            .map_err(q("record a chapter"))?;
        }

        let mut dropped = sqlx::query("DELETE FROM chunks WHERE render_id = $1 AND chapter >= $2")
            .bind(render_id)
            .bind(chapters.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(q("drop vanished chunks"))?
            .rows_affected();
        let mut per_chapter = vec![0i64; chapters.len()];
        for c in chunks {
            if let Some(n) = per_chapter.get_mut(c.chapter as usize) {
                *n = (*n).max(c.index as i64 + 1);
            }
        }
        for (ch, n) in per_chapter.iter().enumerate() {
            dropped += sqlx::query("DELETE FROM chunks WHERE render_id = $1 AND chapter = $2 AND idx >= $3")
                .bind(render_id)
                .bind(ch as i64)
                .bind(*n)
                .execute(&mut *tx)
                .await
                .map_err(q("drop vanished chunks"))?
                .rows_affected();
        }
        let mut changed = dropped;
        for c in chunks {
            changed += sqlx::query(
                "INSERT INTO chunks (render_id, chapter, idx, plan_key, store_key, request, status, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
                 ON CONFLICT (render_id, chapter, idx) DO UPDATE SET
                     plan_key = excluded.plan_key, store_key = excluded.store_key, request = excluded.request,
                     status = 'pending', attempts = 0, lease_owner = NULL, lease_token = NULL,
                     lease_expires = NULL, retry_after = 0, last_error = NULL, duration = NULL,
                     completions = 0, updated_ms = excluded.updated_ms
                 WHERE chunks.store_key <> excluded.store_key OR chunks.status = 'failed'",
            )
            .bind(render_id)
            .bind(c.chapter as i64)
            .bind(c.index as i64)
            .bind(&c.plan_key)
            .bind(&c.store_key)
            .bind(&c.request)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(q("queue a chunk"))?
            .rows_affected();
        }
        let already_done: i64 = sqlx::query("SELECT COUNT(*) FROM chunks WHERE render_id = $1 AND status = 'done'")
            .bind(render_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(q("count done chunks"))?
            .try_get(0)
            .map_err(q("count done chunks"))?;
        let reused = sqlx::query(
            "UPDATE chunks SET status = 'done', updated_ms = $2,
                 duration = (SELECT a.samples::float8 / a.sample_rate FROM audio a WHERE a.key = chunks.store_key)
             WHERE render_id = $1 AND status = 'pending'
               AND EXISTS (SELECT 1 FROM audio a WHERE a.key = chunks.store_key)",
        )
        .bind(render_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(q("reuse stored audio"))?
        .rows_affected();
        let queued: i64 =
            sqlx::query("SELECT COUNT(*) FROM chunks WHERE render_id = $1 AND status IN ('pending', 'leased')")
                .bind(render_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(q("count queued chunks"))?
                .try_get(0)
                .map_err(q("count queued chunks"))?;
        tx.commit().await.map_err(q("commit a plan sync"))?;
        if changed + reused > 0 {
            // Fresh statistics for the planner: without them (autovacuum analyses a minute or more later) it
            // plans the claim as "read every claimable row of the render, sort, lock the first" instead of
            // walking `chunks_claimable` in book order, and every claim reads the whole queue.
            sqlx::query("ANALYZE chunks")
                .execute(&self.pool)
                .await
                .map_err(q("analyse the chunks table"))?;
        }
        Ok(SyncReport {
            render_id,
            total: chunks.len() as u64,
            already_done: already_done as u64,
            reused,
            queued: queued as u64,
            dropped,
        })
    }

    fn render_from_row(row: &PgRow) -> Result<RenderInfo> {
        let e = || q("read a render");
        let outputs: String = row.try_get("outputs").map_err(e())?;
        Ok(RenderInfo {
            id: row.try_get("id").map_err(e())?,
            name: row.try_get("name").map_err(e())?,
            title: row.try_get("title").map_err(e())?,
            author: row.try_get("author").map_err(e())?,
            engine: row.try_get("engine").map_err(e())?,
            fingerprint: row.try_get("fingerprint").map_err(e())?,
            outputs: serde_json::from_str(&outputs).unwrap_or(serde_json::Value::Null),
        })
    }

    pub(super) async fn render(&self, name: &str) -> Result<RenderInfo> {
        let row = sqlx::query("SELECT * FROM renders WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("look up a render"))?;
        match row {
            Some(r) => Self::render_from_row(&r),
            None => Err(StoreError::NoRender(name.into())),
        }
    }

    pub(super) async fn renders(&self) -> Result<Vec<RenderInfo>> {
        let rows = sqlx::query("SELECT * FROM renders ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(q("list renders"))?;
        rows.iter().map(Self::render_from_row).collect()
    }

    pub(super) async fn set_outputs(&self, render_id: i64, outputs: &serde_json::Value) -> Result<()> {
        sqlx::query("UPDATE renders SET outputs = $2, updated_ms = $3 WHERE id = $1")
            .bind(render_id)
            .bind(outputs.to_string())
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(q("record outputs"))?;
        Ok(())
    }

    pub(super) async fn register_worker(&self, w: &WorkerInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO workers (id, host, pid, device, engine, started_ms, heartbeat_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, stopped = 0,
                 device = excluded.device, engine = excluded.engine",
        )
        .bind(&w.id)
        .bind(&w.host)
        .bind(w.pid as i64)
        .bind(&w.device)
        .bind(&w.engine)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(q("register a worker"))?;
        Ok(())
    }

    pub(super) async fn heartbeat(&self, worker_id: &str, lease_ms: i64) -> Result<u64> {
        let now = now_ms();
        // One autocommit statement: a worker host that stalls mid-heartbeat never holds row locks that
        // would keep other claimers from taking its expired leases over.
        let row = sqlx::query(
            "WITH beat AS (UPDATE workers SET heartbeat_ms = $2 WHERE id = $1)
             , renewed AS (
                 UPDATE chunks SET lease_expires = $3 WHERE lease_owner = $1 AND status = 'leased' RETURNING 1)
             SELECT COUNT(*) FROM renewed",
        )
        .bind(worker_id)
        .bind(now)
        .bind(now + lease_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(q("renew leases"))?;
        let n: i64 = row.try_get(0).map_err(q("renew leases"))?;
        Ok(n as u64)
    }

    pub(super) async fn stop_worker(&self, worker_id: &str) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(q("begin a worker stop"))?;
        let n = sqlx::query(
            "UPDATE chunks SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires = NULL
             WHERE lease_owner = $1 AND status = 'leased'",
        )
        .bind(worker_id)
        .execute(&mut *tx)
        .await
        .map_err(q("release a worker's leases"))?
        .rows_affected();
        sqlx::query("UPDATE workers SET stopped = 1, heartbeat_ms = $2 WHERE id = $1")
            .bind(worker_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(q("mark a worker stopped"))?;
        tx.commit().await.map_err(q("commit a worker stop"))?;
        Ok(n)
    }

    pub(super) async fn workers(&self) -> Result<Vec<WorkerRow>> {
        let rows = sqlx::query("SELECT * FROM workers ORDER BY started_ms, id")
            .fetch_all(&self.pool)
            .await
            .map_err(q("list workers"))?;
        rows.iter()
            .map(|r| {
                let e = || q("read a worker");
                let pid: i64 = r.try_get("pid").map_err(e())?;
                let done: i64 = r.try_get("chunks_done").map_err(e())?;
                let stopped: i64 = r.try_get("stopped").map_err(e())?;
                Ok(WorkerRow {
                    info: WorkerInfo {
                        id: r.try_get("id").map_err(e())?,
                        host: r.try_get("host").map_err(e())?,
                        pid: pid as u32,
                        device: r.try_get("device").map_err(e())?,
                        engine: r.try_get("engine").map_err(e())?,
                    },
                    heartbeat_ms: r.try_get("heartbeat_ms").map_err(e())?,
                    chunks_done: done as u64,
                    audio_seconds: r.try_get("audio_seconds").map_err(e())?,
                    busy_seconds: r.try_get("busy_seconds").map_err(e())?,
                    stopped: stopped != 0,
                })
            })
            .collect()
    }

    pub(super) async fn claim(&self, worker_id: &str, fingerprint: &str, n: u32, lease_ms: i64) -> Result<Vec<Claim>> {
        let now = now_ms();
        let token = new_token(worker_id);
        let rows = sqlx::query(CLAIM_SQL)
            .bind(worker_id)
            .bind(&token)
            .bind(now + lease_ms)
            .bind(now)
            .bind(fingerprint)
            .bind(n as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(q("claim chunks"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let e = || q("read a claim");
            let attempts: i64 = r.try_get("attempts").map_err(e())?;
            let chapter: i64 = r.try_get("chapter").map_err(e())?;
            let idx: i64 = r.try_get("idx").map_err(e())?;
            let render_id: i64 = r.try_get("render_id").map_err(e())?;
            out.push((
                (render_id, chapter, idx),
                Claim {
                    chunk_id: r.try_get("id").map_err(e())?,
                    render_id,
                    store_key: r.try_get("store_key").map_err(e())?,
                    request: r.try_get("request").map_err(e())?,
                    lease_token: token.clone(),
                    attempts: attempts as u32,
                    audio_dir: r
                        .try_get::<Option<String>, _>("audio_dir")
                        .map_err(e())?
                        .map(PathBuf::from),
                },
            ));
        }
        out.sort_by_key(|(k, _)| *k);
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }

    pub(super) async fn complete_batch(
        &self,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> Result<Vec<Outcome>> {
        // One item (the common case): one atomic statement, one round trip. Several: one transaction.
        if let [(claim, audio)] = items {
            let done = Self::complete_one(&self.pool, claim, audio, worker_id, busy_seconds).await?;
            return Ok(vec![if done { Outcome::Recorded } else { Outcome::LeaseLost }]);
        }
        let mut tx = self.pool.begin().await.map_err(q("begin a completion"))?;
        let mut outcomes = Vec::with_capacity(items.len());
        let mut first = true;
        for (claim, audio) in items {
            // The batch's engine time is counted once, with its first recorded item.
            let busy = if first { busy_seconds } else { 0.0 };
            let done = Self::complete_one(&mut *tx, claim, audio, worker_id, busy).await?;
            first &= !done;
            outcomes.push(if done { Outcome::Recorded } else { Outcome::LeaseLost });
        }
        tx.commit().await.map_err(q("commit a completion"))?;
        Ok(outcomes)
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
        E: sqlx::Executor<'e, Database = sqlx::Postgres>,
    {
        let now = now_ms();
        let seconds = audio.seconds();
        let bytes = encode_samples(&audio.samples);
        let digest = blake3::hash(&bytes).to_hex().to_string();
        let (data, path) = match &claim.audio_dir {
            Some(dir) => {
                let path = write_audio_file(dir, &digest, &claim.lease_token, &bytes).map_err(|source| {
                    StoreError::AudioFile {
                        path: audio_file(dir, &digest),
                        source,
                    }
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

    pub(super) async fn fail(&self, claim: &Claim, error: &str, retry_after_ms: i64) -> Result<FailOutcome> {
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE chunks SET attempts = attempts + 1, last_error = $3, lease_owner = NULL, lease_token = NULL,
                 lease_expires = NULL, retry_after = $4, updated_ms = $5,
                 status = CASE WHEN attempts + 1 >= (SELECT r.max_attempts FROM renders r WHERE r.id = chunks.render_id)
                               THEN 'failed' ELSE 'pending' END
             WHERE id = $1 AND lease_token = $2 AND status = 'leased'
             RETURNING status",
        )
        .bind(claim.chunk_id)
        .bind(&claim.lease_token)
        .bind(error)
        .bind(now + retry_after_ms)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("record a failure"))?;
        Ok(match row {
            None => FailOutcome::LeaseLost,
            Some(r) => {
                let status: String = r.try_get(0).map_err(q("read a failure"))?;
                if status == "failed" {
                    FailOutcome::Failed
                } else {
                    FailOutcome::Retrying
                }
            }
        })
    }

    pub(super) async fn release(&self, claim: &Claim) -> Result<Outcome> {
        let n = sqlx::query(
            "UPDATE chunks SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'leased'",
        )
        .bind(claim.chunk_id)
        .bind(&claim.lease_token)
        .execute(&self.pool)
        .await
        .map_err(q("release a lease"))?
        .rows_affected();
        Ok(if n == 0 { Outcome::LeaseLost } else { Outcome::Recorded })
    }

    pub(super) async fn progress(&self, render_id: i64) -> Result<Vec<ChapterProgress>> {
        let rows = sqlx::query(
            "SELECT ch.idx AS idx, ch.title AS title, COUNT(c.id) AS total,
                 COUNT(c.id) FILTER (WHERE c.status = 'done') AS done,
                 COUNT(c.id) FILTER (WHERE c.status = 'pending') AS pending,
                 COUNT(c.id) FILTER (WHERE c.status = 'leased') AS leased,
                 COUNT(c.id) FILTER (WHERE c.status = 'failed') AS failed,
                 COALESCE(SUM(c.duration) FILTER (WHERE c.status = 'done'), 0)::float8 AS secs
             FROM chapters ch LEFT JOIN chunks c ON c.render_id = ch.render_id AND c.chapter = ch.idx
             WHERE ch.render_id = $1 GROUP BY ch.idx, ch.title ORDER BY ch.idx",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("read progress"))?;
        rows.iter()
            .map(|r| {
                let g = |name: &str| -> Result<u64> {
                    let v: i64 = r.try_get(name).map_err(q("read progress"))?;
                    Ok(v as u64)
                };
                let idx: i64 = r.try_get("idx").map_err(q("read progress"))?;
                Ok(ChapterProgress {
                    index: idx as u32,
                    title: r.try_get("title").map_err(q("read progress"))?,
                    total: g("total")?,
                    done: g("done")?,
                    pending: g("pending")?,
                    leased: g("leased")?,
                    failed: g("failed")?,
                    audio_seconds: r.try_get("secs").map_err(q("read progress"))?,
                })
            })
            .collect()
    }

    pub(super) async fn failed_chunks(&self, render_id: i64) -> Result<Vec<FailedChunk>> {
        let rows = sqlx::query(
            "SELECT chapter, idx, attempts, COALESCE(last_error, '') AS err FROM chunks
             WHERE render_id = $1 AND status = 'failed' ORDER BY chapter, idx",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("list failed chunks"))?;
        rows.iter()
            .map(|r| {
                let e = || q("read a failed chunk");
                let chapter: i64 = r.try_get("chapter").map_err(e())?;
                let idx: i64 = r.try_get("idx").map_err(e())?;
                let attempts: i64 = r.try_get("attempts").map_err(e())?;
                Ok(FailedChunk {
                    chapter: chapter as u32,
                    index: idx as u32,
                    attempts: attempts as u32,
                    error: r.try_get("err").map_err(e())?,
                })
            })
            .collect()
    }

    pub(super) async fn chunk_states(&self, render_id: i64) -> Result<Vec<ChunkState>> {
        let rows = sqlx::query(
            "SELECT chapter, idx, status, attempts, completions, store_key, lease_owner FROM chunks
             WHERE render_id = $1 ORDER BY chapter, idx",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("list chunks"))?;
        rows.iter()
            .map(|r| {
                let e = || q("read a chunk");
                let chapter: i64 = r.try_get("chapter").map_err(e())?;
                let idx: i64 = r.try_get("idx").map_err(e())?;
                let attempts: i64 = r.try_get("attempts").map_err(e())?;
                let completions: i64 = r.try_get("completions").map_err(e())?;
                Ok(ChunkState {
                    chapter: chapter as u32,
                    index: idx as u32,
                    status: r.try_get("status").map_err(e())?,
                    attempts: attempts as u32,
                    completions: completions as u32,
                    store_key: r.try_get("store_key").map_err(e())?,
                    lease_owner: r.try_get("lease_owner").map_err(e())?,
                })
            })
            .collect()
    }

    pub(super) async fn audio(&self, key: &str) -> Result<Option<StoredAudio>> {
        let row = sqlx::query("SELECT sample_rate, format, digest, data, path FROM audio WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("read audio"))?;
        let Some(r) = row else { return Ok(None) };
        let e = || q("read audio");
        let rate: i64 = r.try_get("sample_rate").map_err(e())?;
        let format: String = r.try_get("format").map_err(e())?;
        if format != "f32le" {
            return Err(StoreError::CorruptAudio {
                key: key.into(),
                why: format!("unknown format `{format}`"),
            });
        }
        let data: Option<Vec<u8>> = r.try_get("data").map_err(e())?;
        let data = match data {
            Some(d) => d,
            None => {
                let path: Option<String> = r.try_get("path").map_err(e())?;
                let path = PathBuf::from(path.unwrap_or_default());
                let digest: String = r.try_get("digest").map_err(e())?;
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
                bytes
            }
        };
        Ok(Some(StoredAudio {
            sample_rate: rate as u32,
            samples: decode_samples(key, &data)?,
        }))
    }

    pub(super) async fn has_work(&self, fingerprint: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM chunks c
             WHERE c.status IN ('pending', 'leased')
               AND c.render_id IN (SELECT r.id FROM renders r WHERE r.fingerprint = $1))",
        )
        .bind(fingerprint)
        .fetch_one(&self.pool)
        .await
        .map_err(q("look for work"))?;
        row.try_get(0).map_err(q("look for work"))
    }

    pub(super) async fn other_work(&self, fingerprint: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT r.name, r.fingerprint FROM renders r
             WHERE r.fingerprint <> $1
               AND EXISTS (SELECT 1 FROM chunks c WHERE c.render_id = r.id AND c.status IN ('pending', 'leased'))
             ORDER BY r.id",
        )
        .bind(fingerprint)
        .fetch_all(&self.pool)
        .await
        .map_err(q("look for other renders"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(q("read a render"))?,
                    r.try_get(1).map_err(q("read a render"))?,
                ))
            })
            .collect()
    }
}
