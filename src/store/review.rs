//! Proof-listening state (`ws-book review`): the audio of every take (`take_audio`), a reviewer's chosen take
//! and approval per chunk (`review`). Everything is keyed by the chunk's store key, so a choice or an approval
//! holds exactly while the chunk's content is unchanged, and survives renders, resumes and farm runs. Shared
//! SQL for both back ends, like `db.rs`; the facade methods are at the end.
//!
//! A take's audio is addressed like chunk audio, by a key: [`take_audio_key`] (`STOREKEY#takeN`), which
//! [`Store::audio`] reads from `take_audio`. Store keys are hex digests, so the two never collide. Owns no
//! render logic; must never import render, worker, engine, publish or cli.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::db::Db;
use super::dialect::{begin_write, q, Dialect, Fields};
use super::takes::TakeRow;
use super::{decode_samples, encode_samples, now_ms, Backend, Result, Store, StoreError, StoredAudio};

/// The audio key of take `take` of the chunk whose store key is `key`.
pub fn take_audio_key(key: &str, take: u32) -> String {
    format!("{key}#take{take}")
}

/// `STOREKEY#takeN` → (store key, N); any other key → `None`.
pub fn parse_take_audio_key(key: &str) -> Option<(&str, u32)> {
    let (k, t) = key.split_once("#take")?;
    Some((k, t.parse().ok()?))
}

/// A reviewer's decisions about one chunk (by store key).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReviewState {
    /// The take to use instead of the chunk's own audio; `None`: the chunk's audio (QA's choice).
    pub chosen_take: Option<u32>,
    /// Approved by a reviewer.
    pub approved: bool,
}

/// Whether a chunk is still flagged: QA flagged it (no take passed), and no reviewer approved it or chose a
/// take that passed. The one rule the report, `status` and the review page share.
pub fn still_flagged(takes: &[TakeRow], state: Option<&ReviewState>) -> bool {
    let approved = state.is_some_and(|s| s.approved);
    let picked_passes = state
        .and_then(|s| s.chosen_take)
        .and_then(|k| takes.iter().find(|t| t.take == k))
        .is_some_and(|t| t.passed);
    takes.iter().any(|t| t.flagged) && !approved && !picked_passes
}

impl<D: Dialect> Db<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Type<D> + Encode<'a, D>,
    i64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    Option<i64>: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    f64: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    Option<f64>: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    String: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
    Vec<u8>: Type<D> + for<'a> Encode<'a, D> + for<'r> Decode<'r, D>,
{
    /// Stores the audio of a take (kept if it is already there: a take's audio is a function of its seed).
    pub(super) async fn put_take_audio(&self, key: &str, take: u32, audio: &StoredAudio) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(q("store a take's audio"))?;
        Self::insert_take_audio(&mut conn, key, take, audio).await
    }

    async fn insert_take_audio(conn: &mut D::Connection, key: &str, take: u32, audio: &StoredAudio) -> Result<()> {
        let bytes = encode_samples(&audio.samples);
        let digest = blake3::hash(&bytes).to_hex().to_string();
        sqlx::query(
            "INSERT INTO take_audio (key, take, sample_rate, samples, digest, data, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key, take) DO NOTHING",
        )
        .bind(key)
        .bind(i64::from(take))
        .bind(i64::from(audio.sample_rate))
        .bind(audio.samples.len() as i64)
        .bind(digest)
        .bind(bytes)
        .bind(now_ms())
        .execute(conn)
        .await
        .map_err(q("store a take's audio"))?;
        Ok(())
    }

    /// The audio of a take, checked against its digest.
    pub(super) async fn take_audio(&self, key: &str, take: u32) -> Result<Option<StoredAudio>> {
        let row = sqlx::query("SELECT sample_rate, digest, data FROM take_audio WHERE key = $1 AND take = $2")
            .bind(key)
            .bind(i64::from(take))
            .fetch_optional(&self.pool)
            .await
            .map_err(q("read a take's audio"))?;
        let Some(r) = row else { return Ok(None) };
        let f = Fields::new(&r, "read a take's audio");
        let bytes: Vec<u8> = f.get("data")?;
        let digest: String = f.get("digest")?;
        let full = take_audio_key(key, take);
        if blake3::hash(&bytes).to_hex().as_str() != digest {
            return Err(StoreError::CorruptAudio {
                key: full,
                why: "the stored take's bytes do not match their blake3 digest".into(),
            });
        }
        Ok(Some(StoredAudio {
            sample_rate: f.u32("sample_rate")?,
            samples: decode_samples(&full, &bytes)?,
        }))
    }

    /// Appends one take (its row and audio) to a chunk's takes, in one transaction; its number must be new.
    pub(super) async fn add_take(&self, key: &str, row: &TakeRow, audio: &StoredAudio) -> Result<()> {
        let mut tx = begin_write(&self.pool, "begin adding a take").await?;
        Self::insert_take_audio(&mut tx, key, row.take, audio).await?;
        Self::insert_take(&mut tx, key, row).await?;
        tx.commit().await.map_err(q("commit a take"))?;
        Ok(())
    }

    /// The take numbers with stored audio of a key, ascending.
    pub(super) async fn take_numbers(&self, key: &str) -> Result<Vec<u32>> {
        let rows = sqlx::query("SELECT take FROM take_audio WHERE key = $1 ORDER BY take")
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(q("list takes"))?;
        rows.iter().map(|r| Fields::new(r, "list takes").u32("take")).collect()
    }

    /// The take numbers with stored audio of every chunk of a render that has any, by store key, ascending.
    pub(super) async fn render_take_numbers(&self, render_id: i64) -> Result<BTreeMap<String, Vec<u32>>> {
        let rows = sqlx::query(
            "SELECT t.key AS key, t.take AS take FROM take_audio t
             WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.render_id = $1 AND c.store_key = t.key)
             ORDER BY t.key, t.take",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("list takes"))?;
        let mut out: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for r in &rows {
            let f = Fields::new(r, "list takes");
            out.entry(f.get("key")?).or_default().push(f.u32("take")?);
        }
        Ok(out)
    }

    /// Sets (or, with `None`, clears) the chosen take of a key.
    pub(super) async fn choose_take(&self, key: &str, take: Option<u32>) -> Result<()> {
        sqlx::query(
            "INSERT INTO review (key, chosen_take, approved, updated_ms) VALUES ($1, $2, 0, $3)
             ON CONFLICT (key) DO UPDATE SET chosen_take = $2, updated_ms = $3",
        )
        .bind(key)
        .bind(take.map(i64::from))
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(q("choose a take"))?;
        Ok(())
    }

    /// Approves (or un-approves) the chunks of these keys, in one transaction.
    pub(super) async fn approve(&self, keys: &[String], approved: bool) -> Result<()> {
        let mut tx = begin_write(&self.pool, "begin approving").await?;
        for key in keys {
            sqlx::query(
                "INSERT INTO review (key, chosen_take, approved, updated_ms) VALUES ($1, NULL, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET approved = $2, updated_ms = $3",
            )
            .bind(key.as_str())
            .bind(i64::from(approved))
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(q("approve a chunk"))?;
        }
        tx.commit().await.map_err(q("commit approvals"))?;
        Ok(())
    }

    /// The review state of every chunk of a render that has one, by store key.
    pub(super) async fn review_states(&self, render_id: i64) -> Result<BTreeMap<String, ReviewState>> {
        let rows = sqlx::query(
            "SELECT r.key AS key, r.chosen_take AS chosen_take, r.approved AS approved FROM review r
             WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.render_id = $1 AND c.store_key = r.key)",
        )
        .bind(render_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("read review state"))?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let f = Fields::new(r, "read review state");
            let chosen: Option<i64> = f.get("chosen_take")?;
            out.insert(
                f.get::<String>("key")?,
                ReviewState {
                    chosen_take: chosen.map(|t| t as u32),
                    approved: f.get::<i64>("approved")? != 0,
                },
            );
        }
        Ok(out)
    }
}

