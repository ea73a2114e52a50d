//! The voice library database (`voices.db`): named voices and cached embeddings of reference files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::{from_bytes, to_bytes, validate_name, SourceRef, Voice, VoiceError, DEFAULT_VOICE};

/// An open voice library.
#[derive(Debug, Clone)]
pub struct VoiceLibrary {
    pool: SqlitePool,
    path: PathBuf,
}

impl VoiceLibrary {
    /// Opens (creating it and its folder) the library at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self, VoiceError> {
        let db = |source| VoiceError::Db {
            path: path.to_path_buf(),
            source,
        };
        let opts = crate::sqlite_file::wal_options(path)
            .map_err(db)?
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(db)?;
        crate::sqlite_file::migrate(&sqlx::migrate!("./migrations/voices"), &pool)
            .await
            .map_err(|source| VoiceError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// Opens the library in the ws-book home (`$WS_BOOK_HOME/voices.db`).
    pub async fn open_default() -> Result<Self, VoiceError> {
        Self::open(&crate::home::voices_db()).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> impl Fn(sqlx::Error) -> VoiceError + '_ {
        |source| VoiceError::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores a voice; an existing name needs `force`. `default` is refused.
    pub async fn add(&self, voice: &Voice, force: bool) -> Result<(), VoiceError> {
        validate_name(&voice.name)?;
        if voice.name == DEFAULT_VOICE {
            return Err(VoiceError::BuiltIn("replaced"));
        }
        let sources = serde_json::to_string(&voice.sources).unwrap_or_else(|_| "[]".into());
        let sql = if force {
            "INSERT OR REPLACE INTO voices (name, lang, description, embedding, sources, model, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
        } else {
            "INSERT INTO voices (name, lang, description, embedding, sources, model, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
        };
        let created = Some(voice.created.clone()).filter(|c| !c.is_empty());
        let r = sqlx::query(sql)
            .bind(&voice.name)
            .bind(&voice.lang)
            .bind(&voice.description)
            .bind(to_bytes(&voice.embedding))
            .bind(sources)
            .bind(&voice.model)
            .bind(created)
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(VoiceError::Exists(voice.name.clone())),
            Err(e) => Err(self.db()(e)),
        }
    }

    /// Whether a stored voice (not the built-in) has this name.
    pub async fn exists(&self, name: &str) -> Result<bool, VoiceError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM voices WHERE name = ?1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(self.db())?;
        Ok(n > 0)
    }

    /// A voice by name (`default` is the built-in one); `None` when unknown.
    pub async fn find(&self, name: &str) -> Result<Option<Voice>, VoiceError> {
        if name == DEFAULT_VOICE {
            return Ok(Some(Voice::builtin_default()));
        }
        let row = sqlx::query("SELECT * FROM voices WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.db())?;
        row.map(|r| self.voice_from_row(&r)).transpose()
    }

    /// A voice by name, or [`VoiceError::Unknown`] listing the known names.
    pub async fn get(&self, name: &str) -> Result<Voice, VoiceError> {
        match self.find(name).await? {
            Some(v) => Ok(v),
            None => {
                let names: Vec<String> = self.list().await?.into_iter().map(|v| v.name).collect();
                Err(VoiceError::Unknown {
                    name: name.to_string(),
                    hint: format!(
                        " (library {}: {}); add it with `ws-book voices add {name} AUDIO…`",
                        self.path.display(),
                        names.join(", ")
                    ),
                })
            }
        }
    }

    /// All voices, the built-in `default` first, then by name.
    pub async fn list(&self) -> Result<Vec<Voice>, VoiceError> {
        let rows = sqlx::query("SELECT * FROM voices ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.db())?;
        let mut out = vec![Voice::builtin_default()];
        for r in &rows {
            out.push(self.voice_from_row(r)?);
        }
        Ok(out)
    }

    /// Removes a voice; [`VoiceError::Unknown`] when there is none.
    pub async fn remove(&self, name: &str) -> Result<(), VoiceError> {
        if name == DEFAULT_VOICE {
            return Err(VoiceError::BuiltIn("removed"));
        }
        let n = sqlx::query("DELETE FROM voices WHERE name = ?1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.db())?
            .rows_affected();
        if n == 0 {
            return Err(VoiceError::Unknown {
                name: name.to_string(),
                hint: format!(" in {}", self.path.display()),
            });
        }
        Ok(())
    }

    /// The cached raw embedding of an audio file (by file digest and model digest).
    pub async fn cached_embedding(&self, digest: &str, model: &str) -> Result<Option<Vec<f32>>, VoiceError> {
        let b: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT embedding FROM audio_embeddings WHERE digest = ?1 AND model = ?2")
                .bind(digest)
                .bind(model)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.db())?;
        Ok(b.and_then(|b| from_bytes(&b)))
    }

    /// Caches the raw embedding of an audio file.
    pub async fn cache_embedding(&self, digest: &str, model: &str, path: &Path, e: &[f32]) -> Result<(), VoiceError> {
        sqlx::query("INSERT OR REPLACE INTO audio_embeddings (digest, model, path, embedding) VALUES (?1, ?2, ?3, ?4)")
            .bind(digest)
            .bind(model)
            .bind(path.display().to_string())
            .bind(to_bytes(e))
            .execute(&self.pool)
            .await
            .map_err(self.db())?;
        Ok(())
    }

    fn voice_from_row(&self, r: &sqlx::sqlite::SqliteRow) -> Result<Voice, VoiceError> {
        let db = self.db();
        let name: String = r.try_get("name").map_err(&db)?;
        let blob: Vec<u8> = r.try_get("embedding").map_err(&db)?;
        let sources: String = r.try_get("sources").map_err(&db)?;
        let embedding = from_bytes(&blob).ok_or_else(|| VoiceError::File {
            path: self.path.clone(),
            message: format!("voice `{name}`: stored embedding is corrupt ({} bytes)", blob.len()),
        })?;
        Ok(Voice {
            lang: r.try_get("lang").map_err(&db)?,
            description: r.try_get("description").map_err(&db)?,
            embedding,
            sources: serde_json::from_str::<Vec<SourceRef>>(&sources).unwrap_or_default(),
            model: r.try_get("model").map_err(&db)?,
            created: r.try_get("created").map_err(&db)?,
            builtin: false,
            name,
        })
    }
}
