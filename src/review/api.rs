//! The review server's routes: the page, the JSON views, the audio, and the actions (POST, JSON bodies).
//! Every input is validated here with a 4xx error that says what is wrong; numbers address chapters,
//! chunks and takes, so no request ever names a path.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::jobs::JobKind;
use super::{error, App};

/// A handler's error: a status and what is wrong (sent as `{"error": …}`).
pub(super) struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError(status, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}
use crate::store::take_audio_key;

/// The page (HTML, CSS and JS in one file, embedded in the binary).
const PAGE: &str = include_str!("page.html");

pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/book", get(book))
        .route("/api/chapter/{n}", get(chapter))
        .route("/api/jobs", get(jobs))
        .route("/audio/chunk/{c}/{i}", get(chunk_audio))
        .route("/audio/take/{c}/{i}/{k}", get(take_audio))
        .route("/audio/chapter/{c}", get(chapter_audio))
        .route("/api/take", post(new_take))
        .route("/api/choose", post(choose))
        .route("/api/approve", post(approve))
        .route("/api/lexicon", post(lexicon))
        .route("/api/render", post(render))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page") })
        .with_state(app)
}

type Result<T> = std::result::Result<T, ApiError>;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A chapter/chunk/take number from the URL: digits only (anything path-like is a 400).
fn number(s: &str, what: &str) -> Result<usize> {
    match s.parse::<usize>() {
        Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{what} must be a number, not `{}`",
                s.chars().take(40).collect::<String>()
            ),
        )),
    }
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; media-src 'self'; img-src 'self' data:"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(PAGE),
    )
}

async fn book(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>> {
    let view = app.view.read().await.clone();
    Ok(Json(view.book().await.map_err(internal)?))
}

async fn chapter(State(app): State<Arc<App>>, UrlPath(n): UrlPath<String>) -> Result<Json<serde_json::Value>> {
    let n = number(&n, "the chapter")?;
    let view = app.view.read().await.clone();
    match view.chapter(n).await.map_err(internal)? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no chapter {n}"))),
    }
}

async fn jobs(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(serde_json::json!(app.jobs.recent()))
}

/// The store key of chapter `c`, chunk `i`, or a 404.
async fn key_of(app: &App, c: usize, i: usize) -> Result<String> {
    let view = app.view.read().await.clone();
    view.keys
        .get(c)
        .and_then(|ch| ch.get(i))
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no chunk {i} in chapter {c}")))
}

async fn wav(app: &App, key: &str) -> Result<Response> {
    let view = app.view.read().await.clone();
    match view.store.audio(key).await.map_err(internal)? {
        Some(a) => Ok((
            [(header::CONTENT_TYPE, "audio/wav"), (header::CACHE_CONTROL, "no-store")],
            crate::audio::wav::wav_f32(a.sample_rate, &a.samples),
        )
            .into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no audio stored for it yet")),
    }
}

async fn chunk_audio(State(app): State<Arc<App>>, UrlPath((c, i)): UrlPath<(String, String)>) -> Result<Response> {
    let (c, i) = (number(&c, "the chapter")?, number(&i, "the chunk")?);
    let key = key_of(&app, c, i).await?;
    let view = app.view.read().await.clone();
    let chosen = view
        .store
        .review_states(view.render_id)
        .await
        .map_err(internal)?
        .get(&key)
        .and_then(|s| s.chosen_take);
    wav(&app, &chosen.map_or(key.clone(), |k| take_audio_key(&key, k))).await
}

async fn take_audio(
    State(app): State<Arc<App>>,
    UrlPath((c, i, k)): UrlPath<(String, String, String)>,
) -> Result<Response> {
    let (c, i, k) = (
        number(&c, "the chapter")?,
        number(&i, "the chunk")?,
        number(&k, "the take")?,
    );
    let key = key_of(&app, c, i).await?;
    wav(&app, &take_audio_key(&key, k as u32)).await
}

/// The chapter's file, with `Range` support so the player can seek.
async fn chapter_audio(
    State(app): State<Arc<App>>,
    UrlPath(c): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = number(&c, "the chapter")?;
    let view = app.view.read().await.clone();
    let Some(path) = view.chapter_file(c) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("chapter {c} has no MP3 or Opus file yet (render it, with mp3 or opus in output.formats)"),
        ));
    };
    let bytes = tokio::fs::read(&path).await.map_err(internal)?;
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("opus") => "audio/ogg",
        _ => "audio/mpeg",
    };
    let total = bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() {
                total.checked_sub(1)?
            } else {
                b.parse().ok()?
            };
            (start <= end && end < total).then_some((start, end))
        });
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(match range {
        Some((a, b)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, h, bytes[a..=b].to_vec()).into_response()
        }
        None => (StatusCode::OK, h, bytes).into_response(),
    })
}

