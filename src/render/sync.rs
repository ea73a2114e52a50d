//! Phase three of a render: the plan synced into the store (DESIGN.md invariant 6) — every chunk with its
//! store key, seed and serialised synthesis request.

use super::keys::{chunk_seed, db_location, render_name, store_key};
use super::progress::Progress;
use super::voices::{embedding_of, VoiceEmbeddings};
use super::{RenderError, RenderOptions};
use crate::engine::{EngineKind, GenParams, SynthRequest, VoiceSpec};
use crate::plan::Plan;
use crate::project::Project;
use crate::store::{PlannedChunk, RenderSpec, Store, SyncReport};

/// Opens the project's state database (`--db`, else project.yaml, else `.ws-book/state.db`) and returns to
/// the queue the chunks leased by stopped processes of this host.
pub(super) async fn open_store(
    project: &Project,
    opts: &RenderOptions,
    progress: &Progress,
) -> Result<Store, RenderError> {
    let store = Store::open(&db_location(project, opts.db.as_deref())).await?;
    if project.config.store.audio_dir.is_some() && !store.is_postgres() {
        return Err(RenderError::Input(format!(
            "{}: store.audio_dir needs a PostgreSQL store (store.url: postgres://…); SQLite keeps audio in its file",
            project.source.display()
        )));
    }
    let released = crate::worker::release_dead_local_workers(&store).await?;
    if released > 0 {
        progress.line(&format!(
            "render: returned {released} chunk(s) leased by a stopped process to the queue"
        ));
    }
    Ok(store)
}

/// Checks the stored audio of every done chunk (its blake3 digest, written with it) and queues the chunks
/// whose audio is missing or damaged again, saying so: damaged pages are synthesised again, never stitched
/// into the book nor fatal to the render. Returns the chunks queued.
pub(super) async fn requeue_damaged(store: &Store, render_id: i64, progress: &Progress) -> Result<u64, RenderError> {
    let mut queued = 0;
    for (key, why) in store.damaged_audio(render_id).await? {
        let n = store.requeue_audio(&key).await?;
        progress.warn(&format!(
            "stored audio of {n} chunk(s) (key {key}) is damaged ({why}); queued for synthesis again"
        ));
        queued += n;
    }
    Ok(queued)
}

/// Syncs a project's plan into `store` (idempotent: what is done stays done).
pub(super) async fn sync(
    store: &Store,
    project: &Project,
    plan: &Plan,
    kind: EngineKind,
    fingerprint: &str,
    embeddings: &VoiceEmbeddings,
) -> Result<SyncReport, RenderError> {
    let cfg = &project.config;
    let chapters: Vec<String> = plan.chapters.iter().map(|c| c.title.clone()).collect();
    let planned = planned_chunks(project, plan, fingerprint, embeddings)?;
    let spec = RenderSpec {
        name: render_name(project),
        title: plan.title.clone(),
        author: plan.author.clone(),
        engine: kind.as_str().into(),
        fingerprint: fingerprint.to_string(),
        max_attempts: cfg.render.max_attempts,
        audio_dir: cfg.store.audio_dir.as_ref().map(|d| project.resolve(d)),
    };
    Ok(store.sync_plan(&spec, &chapters, &planned).await?)
}

/// Every chunk's synthesis request, per chapter (what a worker synthesises for it).
pub(super) fn requests(
    project: &Project,
    plan: &Plan,
    fingerprint: &str,
    embeddings: &VoiceEmbeddings,
) -> Vec<Vec<SynthRequest>> {
    let cfg = &project.config;
    plan.chapters
        .iter()
        .map(|ch| {
            ch.chunks
                .iter()
                .map(|c| {
                    let embedding = embedding_of(embeddings, &c.speaker, &c.voice).map(<[f32]>::to_vec);
                    let key = store_key(c, fingerprint, embedding.as_deref());
                    SynthRequest {
                        seed: chunk_seed(cfg.render.seed, &key),
                        key,
                        runs: c.runs.clone(),
                        voice: VoiceSpec {
                            name: c.voice.clone(),
                            embedding,
                        },
                        speaker: c.speaker.clone(),
                        params: GenParams {
                            cps: cfg.chunking.cps,
                            temperature: cfg.engine.temperature,
                            top_k: cfg.engine.top_k,
                        },
                    }
                })
                .collect()
        })
        .collect()
}

/// The queue rows of a plan: every chunk with its store key and serialised synthesis request.
fn planned_chunks(
    project: &Project,
    plan: &Plan,
    fingerprint: &str,
    embeddings: &VoiceEmbeddings,
) -> Result<Vec<PlannedChunk>, RenderError> {
    let mut planned = Vec::new();
    let reqs = requests(project, plan, fingerprint, embeddings);
    for (ci, (ch, rs)) in plan.chapters.iter().zip(reqs).enumerate() {
        for (i, (c, req)) in ch.chunks.iter().zip(rs).enumerate() {
            let request = serde_json::to_string(&req).map_err(|e| RenderError::Input(e.to_string()))?;
            planned.push(PlannedChunk {
                chapter: ci as u32,
                index: i as u32,
                plan_key: c.key.clone(),
                store_key: req.key,
                request,
            });
        }
    }
    Ok(planned)
}