impl Store {
    /// Stores the audio of take `take` of the chunk keyed `key` (kept if already there).
    pub async fn put_take_audio(&self, key: &str, take: u32, audio: &StoredAudio) -> Result<()> {
        on_backend!(self, s => s.put_take_audio(key, take, audio).await)
    }

    /// Appends a take (row + audio) to a chunk's takes; its number must be new (an existing one is kept).
    pub async fn add_take(&self, key: &str, row: &TakeRow, audio: &StoredAudio) -> Result<()> {
        on_backend!(self, s => s.add_take(key, row, audio).await)
    }

    /// The take numbers with stored audio of a chunk's key, ascending.
    pub async fn take_numbers(&self, key: &str) -> Result<Vec<u32>> {
        on_backend!(self, s => s.take_numbers(key).await)
    }

    /// The take numbers with stored audio of a render's chunks, by store key (chunks without takes absent).
    pub async fn render_take_numbers(&self, render_id: i64) -> Result<BTreeMap<String, Vec<u32>>> {
        on_backend!(self, s => s.render_take_numbers(render_id).await)
    }

    /// A reviewer's choice of take for a chunk's key (`None`: back to the chunk's own audio). The take's
    /// audio must exist: refused with [`StoreError::Invalid`] otherwise.
    pub async fn choose_take(&self, key: &str, take: Option<u32>) -> Result<()> {
        if let Some(t) = take {
            if !self.take_numbers(key).await?.contains(&t) {
                return Err(StoreError::Invalid(format!("chunk {key} has no take {t}")));
            }
        }
        on_backend!(self, s => s.choose_take(key, take).await)
    }

    /// Approves (or un-approves) the chunks of these store keys, in one transaction.
    pub async fn approve(&self, keys: &[String], approved: bool) -> Result<()> {
        on_backend!(self, s => s.approve(keys, approved).await)
    }

    /// The review state of a render's chunks that have one, by store key.
    pub async fn review_states(&self, render_id: i64) -> Result<BTreeMap<String, ReviewState>> {
        on_backend!(self, s => s.review_states(render_id).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_audio_keys_round_trip_and_plain_keys_are_not_takes() {
        let k = take_audio_key("ab12", 3);
        assert_eq!(k, "ab12#take3");
        assert_eq!(parse_take_audio_key(&k), Some(("ab12", 3)));
        assert_eq!(parse_take_audio_key("ab12"), None);
        assert_eq!(parse_take_audio_key("ab12#takex"), None);
    }
}
