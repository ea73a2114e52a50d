//! What the two SQLite databases (the render store's `state.db` and the voice library's `voices.db`) open
//! alike: a file in WAL mode created with its folder, and migrations retried while another process applies
//! them.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};

/// Connection options for the database file at `path` in WAL mode, created when missing; creates its folder.
pub(crate) fn wal_options(path: &Path) -> Result<SqliteConnectOptions, sqlx::Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    Ok(SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal))
}

/// Applies `migrator`. Several processes may open a fresh database at once (a render and its workers): a
/// migration that lost the race fails; the next of up to five retries sees it applied.
pub(crate) async fn migrate(migrator: &Migrator, pool: &SqlitePool) -> Result<(), MigrateError> {
    let mut tries = 0u64;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(_) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
