//! Every store operation, written once: [`Db`] is generic over the back end's [`Dialect`], which supplies
//! only what really differs between SQLite and PostgreSQL.
//!
//! The shared SQL uses `$N` placeholders: PostgreSQL's own, and accepted by sqlx's SQLite driver, which
//! binds `$N` by number like `?N`. Everything else shared is plain SQL both engines run the same way
//! (`FILTER` aggregates, `CAST(… AS DOUBLE PRECISION)`, `EXISTS`, `ON CONFLICT … DO UPDATE`, `RETURNING`).
//!
//! Owns: the shared statements, their transactions and row decoding. Imports only sqlx, the facade's
//! types (`super`) and the dialect contract; it must never import render, worker, engine, publish or cli,
//! nor name a back end.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::dialect::{begin_write, q, Dialect, Fields};
use super::{
    decode_samples, new_token, now_ms, ChapterProgress, ChunkState, Claim, FailOutcome, FailedChunk, Outcome,
    PlannedChunk, RenderInfo, RenderSpec, Result, StoreError, StoredAudio, SyncReport, WorkerInfo, WorkerRow,
};

/// A store on one back end: a connection pool, cheap to clone.
#[derive(Debug)]
pub(super) struct Db<D: Database> {
    pub(super) pool: Pool<D>,
}

impl<D: Database> Clone for Db<D> {
    fn clone(&self) -> Self {
        Db {
            pool: self.pool.clone(),
        }
    }
}

/// A count (`COUNT(*)`) of the chunks of render `$1`.
const COUNT_DONE: &str = "SELECT COUNT(*) FROM chunks WHERE render_id = $1 AND status = 'done'";
/// See [`COUNT_DONE`].
const COUNT_QUEUED: &str = "SELECT COUNT(*) FROM chunks WHERE render_id = $1 AND status IN ('pending', 'leased')";

