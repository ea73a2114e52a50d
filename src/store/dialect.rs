//! The contract between the shared store operations (`db.rs`) and a back end: [`Dialect`] lists what
//! really differs between SQLite and PostgreSQL (the claim statement, write locking, the render row and
//! its audio folder, the heartbeat and completion statements, how audio bytes are read back). Also the
//! small helpers every store module uses: [`q`] (a sqlx error as [`StoreError::Query`]), [`begin_write`]
//! and [`Fields`] (named columns of a row).
//!
//! Owns no SQL of its own. Imports only sqlx and the facade's types (`super`); it must never import
//! render, worker, engine, publish or cli.

use std::future::Future;
use std::path::PathBuf;

use sqlx::{ColumnIndex, Database, Decode, Pool, Row, Transaction, Type};

use super::{Claim, Outcome, Result, StoreError, StoredAudio};

/// Maps a sqlx error to [`StoreError::Query`] naming what was being done.
pub(super) fn q(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query {
        action,
        location: None,
        source,
    }
}

/// What a back end supplies beyond the shared statements: the parts of the store that really differ.
/// Implemented for [`sqlx::Sqlite`] (`sqlite.rs`) and [`sqlx::Postgres`] (`postgres.rs`).
pub(super) trait Dialect: Database {
    /// The statement that opens a write transaction; `None` for the driver's plain `BEGIN`.
    const BEGIN_WRITE: Option<&'static str>;
    /// The claim, one statement. Binds: `$1` worker id, `$2` lease token, `$3` lease expiry, `$4` now (ms),
    /// `$5` engine fingerprint, `$6` how many. Returns the leased rows' `id`, `render_id`, `chapter`,
    /// `idx`, `store_key`, `request`, `attempts` (and whatever [`Dialect::claim_audio_dir`] reads).
    const CLAIM: &'static str;
    /// Registers or re-registers a worker. Binds: `$1` id, `$2` host, `$3` pid, `$4` device, `$5` engine,
    /// `$6` now (ms).
    const REGISTER_WORKER: &'static str;
    /// The audio row of key `$1`: `sample_rate`, `format` and what [`Dialect::audio_bytes`] reads.
    const SELECT_AUDIO: &'static str;
    /// Creates or updates the render row of a plan sync and returns its `id`. Binds: `$1` name, `$2`
    /// title, `$3` author, `$4` engine, `$5` fingerprint, `$6` max attempts, `$7` the shared audio folder
    /// (a back end that keeps audio only in the database leaves it out), `$8` now (ms).
    const RECORD_RENDER: &'static str;
    /// The database's own consistency check, one problem per row (`ok` when none); `None` where the server
    /// checks itself (PostgreSQL).
    const INTEGRITY_CHECK: Option<&'static str>;

    /// Rows a statement changed (sqlx has no driver-independent accessor).
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Keeps other plan syncs of the render out of this plan sync's transaction until it commits.
    fn lock_render(conn: &mut Self::Connection, render_id: i64) -> impl Future<Output = Result<()>> + Send;

    /// Runs after a plan sync committed, with the number of chunk rows it changed.
    fn after_plan_sync(pool: &Pool<Self>, changed: u64) -> impl Future<Output = Result<()>> + Send;

    /// Records a heartbeat and extends every lease the worker holds by `lease_ms`; returns the leases.
    fn heartbeat(pool: &Pool<Self>, worker_id: &str, lease_ms: i64) -> impl Future<Output = Result<u64>> + Send;

    /// Stores each item's audio and marks its chunk done, fenced by its lease token, atomically.
    fn complete_batch(
        pool: &Pool<Self>,
        items: &[(&Claim, &StoredAudio)],
        worker_id: &str,
        busy_seconds: f64,
    ) -> impl Future<Output = Result<Vec<Outcome>>> + Send;

    /// The render's shared audio folder carried by a claim row.
    fn claim_audio_dir(row: &Self::Row) -> Result<Option<PathBuf>>;

    /// The stored bytes of a [`Dialect::SELECT_AUDIO`] row of `key`.
    fn audio_bytes(key: &str, row: &Self::Row) -> Result<Vec<u8>>;
}

/// Opens a write transaction ([`Dialect::BEGIN_WRITE`]); `action` names it in an error.
pub(super) async fn begin_write<D: Dialect>(pool: &Pool<D>, action: &'static str) -> Result<Transaction<'static, D>> {
    match D::BEGIN_WRITE {
        Some(begin) => pool.begin_with(begin).await,
        None => pool.begin().await,
    }
    .map_err(q(action))
}

/// Named columns of one row, decoding failures reported as `action`.
pub(super) struct Fields<'r, R> {
    row: &'r R,
    action: &'static str,
}

impl<'r, R: Row> Fields<'r, R>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    /// The columns of `row`.
    pub(super) fn new(row: &'r R, action: &'static str) -> Self {
        Fields { row, action }
    }

    /// Column `name`.
    pub(super) fn get<T: Decode<'r, R::Database> + Type<R::Database>>(&self, name: &str) -> Result<T> {
        self.row.try_get(name).map_err(q(self.action))
    }

    /// Integer column `name` as a count or index (stored as a 64-bit integer).
    pub(super) fn u32(&self, name: &str) -> Result<u32>
    where
        i64: Decode<'r, R::Database> + Type<R::Database>,
    {
        Ok(self.get::<i64>(name)? as u32)
    }
}