/// A JSON body, its errors as 400 with serde's message.
fn body<T: serde::de::DeserializeOwned>(
    b: std::result::Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::new(e.status(), format!("bad request body: {}", e.body_text())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkRef {
    chapter: usize,
    index: usize,
}

async fn new_take(
    State(app): State<Arc<App>>,
    b: std::result::Result<Json<ChunkRef>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let r = body(b)?;
    key_of(&app, r.chapter, r.index).await?;
    let job = app.jobs.submit(JobKind::Take {
        chapter: r.chapter,
        index: r.index,
    });
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Choose {
    chapter: usize,
    index: usize,
    /// `null`: back to the chunk's own audio.
    take: Option<u32>,
}

async fn choose(
    State(app): State<Arc<App>>,
    b: std::result::Result<Json<Choose>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let r = body(b)?;
    let key = key_of(&app, r.chapter, r.index).await?;
    let view = app.view.read().await.clone();
    match view.store.choose_take(&key, r.take).await {
        Err(crate::store::StoreError::Invalid(m)) => return Err(ApiError::new(StatusCode::NOT_FOUND, m)),
        other => other.map_err(internal)?,
    }
    Ok(Json(serde_json::json!({"ok": true, "chosen_take": r.take})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approve {
    chapter: usize,
    /// `null`: every chunk of the chapter.
    index: Option<usize>,
    approved: bool,
}

async fn approve(
    State(app): State<Arc<App>>,
    b: std::result::Result<Json<Approve>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let r = body(b)?;
    let view = app.view.read().await.clone();
    let Some(keys) = view.keys.get(r.chapter) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no chapter {}", r.chapter),
        ));
    };
    let keys: Vec<String> = match r.index {
        Some(i) => vec![keys
            .get(i)
            .cloned()
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no chunk {i} in chapter {}", r.chapter)))?],
        None => keys.clone(),
    };
    view.store.approve(&keys, r.approved).await.map_err(internal)?;
    Ok(Json(serde_json::json!({"ok": true, "chunks": keys.len()})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconEdit {
    lang: String,
    word: String,
    /// `null` or empty: remove the entry.
    replacement: Option<String>,
}

async fn lexicon(
    State(app): State<Arc<App>>,
    b: std::result::Result<Json<LexiconEdit>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let r = body(b)?;
    let view = app.view.read().await.clone();
    let Some(path) = view.planned.project.lexicon_path() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{} has no `lexicon:` entry: add `lexicon: lexicon.yaml` to it to edit pronunciations here \
                 (ws-book never rewrites project.yaml)",
                view.project_file.display()
            ),
        ));
    };
    // set_entry checks the language and the entry, and names what is wrong
    let replacement = r.replacement.as_deref().filter(|s| !s.trim().is_empty());
    crate::project::lexicon::set_entry(&path, &r.lang, &r.word, replacement)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let job = app.jobs.submit(JobKind::Render {
        reason: format!("pronunciation of `{}` ({})", r.word, r.lang),
    });
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

async fn render(State(app): State<Arc<App>>) -> Response {
    let job = app.jobs.submit(JobKind::Render {
        reason: "re-assemble".into(),
    });
    (StatusCode::ACCEPTED, Json(job)).into_response()
}
