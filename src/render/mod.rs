//! Rendering a planned project, phase by phase: resolve the engine and options → resolve the voices → sync
//! the plan into the store → run the workers with progress → assemble the complete chapters → publish
//! (transcripts, QC) → summary. Resume is the normal path: every run syncs and works on what is not done.
//!
//! Owns the orchestration of one render (and [`queue`], the first step of a batch). It is the top of the
//! library's flow: it may use every stage below it, and no stage may import it (only `batch` and the CLI do).

mod approval;
mod assemble;
mod keys;
mod lock;
mod options;
mod progress;
mod publish;
mod qa;
mod summary;
mod sync;
mod takes;
mod voices;
mod workers;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::assembly::{ChapterLoudness, OutputFile};
pub use approval::Approvals;
pub use keys::{chunk_seed, db_location, render_name, store_key};
pub use lock::{lock_path, running, LockHolder, RenderLock};
pub use progress::ProgressMode;
pub use qa::{QaChunk, QaReport};
pub use summary::{AssemblyCounts, ChunkCounts, RenderSummary};
pub use takes::ReviewContext;

use crate::assembly::{self as assembly_stage, AssemblyError, AssemblyOptions};
use crate::audio::qc::QcError;
use crate::engine::{EngineError, EngineKind};
use crate::plan::Plan;
use crate::project::Project;
use crate::store::{Store, StoreError, SyncReport};
use crate::worker::WorkerError;
use progress::Progress;
use summary::AfterWorkers;

/// Errors that stop a render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Bad input (flag values, unknown format).
    #[error("{0}")]
    Input(String),
    /// The engine cannot be used.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A worker failed.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// Assembly (stitching, loudness, resampling, encoding) failed.
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
    /// QC failed to read a file.
    #[error(transparent)]
    Qc(#[from] QcError),
    /// Publishing (transcripts, chapter JSON, the feed) failed.
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    /// Another render of the same project is running.
    #[error("a render of this project is already running ({holder}; lock {}): let it finish, or run again with --wait to start when it ends", lock.display())]
    Busy {
        /// Who holds the lock.
        holder: LockHolder,
        /// The lock file.
        lock: PathBuf,
    },
    /// Ctrl-C or SIGTERM while waiting for another render of the project (`--wait`).
    #[error("interrupted while waiting for the running render of this project")]
    Interrupted,
    /// A voice in project.yaml cannot be resolved.
    #[error(transparent)]
    Voice(#[from] crate::voices::VoiceError),
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Options of one render (command-line overrides of project.yaml).
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// `auto`, `whisperspeech` or `espeak`.
    pub engine: Option<String>,
    /// In-process workers.
    pub workers: Option<usize>,
    /// Output formats.
    pub formats: Option<Vec<String>>,
    /// Output folder.
    pub out: Option<PathBuf>,
    /// State database (path or URL).
    pub db: Option<String>,
    /// Progress display.
    pub progress: ProgressMode,
    /// Lease length.
    pub lease: Duration,
    /// Never connect to the model hub (also `HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// Another render of the project running: wait for it instead of failing with [`RenderError::Busy`].
    pub wait: bool,
    /// `--qa` / `--no-qa` / `--qa-gate`.
    pub qa: crate::qa::setup::QaFlags,
    /// `--final`: never fall back to the espeak-ng draft engine (`auto` means `whisperspeech`).
    pub final_render: bool,
    /// `--require-approval`: publish only chapters a reviewer approved (also `render.require_approval`).
    pub require_approval: bool,
    /// `--batch-size` (overrides `render.batch_size`).
    pub batch_size: Option<crate::project::BatchSize>,
    /// `--dtype` (overrides `render.dtype`): `f32`, `f16` or `bf16`.
    pub dtype: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            engine: None,
            workers: None,
            formats: None,
            out: None,
            db: None,
            progress: ProgressMode::Auto,
            lease: Duration::from_secs(30),
            offline: false,
            wait: false,
            qa: Default::default(),
            final_render: false,
            require_approval: false,
            batch_size: None,
            dtype: None,
        }
    }
}

