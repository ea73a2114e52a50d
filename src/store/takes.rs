//! QA takes: every checked take of a chunk (`takes` table), written before the chunk completes and read
//! back per render for the QA report and `status`. Shared SQL for both back ends, like `db.rs`.

use serde::Serialize;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::db::Db;
use super::dialect::{begin_write, q, Dialect, Fields};
use super::{now_ms, Result};

/// One checked take of a chunk, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeRow {
    /// Take number (0 = the chunk's own seed).
    pub take: u32,
    /// Its sampling seed.
    pub seed: u64,
    /// Word error rate against the chunk's text.
    pub wer: f64,
    /// Character error rate.
    pub cer: f64,
    /// Audio seconds.
    pub seconds: f64,
    /// How synthesis stopped: `end`, or `cap` (ran to its length cap).
    pub stop: String,
    /// The duration check: `ok`, `long`, `short`.
    pub duration: String,
    /// What speech recognition heard.
    pub transcript: String,
    /// The language it was checked in.
    pub language: String,
    /// Whether the take passed every check.
    pub passed: bool,
    /// Whether it is the chunk's audio.
    pub chosen: bool,
    /// Whether the chunk is flagged (no take passed); the same on every take of a chunk.
    pub flagged: bool,
    /// The speech recogniser (`name@digest`).
    pub asr: String,
    /// Cosine similarity of the take's speaker embedding to the voice's (voice drift), when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}

/// The takes of one chunk of a render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkTakes {
    /// Chapter index.
    pub chapter: u32,
    /// Chunk index in the chapter.
    pub index: u32,
    /// The chunk's store key.
    pub store_key: String,
    /// Its takes in order.
    pub takes: Vec<TakeRow>,
}

impl<D: Dialect> Db<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Type<D> + Encode<'a, D>,
    i64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    f64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    Option<f64>: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    String: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
{
    /// Replaces the takes of `key` in one transaction (idempotent: the same takes written twice are one set).
    pub(super) async fn record_takes(&self, key: &str, takes: &[TakeRow]) -> Result<()> {
        let mut tx = begin_write(&self.pool, "begin recording takes").await?;
        sqlx::query("DELETE FROM takes WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(q("replace takes"))?;
        for t in takes {
            Self::insert_take(&mut tx, key, t).await?;
        }
        tx.commit().await.map_err(q("commit takes"))?;
        Ok(())
    }

    /// Inserts one take row (kept if the take is already there).
    pub(super) async fn insert_take(conn: &mut D::Connection, key: &str, t: &TakeRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO takes (key, take, seed, wer, cer, seconds, stop, duration, transcript, language,
                 passed, chosen, flagged, asr, created_ms, similarity)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (key, take) DO NOTHING",
        )
        .bind(key)
        .bind(i64::from(t.take))
        .bind(t.seed.to_string())
        .bind(t.wer)
        .bind(t.cer)
        .bind(t.seconds)
        .bind(t.stop.as_str())
        .bind(t.duration.as_str())
        .bind(t.transcript.as_str())
        .bind(t.language.as_str())
        .bind(i64::from(t.passed))
        .bind(i64::from(t.chosen))
        .bind(i64::from(t.flagged))
        .bind(t.asr.as_str())
        .bind(now_ms())
        .bind(t.similarity)
        .execute(conn)
        .await
        .map_err(q("record a take"))?;
        Ok(())
    }

    /// The takes of every chunk of a render that has any, in book order.
    pub(super) async fn render_takes(&self, render_id: i64) -> Result<Vec<ChunkTakes>> {
        let rows = sqlx::query(
            "SELECT c.chapter AS chapter, c.idx AS idx, c.store_key AS store_key, t.take AS take, t.seed AS seed,
                    t.wer AS wer, t.cer AS cer, t.seconds AS seconds, t.stop AS stop, t.duration AS duration,
                    t.transcript AS transcript, t.language AS language, t.passed AS passed, t.chosen AS chosen,
                    t.flagged AS flagged, t.asr AS asr, t.similarity AS similarity
             FROM chunks c JOIN takes t ON t.key = c.store_key
             WHERE c.render_id = $1 ORDER BY c.chapter, c.idx, t.take",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("list takes"))?;
        let mut out: Vec<ChunkTakes> = Vec::new();
        for r in &rows {
            let f = Fields::new(r, "read a take");
            let (chapter, index) = (f.u32("chapter")?, f.u32("idx")?);
            let seed: String = f.get("seed")?;
            let take = TakeRow {
                take: f.u32("take")?,
                seed: seed.parse().unwrap_or(0),
                wer: f.get("wer")?,
                cer: f.get("cer")?,
                seconds: f.get("seconds")?,
                stop: f.get("stop")?,
                duration: f.get("duration")?,
                transcript: f.get("transcript")?,
                language: f.get("language")?,
                passed: f.get::<i64>("passed")? != 0,
                chosen: f.get::<i64>("chosen")? != 0,
                flagged: f.get::<i64>("flagged")? != 0,
                asr: f.get("asr")?,
                similarity: f.get("similarity")?,
            };
            match out.last_mut() {
                Some(c) if c.chapter == chapter && c.index == index => c.takes.push(take),
                _ => out.push(ChunkTakes {
                    chapter,
                    index,
                    store_key: f.get("store_key")?,
                    takes: vec![take],
                }),
            }
        }
        Ok(out)
    }
}