/// The types the shared statements bind and read must be sqlx types of the back end; the bounds are
/// stated once, here, for the whole implementation (Rust does not imply them from `Dialect`).
impl<D: Dialect> Db<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Type<D> + Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    f64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    bool: Type<D> + for<'r> Decode<'r, D>,
    String: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    Option<String>: for<'a> Encode<'a, D>,
{
    /// Closes the pool.
    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    /// Creates or updates the render and brings its chunks in line with the plan, in one transaction.
    pub(super) async fn sync_plan(
        &self,
        spec: &RenderSpec,
        chapters: &[String],
        chunks: &[PlannedChunk],
    ) -> Result<SyncReport> {
        let now = now_ms();
        let mut tx = begin_write(&self.pool, "begin a plan sync").await?;
        let render_id = Self::record_render(&mut tx, spec, now).await?;
        Self::sync_chapters(&mut tx, render_id, chapters).await?;
        let dropped = Self::drop_vanished_chunks(&mut tx, render_id, chapters.len(), chunks).await?;
        let changed = dropped + Self::queue_chunks(&mut tx, render_id, chunks, now).await?;
        let already_done = Self::count(&mut tx, COUNT_DONE, render_id, "count done chunks").await?;
        let reused = sqlx::query(
            "UPDATE chunks SET status = 'done', updated_ms = $2,
                 duration = (SELECT CAST(a.samples AS DOUBLE PRECISION) / a.sample_rate
                             FROM audio a WHERE a.key = chunks.store_key)
             WHERE render_id = $1 AND status = 'pending'
               AND EXISTS (SELECT 1 FROM audio a WHERE a.key = chunks.store_key)",
        )
        .bind(render_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(q("reuse stored audio"))?;
        let reused = D::rows_affected(&reused);
        let queued = Self::count(&mut tx, COUNT_QUEUED, render_id, "count queued chunks").await?;
        tx.commit().await.map_err(q("commit a plan sync"))?;
        D::after_plan_sync(&self.pool, changed + reused).await?;
        Ok(SyncReport {
            render_id,
            total: chunks.len() as u64,
            already_done: already_done as u64,
            reused,
            queued: queued as u64,
            dropped,
        })
    }

    /// Creates or updates the render row ([`Dialect::RECORD_RENDER`]) and locks it for the plan sync.
    async fn record_render(conn: &mut D::Connection, spec: &RenderSpec, now: i64) -> Result<i64> {
        let row = sqlx::query(D::RECORD_RENDER)
            .bind(spec.name.as_str())
            .bind(spec.title.as_str())
            .bind(spec.author.as_str())
            .bind(spec.engine.as_str())
            .bind(spec.fingerprint.as_str())
            .bind(spec.max_attempts as i64)
            .bind(spec.audio_dir.as_ref().map(|p| p.display().to_string()))
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(q("record the render"))?;
        let render_id = row.try_get(0).map_err(q("read the render id"))?;
        D::lock_render(conn, render_id).await?;
        Ok(render_id)
    }

    /// The render's chapters become `chapters`.
    async fn sync_chapters(conn: &mut D::Connection, render_id: i64, chapters: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM chapters WHERE render_id = $1 AND idx >= $2")
            .bind(render_id)
            .bind(chapters.len() as i64)
            .execute(&mut *conn)
            .await
            .map_err(q("drop vanished chapters"))?;
        for (i, title) in chapters.iter().enumerate() {
            sqlx::query(
                "INSERT INTO chapters (render_id, idx, title) VALUES ($1, $2, $3)
                 ON CONFLICT (render_id, idx) DO UPDATE SET title = excluded.title",
            )
            .bind(render_id)
            .bind(i as i64)
            .bind(title.as_str())
            .execute(&mut *conn)
            .await
            .map_err(q("record a chapter"))?;
        }
        Ok(())
    }

    /// Drops the chunks at positions the plan no longer has; returns how many.
    async fn drop_vanished_chunks(
        conn: &mut D::Connection,
        render_id: i64,
        n_chapters: usize,
        chunks: &[PlannedChunk],
    ) -> Result<u64> {
        let result = sqlx::query("DELETE FROM chunks WHERE render_id = $1 AND chapter >= $2")
            .bind(render_id)
            .bind(n_chapters as i64)
            .execute(&mut *conn)
            .await
            .map_err(q("drop vanished chunks"))?;
        let mut dropped = D::rows_affected(&result);
        let mut per_chapter = vec![0i64; n_chapters];
        for c in chunks {
            if let Some(n) = per_chapter.get_mut(c.chapter as usize) {
                *n = (*n).max(c.index as i64 + 1);
            }
        }
        for (ch, n) in per_chapter.iter().enumerate() {
            let result = sqlx::query("DELETE FROM chunks WHERE render_id = $1 AND chapter = $2 AND idx >= $3")
                .bind(render_id)
                .bind(ch as i64)
                .bind(*n)
                .execute(&mut *conn)
                .await
                .map_err(q("drop vanished chunks"))?;
            dropped += D::rows_affected(&result);
        }
        Ok(dropped)
    }

    /// Queues the plan's chunks: new positions, and those whose key changed or that failed, start over.
    /// Returns the rows inserted or reset.
    async fn queue_chunks(conn: &mut D::Connection, render_id: i64, chunks: &[PlannedChunk], now: i64) -> Result<u64> {
        let mut changed = 0;
        for c in chunks {
            let result = sqlx::query(
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
            .bind(c.plan_key.as_str())
            .bind(c.store_key.as_str())
            .bind(c.request.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(q("queue a chunk"))?;
            changed += D::rows_affected(&result);
        }
        Ok(changed)
    }

    /// The single integer a `sql` of render `$1` returns (`action` names both the query and the read).
    async fn count(conn: &mut D::Connection, sql: &'static str, render_id: i64, action: &'static str) -> Result<i64> {
        let row = sqlx::query(sql)
            .bind(render_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(q(action))?;
        row.try_get(0).map_err(q(action))
    }

    fn render_from_row(row: &D::Row) -> Result<RenderInfo> {
        let f = Fields::new(row, "read a render");
        let outputs: String = f.get("outputs")?;
        Ok(RenderInfo {
            id: f.get("id")?,
            name: f.get("name")?,
            title: f.get("title")?,
            author: f.get("author")?,
            engine: f.get("engine")?,
            fingerprint: f.get("fingerprint")?,
            outputs: serde_json::from_str(&outputs).unwrap_or(serde_json::Value::Null),
        })
    }

    /// The render of this name.
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

    /// All renders.
    pub(super) async fn renders(&self) -> Result<Vec<RenderInfo>> {
        let rows = sqlx::query("SELECT * FROM renders ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(q("list renders"))?;
        rows.iter().map(Self::render_from_row).collect()
    }

    /// Records the outputs written by a render.
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

    /// Registers (or re-registers) a worker ([`Dialect::REGISTER_WORKER`]).
    pub(super) async fn register_worker(&self, w: &WorkerInfo) -> Result<()> {
        sqlx::query(D::REGISTER_WORKER)
            .bind(w.id.as_str())
            .bind(w.host.as_str())
            .bind(w.pid as i64)
            .bind(w.device.as_str())
            .bind(w.engine.as_str())
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(q("register a worker"))?;
        Ok(())
    }

    /// Records a heartbeat and extends the worker's leases ([`Dialect::heartbeat`]).
    pub(super) async fn heartbeat(&self, worker_id: &str, lease_ms: i64) -> Result<u64> {
        D::heartbeat(&self.pool, worker_id, lease_ms).await
    }

    /// Marks a worker stopped and returns its leased chunks to the queue, in one transaction.
    pub(super) async fn stop_worker(&self, worker_id: &str) -> Result<u64> {
        let mut tx = begin_write(&self.pool, "begin a worker stop").await?;
        let released = sqlx::query(
            "UPDATE chunks SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires = NULL
             WHERE lease_owner = $1 AND status = 'leased'",
        )
        .bind(worker_id)
        .execute(&mut *tx)
        .await
        .map_err(q("release a worker's leases"))?;
        sqlx::query("UPDATE workers SET stopped = 1, heartbeat_ms = $2 WHERE id = $1")
            .bind(worker_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(q("mark a worker stopped"))?;
        tx.commit().await.map_err(q("commit a worker stop"))?;
        Ok(D::rows_affected(&released))
    }

    /// Every registered worker with its statistics.
    pub(super) async fn workers(&self) -> Result<Vec<WorkerRow>> {
        let rows = sqlx::query("SELECT * FROM workers ORDER BY started_ms, id")
            .fetch_all(&self.pool)
            .await
            .map_err(q("list workers"))?;
        rows.iter()
            .map(|r| {
                let f = Fields::new(r, "read a worker");
                Ok(WorkerRow {
                    info: WorkerInfo {
                        id: f.get("id")?,
                        host: f.get("host")?,
                        pid: f.u32("pid")?,
                        device: f.get("device")?,
                        engine: f.get("engine")?,
                    },
                    heartbeat_ms: f.get("heartbeat_ms")?,
                    chunks_done: f.get::<i64>("chunks_done")? as u64,
                    audio_seconds: f.get("audio_seconds")?,
                    busy_seconds: f.get("busy_seconds")?,
                    stopped: f.get::<i64>("stopped")? != 0,
                })
            })
            .collect()
    }

    /// Claims up to `n` chunks in one statement ([`Dialect::CLAIM`]), returned in book order.
    pub(super) async fn claim(&self, worker_id: &str, fingerprint: &str, n: u32, lease_ms: i64) -> Result<Vec<Claim>> {
        let now = now_ms();
        let token = new_token(worker_id);
        let rows = sqlx::query(D::CLAIM)
            .bind(worker_id)
            .bind(token.as_str())
            .bind(now + lease_ms)
            .bind(now)
            .bind(fingerprint)
            .bind(n as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(q("claim chunks"))?;
        let mut out = rows
            .iter()
            .map(|r| {
                let f = Fields::new(r, "read a claim");
                let render_id: i64 = f.get("render_id")?;
                let claim = Claim {
                    chunk_id: f.get("id")?,
                    render_id,
                    store_key: f.get("store_key")?,
                    request: f.get("request")?,
                    lease_token: token.clone(),
                    attempts: f.u32("attempts")?,
                    audio_dir: D::claim_audio_dir(r)?,
                };
                Ok(((render_id, f.get::<i64>("chapter")?, f.get::<i64>("idx")?), claim))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|(k, _)| *k);
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }

    /// Stores the audio and marks the chunks done ([`Dialect::complete_batch`]).
    pub(super) async fn complete_batch(
        &self,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> Result<Vec<Outcome>> {
        D::complete_batch(&self.pool, items, worker_id, busy_seconds).await
    }

    /// Records a failed attempt in one statement, fenced by the lease token.
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
        .bind(claim.lease_token.as_str())
        .bind(error)
        .bind(now + retry_after_ms)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("record a failure"))?;
        let Some(r) = row else {
            return Ok(FailOutcome::LeaseLost);
        };
        let status: String = r.try_get(0).map_err(q("read a failure"))?;
        Ok(if status == "failed" {
            FailOutcome::Failed
        } else {
            FailOutcome::Retrying
        })
    }

    /// Returns a claim to the queue without counting an attempt, fenced by the lease token.
    pub(super) async fn release(&self, claim: &Claim) -> Result<Outcome> {
        let result = sqlx::query(
            "UPDATE chunks SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'leased'",
        )
        .bind(claim.chunk_id)
        .bind(claim.lease_token.as_str())
        .execute(&self.pool)
        .await
        .map_err(q("release a lease"))?;
        Ok(if D::rows_affected(&result) == 0 {
            Outcome::LeaseLost
        } else {
            Outcome::Recorded
        })
    }

    /// Rows of `sql` about render `$1`, each read by `read` (`action` names the query).
    async fn render_rows<T>(
        &self,
        sql: &'static str,
        render_id: i64,
        action: &'static str,
        read: impl Fn(&D::Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = sqlx::query(sql)
            .bind(render_id)
            .fetch_all(&self.pool)
            .await
            .map_err(q(action))?;
        rows.iter().map(read).collect()
    }

    /// Per-chapter counts of a render.
    pub(super) async fn progress(&self, render_id: i64) -> Result<Vec<ChapterProgress>> {
        let sql = "SELECT ch.idx AS idx, ch.title AS title, COUNT(c.id) AS total,
                 COUNT(c.id) FILTER (WHERE c.status = 'done') AS done,
                 COUNT(c.id) FILTER (WHERE c.status = 'pending') AS pending,
                 COUNT(c.id) FILTER (WHERE c.status = 'leased') AS leased,
                 COUNT(c.id) FILTER (WHERE c.status = 'failed') AS failed,
                 CAST(COALESCE(SUM(c.duration) FILTER (WHERE c.status = 'done'), 0) AS DOUBLE PRECISION) AS secs
             FROM chapters ch LEFT JOIN chunks c ON c.render_id = ch.render_id AND c.chapter = ch.idx
             WHERE ch.render_id = $1 GROUP BY ch.idx, ch.title ORDER BY ch.idx";
        self.render_rows(sql, render_id, "read progress", |r| {
            let f = Fields::new(r, "read progress");
            let count = |name: &str| -> Result<u64> { Ok(f.get::<i64>(name)? as u64) };
            Ok(ChapterProgress {
                index: f.u32("idx")?,
                title: f.get("title")?,
                total: count("total")?,
                done: count("done")?,
                pending: count("pending")?,
                leased: count("leased")?,
                failed: count("failed")?,
                audio_seconds: f.get("secs")?,
            })
        })
        .await
    }

    /// Chunks failed for good.
    pub(super) async fn failed_chunks(&self, render_id: i64) -> Result<Vec<FailedChunk>> {
        let sql = "SELECT chapter, idx, attempts, COALESCE(last_error, '') AS err FROM chunks
             WHERE render_id = $1 AND status = 'failed' ORDER BY chapter, idx";
        self.render_rows(sql, render_id, "list failed chunks", |r| {
            let f = Fields::new(r, "read a failed chunk");
            Ok(FailedChunk {
                chapter: f.u32("chapter")?,
                index: f.u32("idx")?,
                attempts: f.u32("attempts")?,
                error: f.get("err")?,
            })
        })
        .await
    }

    /// Every chunk row of a render, in book order.
    pub(super) async fn chunk_states(&self, render_id: i64) -> Result<Vec<ChunkState>> {
        let sql = "SELECT chapter, idx, status, attempts, completions, store_key, lease_owner, duration FROM chunks
             WHERE render_id = $1 ORDER BY chapter, idx";
        self.render_rows(sql, render_id, "list chunks", |r| {
            let f = Fields::new(r, "read a chunk");
            Ok(ChunkState {
                chapter: f.u32("chapter")?,
                index: f.u32("idx")?,
                status: f.get("status")?,
                attempts: f.u32("attempts")?,
                completions: f.u32("completions")?,
                store_key: f.get("store_key")?,
                lease_owner: f.get("lease_owner")?,
                duration: f.get("duration")?,
            })
        })
        .await
    }

    /// The stored audio of a key ([`Dialect::SELECT_AUDIO`], [`Dialect::audio_bytes`]).
    pub(super) async fn audio(&self, key: &str) -> Result<Option<StoredAudio>> {
        let row = sqlx::query(D::SELECT_AUDIO)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("read audio"))?;
        let Some(r) = row else { return Ok(None) };
        let f = Fields::new(&r, "read audio");
        let rate = f.u32("sample_rate")?;
        let format: String = f.get("format")?;
        if format != "f32le" {
            return Err(StoreError::CorruptAudio {
                key: key.into(),
                why: format!("unknown format `{format}`"),
            });
        }
        let bytes = D::audio_bytes(key, &r)?;
        // Damaged pages or files are caught here, never stitched into a book.
        let digest: String = f.get("digest")?;
        let actual = blake3::hash(&bytes).to_hex().to_string();
        if actual != digest {
            return Err(StoreError::CorruptAudio {
                key: key.into(),
                why: format!("the stored bytes have blake3 {actual}, {digest} was recorded when they were written"),
            });
        }
        Ok(Some(StoredAudio {
            sample_rate: rate,
            samples: decode_samples(key, &bytes)?,
        }))
    }

    /// The done chunks' store keys of a render whose audio is missing or damaged, with why, in key order.
    /// Reads every key's audio once (one chunk in memory at a time).
    pub(super) async fn damaged_audio(&self, render_id: i64) -> Result<Vec<(String, String)>> {
        let sql = "SELECT DISTINCT store_key FROM chunks WHERE render_id = $1 AND status = 'done' ORDER BY store_key";
        let keys = self
            .render_rows(sql, render_id, "list done chunks", |r| {
                Fields::new(r, "read a chunk").get::<String>("store_key")
            })
            .await?;
        let mut damaged = Vec::new();
        for key in keys {
            match self.audio(&key).await {
                Ok(Some(_)) => {}
                Ok(None) => damaged.push((key, "no stored audio".to_string())),
                Err(StoreError::CorruptAudio { why, .. }) => damaged.push((key, why)),
                Err(e) => return Err(e),
            }
        }
        Ok(damaged)
    }

    /// Stored audio no chunk of any render uses any more (after edits): (entries, seconds of audio).
    pub(super) async fn orphaned_audio(&self) -> Result<(u64, f64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CAST(samples AS DOUBLE PRECISION) / sample_rate), 0)
                 AS DOUBLE PRECISION) AS seconds
             FROM audio WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.store_key = audio.key)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("count unused audio"))?;
        let f = Fields::new(&row, "count unused audio");
        Ok((f.get::<i64>("n")?.max(0) as u64, f.get("seconds")?))
    }

    /// The database's consistency problems ([`Dialect::INTEGRITY_CHECK`]); empty when it is sound.
    pub(super) async fn integrity(&self) -> Result<Vec<String>> {
        let Some(sql) = D::INTEGRITY_CHECK else {
            return Ok(vec![]);
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(q("check the database's integrity"))?;
        let mut problems = Vec::new();
        for r in &rows {
            let line: String = r.try_get(0usize).map_err(q("check the database's integrity"))?;
            if line != "ok" {
                problems.push(line);
            }
        }
        Ok(problems)
    }

    /// Drops the stored audio of `key` and queues every done chunk with that key again (in one
    /// transaction). Returns the chunks queued.
    pub(super) async fn requeue_audio(&self, key: &str) -> Result<u64> {
        let mut tx = begin_write::<D>(&self.pool, "queue a damaged chunk again").await?;
        sqlx::query("DELETE FROM audio WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(q("drop damaged audio"))?;
        let n = sqlx::query(
            "UPDATE chunks SET status = 'pending', attempts = 0, lease_owner = NULL, lease_token = NULL,
                 lease_expires = NULL, retry_after = 0, duration = NULL,
                 last_error = 'stored audio was damaged; synthesised again', updated_ms = $2
             WHERE store_key = $1 AND status = 'done'",
        )
        .bind(key)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(q("queue a damaged chunk again"))?;
        tx.commit().await.map_err(q("queue a damaged chunk again"))?;
        Ok(D::rows_affected(&n))
    }

    /// Whether any chunk of any render with this fingerprint is pending or leased.
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

    /// Renders with pending or leased chunks whose engine fingerprint is not `fingerprint`.
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