/// Renders a planned project. `cancel` (set by Ctrl-C) stops the workers gracefully: in-flight chunks are
/// finished or released, nothing is assembled, and the summary says `interrupted`.
// Longer than most functions here on purpose: it is the render's table of contents, one call (and its progress
// line) per phase, in order; the phases themselves live in this module's files.
pub async fn render(
    project: &Project,
    plan: &Plan,
    opts: &RenderOptions,
    cancel: Arc<AtomicBool>,
) -> Result<RenderSummary, RenderError> {
    let started = Instant::now();
    // Engine and options.
    let resolved = options::resolve(project, opts)?;
    let kind = resolved.engine.kind;
    let total_chunks: u64 = plan.chapters.iter().map(|c| c.chunks.len() as u64).sum();
    let progress = Progress::new(opts.progress, total_chunks, resolved.n_workers, render_name(project));
    // One render per project: held until this function returns.
    let Some(_lock) = lock::acquire(project, opts.wait, &cancel, &progress).await? else {
        return Err(RenderError::Interrupted);
    };
    // the draft warning: here, unless quiet; the summary on stdout says it again only when quiet
    if let (Some(w), false) = (&resolved.engine.warning, opts.progress == ProgressMode::Quiet) {
        progress.warn(w);
    }
    if let Some(q) = &resolved.qa {
        progress.line(&format!("render: {}", q.describe()));
    }
    let engines = options::create_engines(
        project,
        &resolved.engine,
        resolved.n_workers,
        resolved.qa.as_ref(),
        opts.dtype.as_ref(),
    )?;
    let fingerprint = engines[0].fingerprint();
    let engine_rate = engines[0].sample_rate();

    // Voices → embeddings (WhisperSpeech) or existence checks (draft engine).
    let embeddings = voices::resolve(project, plan, kind).await?;

    // The plan into the store.
    let store = sync::open_store(project, opts, &progress).await?;
    let mut sync = sync::sync(&store, project, plan, kind, &fingerprint, &embeddings).await?;
    let render_id = sync.render_id;
    let requeued = sync::requeue_damaged(&store, render_id, &progress).await?;
    let from_done = requeued.min(sync.already_done);
    sync.already_done -= from_done;
    sync.reused -= (requeued - from_done).min(sync.reused);
    sync.queued += requeued;
    progress.line(&format!(
        "render: {} chunks in {} chapters; {} already done, {} reused from stored audio, {} to synthesise",
        sync.total,
        plan.chapters.len(),
        sync.already_done,
        sync.reused,
        sync.queued
    ));

    // Workers.
    let watch = workers::Watch {
        progress: &progress,
        render_id,
        total_chunks,
    };
    let reports = workers::run(&store, engines, project, opts, kind, watch, &cancel).await?;
    let after = AfterWorkers {
        interrupted: cancel.load(Ordering::SeqCst),
        progress: store.progress(render_id).await?,
        failed: store.failed_chunks(render_id).await?,
        reports,
    };
    let chapter_progress = after.progress.clone();
    let engine = (kind.as_str(), resolved.engine.warning.clone());
    let mut summary = RenderSummary::after_workers(project, plan, engine, store.location(), sync, after);
    if summary.interrupted {
        return Ok(finish(summary, store, started).await);
    }

    // Assembly of complete chapters.
    let draft = kind == EngineKind::Espeak;
    // Reviewer decisions (`ws-book review`): chosen takes, approvals.
    let keys = assemble::store_keys(plan, &fingerprint, &embeddings);
    let states = store.review_states(render_id).await?;
    let required = opts.require_approval || project.config.render.require_approval;
    summary.approvals = approval::approvals(&keys, &states, required);
    let withheld = summary.approvals.withheld.clone();
    let book = assemble::book(
        project,
        plan,
        &keys,
        (&states, &withheld),
        &chapter_progress,
        &progress,
        draft,
    );
    let aopts = AssemblyOptions {
        pauses: project.config.pauses.clone(),
        preset: resolved.preset,
        formats: resolved.formats.clone(),
        out_dir: resolved.out_dir.clone(),
        rate: engine_rate,
        owner: render_name(project),
    };
    let to_assemble = book.chapters.iter().filter(|c| c.complete).count();
    let unchanged = assembly_stage::unchanged_chapters(&book, &aopts);
    progress.line(&format!(
        "render: assembling {} of {} {}{} ({})",
        to_assemble - unchanged.min(to_assemble),
        book.chapters.len(),
        if project.config.kind == crate::project::ProjectKind::Podcast {
            "episodes"
        } else {
            "chapters"
        },
        match unchanged {
            0 => String::new(),
            u => format!(" ({u} unchanged)"),
        },
        resolved.formats.iter().map(|f| f.ext()).collect::<Vec<_>>().join(", ")
    ));
    let assembled = match assembly_stage::assemble(&store, &book, &aopts, &cancel).await {
        Err(AssemblyError::Interrupted) => {
            summary.interrupted = true;
            return Ok(finish(summary, store, started).await);
        }
        other => other?,
    };
    assemble::report(&progress, plan, &assembled);
    summary.assembly = summary::AssemblyCounts::of(&assembled);
    summary.chapters_assembled = assembled.chapters;
    summary.outputs = assembled.outputs;
    summary.loudness = assembled.loudness;
    summary.timelines = assembled.timelines;

    // Publishing: transcripts and chapter JSON, QC of the encoded files.
    publish::transcripts(project, plan, &book, &resolved.out_dir, &mut summary, &progress)?;
    publish::qc_and_outputs(&store, render_id, &resolved.preset, &resolved.out_dir, &mut summary).await?;
    if let Some(q) = &resolved.qa {
        summary.qa = Some(qa::report(&store, render_id, plan, q, &states, &resolved.out_dir).await?);
    }
    summary.complete = summary.chunks.remaining == 0 && summary.chapters_assembled == book.chapters.len();
    publish::manifest(&resolved.out_dir, &render_name(project), &mut summary)?;
    Ok(finish(summary, store, started).await)
}

/// The summary with the run's wall time, the store closed.
async fn finish(mut summary: RenderSummary, store: Store, started: Instant) -> RenderSummary {
    summary.wall_seconds = started.elapsed().as_secs_f64();
    store.close().await;
    summary
}

/// Queues a project's plan in the store without rendering it (the first step of a batch: every project is
/// queued before any worker starts, so one worker pool serves them all). Returns the sync report.
pub async fn queue(project: &Project, plan: &Plan, opts: &RenderOptions) -> Result<SyncReport, RenderError> {
    let choice = options::engine_choice(project, opts)?;
    let qa = options::qa_plan(project, opts, choice.kind)?;
    let engines = options::create_engines(project, &choice, 1, qa.as_ref(), opts.dtype.as_ref())?;
    let fingerprint = engines[0].fingerprint();
    let embeddings = voices::resolve(project, plan, choice.kind).await?;
    let store = Store::open(&db_location(project, opts.db.as_deref())).await?;
    let sync = sync::sync(&store, project, plan, choice.kind, &fingerprint, &embeddings).await;
    store.close().await;
    sync
}
