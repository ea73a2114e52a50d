//! Rendering a planned project: sync the plan into the store, run N workers, assemble the finished
//! chapters, encode, measure. Resume is the normal path: every run syncs and works on what is not done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::audio::encode::{AudioEncoder, ChapterMark, Cover, EncodeError, EncodeSpec, OutFormat};
use crate::audio::loudness::{self, Master, Meter, Preset};
use crate::audio::qc::{self, FileQc, QcError};
use crate::audio::resample::{ResampleError, StreamResampler};
use crate::audio::stitch::{self, ChunkSlot, StitchError};
use crate::engine::{self, EngineError, EngineKind, GenParams, SynthRequest, VoiceSpec};
use crate::models::{BarProgress, Resolver};
use crate::plan::{Chunk, Plan, Section};
use crate::project::{Project, ProjectKind};
use crate::publish::templates::Templates;
use crate::publish::transcript;
use crate::store::{FailedChunk, PlannedChunk, RenderSpec, Store, StoreError, SyncReport};
use crate::worker::{self, WorkerConfig, WorkerError, WorkerReport, WorkerState};

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
    /// Stitching failed.
    #[error(transparent)]
    Stitch(#[from] StitchError),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// QC failed to read a file.
    #[error(transparent)]
    Qc(#[from] QcError),
    /// Loudness measurement failed.
    #[error(transparent)]
    Loudness(#[from] loudness::LoudnessError),
    /// A voice in project.yaml cannot be resolved.
    #[error(transparent)]
    Voice(#[from] crate::voices::VoiceError),
    /// Stopped by Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// indicatif bars on a terminal, plain lines otherwise.
    Auto,
    /// Plain log lines on stderr.
    Plain,
    /// JSON lines on stderr: one object per event (`log`, `warning`, `chunk`, `chapter`, `output`).
    Json,
    /// Nothing but warnings.
    Quiet,
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
        }
    }
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    /// Path.
    pub path: PathBuf,
    /// Format.
    pub format: OutFormat,
    /// Duration in seconds.
    pub duration: f64,
    /// Chapter (per-chapter files), 0-based.
    pub chapter: Option<usize>,
}

/// Loudness of a chapter before and after mastering.
#[derive(Debug, Clone, Serialize)]
pub struct ChapterLoudness {
    /// 0-based chapter.
    pub chapter: usize,
    /// Integrated loudness measured before gain, LUFS.
    pub measured_lufs: f64,
    /// Sample peak before gain, dBFS.
    pub measured_peak_db: f64,
    /// Gain applied, dB.
    pub gain_db: f64,
    /// Duration, seconds.
    pub duration: f64,
}

/// Chunk counts of a render.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChunkCounts {
    /// Chunks in the plan.
    pub total: u64,
    /// Done without synthesis in this run (already done, or audio already stored).
    pub reused: u64,
    /// Synthesised by this run's workers.
    pub synthesized: u64,
    /// Failed for good.
    pub failed: u64,
    /// Not done (failed or interrupted).
    pub remaining: u64,
}

/// What a render did (printed as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RenderSummary {
    /// Project (or manuscript) file.
    pub project: PathBuf,
    /// Book title.
    pub title: String,
    /// Engine used.
    pub engine: String,
    /// Draft warning, when the espeak draft engine stood in for WhisperSpeech.
    pub warning: Option<String>,
    /// State database.
    pub db: String,
    /// Chunk counts.
    pub chunks: ChunkCounts,
    /// What the plan sync found.
    pub sync: SyncReport,
    /// Seconds of audio in the book's chunks.
    pub audio_seconds: f64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Seconds of audio synthesised per second of engine time (real-time factor, >1 is faster).
    pub speed: f64,
    /// Chapters assembled.
    pub chapters_assembled: usize,
    /// Files written.
    pub outputs: Vec<OutputFile>,
    /// Per-chapter loudness.
    pub loudness: Vec<ChapterLoudness>,
    /// QC per file.
    pub qc: Vec<FileQc>,
    /// Chunks that failed for good.
    pub failed: Vec<FailedChunk>,
    /// Workers' reports.
    pub workers: Vec<WorkerReport>,
    /// Transcript and chapter files written (WebVTT, SRT, chapters JSON per assembled chapter).
    pub transcripts: Vec<PathBuf>,
    /// The assembled timeline of each assembled chapter (chapter index, chunk offsets).
    #[serde(skip)]
    pub timelines: Vec<(usize, stitch::Timeline)>,
    /// Every chunk done and every file written.
    pub complete: bool,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
}

/// The store key of a chunk: the plan's key plus what only rendering knows (DESIGN.md invariant 2).
pub fn store_key(chunk: &Chunk, engine_fingerprint: &str, embedding: Option<&[f32]>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ws-book store key v1\0");
    h.update(chunk.key.as_bytes());
    h.update(b"\0");
    h.update(engine_fingerprint.as_bytes());
    h.update(b"\0");
    h.update(chunk.speaker.as_bytes());
    h.update(b"\0");
    match embedding {
        Some(e) => {
            let mut eh = blake3::Hasher::new();
            for x in e {
                eh.update(&x.to_le_bytes());
            }
            h.update(eh.finalize().as_bytes());
        }
        None => {
            h.update(b"no-embedding");
        }
    }
    h.finalize().to_hex().to_string()
}

/// The per-chunk sampling seed: a hash of the project seed and the store key (DESIGN.md invariant 3).
pub fn chunk_seed(project_seed: u64, store_key: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&project_seed.to_le_bytes());
    h.update(store_key.as_bytes());
    let b = h.finalize();
    let bytes = b.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// The state database of a project: `--db`, else `store.url`, else `render.db`, else `.ws-book/state.db`
/// beside it.
pub fn db_location(project: &Project, flag: Option<&str>) -> String {
    if let Some(f) = flag {
        return f.to_string();
    }
    if let Some(d) = project.config.store.url.as_ref().or(project.config.render.db.as_ref()) {
        if d.contains("://") {
            return d.clone();
        }
        let p = d.strip_prefix("sqlite:").unwrap_or(d);
        return project.resolve(Path::new(p)).display().to_string();
    }
    project.state_dir().join("state.db").display().to_string()
}

/// The render's name in the database: the project (or manuscript) file name with its folder's name
/// (`podcast-demo/project.yaml`), so the projects of a batch sharing one database keep apart.
pub fn render_name(project: &Project) -> String {
    let file = project
        .source
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "book".into());
    let dir = std::path::absolute(&project.source).ok().and_then(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .map(|d| d.to_string_lossy().to_string())
    });
    match dir {
        Some(d) if !d.is_empty() => format!("{d}/{file}"),
        _ => file,
    }
}

/// A file-name-safe version of a title.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() || c == ' ' || c == '-' || c == '_' || c == '.' || c == ',' || c == '\'' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    let t: String = out.trim().trim_matches('.').chars().take(60).collect();
    if t.is_empty() {
        "untitled".into()
    } else {
        t.trim().to_string()
    }
}

/// A progress sink: log lines (plain) or indicatif bars (terminal).
struct Progress {
    mode: ProgressMode,
    /// The render's name, in JSON events.
    project: String,
    multi: Option<indicatif::MultiProgress>,
    bar: Option<indicatif::ProgressBar>,
    spinners: Vec<indicatif::ProgressBar>,
}

impl Progress {
    fn new(mode: ProgressMode, total: u64, workers: usize, project: String) -> Progress {
        use std::io::IsTerminal;
        let tty = mode == ProgressMode::Auto && std::io::stderr().is_terminal();
        if !tty {
            let mode = match mode {
                ProgressMode::Quiet | ProgressMode::Json => mode,
                _ => ProgressMode::Plain,
            };
            return Progress {
                mode,
                project,
                multi: None,
                bar: None,
                spinners: vec![],
            };
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} chunks  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let bar = multi.add(indicatif::ProgressBar::new(total).with_style(style));
        let sstyle = indicatif::ProgressStyle::with_template("  {spinner} {prefix}: {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let spinners = (0..workers)
            .map(|i| {
                let s = multi.add(indicatif::ProgressBar::new_spinner().with_style(sstyle.clone()));
                s.set_prefix(format!("worker {i}"));
                s.enable_steady_tick(Duration::from_millis(120));
                s
            })
            .collect();
        Progress {
            mode: ProgressMode::Auto,
            project,
            multi: Some(multi),
            bar: Some(bar),
            spinners,
        }
    }

    fn line(&self, s: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(s);
            }
            (None, ProgressMode::Quiet) => {}
            (None, ProgressMode::Json) => self.event("log", serde_json::json!({ "message": s })),
            (None, _) => eprintln!("{s}"),
        }
    }

    /// A JSON-lines event on stderr (JSON mode only): `{"event": kind, "project": …, …fields}`.
    fn event(&self, kind: &str, fields: serde_json::Value) {
        if self.mode != ProgressMode::Json {
            return;
        }
        let mut v = serde_json::json!({ "event": kind, "project": self.project });
        if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
            o.extend(f);
        }
        eprintln!("{v}");
    }

    fn warn(&self, s: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(format!("warning: {s}"));
            }
            (None, ProgressMode::Json) => self.event("warning", serde_json::json!({ "message": s })),
            (None, _) => eprintln!("warning: {s}"),
        }
    }

    fn update(&self, done: u64, total: u64, audio_s: f64, speed: f64, activities: &[String]) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{audio_s:.0} s audio, {speed:.1}× real time"));
            for (s, a) in self.spinners.iter().zip(activities) {
                s.set_message(a.clone());
            }
        } else {
            self.line(&format!(
                "render: {done}/{total} chunks done, {audio_s:.0} s audio, {speed:.1}× real time"
            ));
        }
    }

    fn finish(&self) {
        for s in &self.spinners {
            s.finish_and_clear();
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Renders a planned project. `cancel` (set by Ctrl-C) stops the workers gracefully: in-flight chunks are
/// finished or released, nothing is assembled, and the summary says `interrupted`.
pub async fn render(
    project: &Project,
    plan: &Plan,
    opts: &RenderOptions,
    cancel: Arc<AtomicBool>,
) -> Result<RenderSummary, RenderError> {
    let started = Instant::now();
    let cfg = &project.config;
    let choice = opts.engine.clone().unwrap_or_else(|| cfg.engine.name.clone());
    let models = engine_models(project, &choice, opts);
    let (kind, warning) = engine::resolve_with(&choice, models.as_ref())?;
    let n_workers = opts.workers.unwrap_or(cfg.render.workers).max(1);
    let formats: Vec<OutFormat> = {
        let names = opts.formats.clone().unwrap_or_else(|| project.formats());
        let mut v = Vec::new();
        for n in names {
            let f = OutFormat::parse(&n)
                .ok_or_else(|| RenderError::Input(format!("unknown output format `{n}`; use m4b, mp3 or opus")))?;
            if !v.contains(&f) {
                v.push(f);
            }
        }
        v
    };
    let preset = loudness::preset(&project.loudness()).ok_or_else(|| {
        RenderError::Input(format!(
            "unknown loudness preset `{}`; use audiobook or podcast",
            project.loudness()
        ))
    })?;
    let out_dir = match &opts.out {
        Some(o) => o.clone(),
        None => project.output_dir(),
    };

    let total_chunks: u64 = plan.chapters.iter().map(|c| c.chunks.len() as u64).sum();
    let progress = Progress::new(opts.progress, total_chunks, n_workers, render_name(project));
    if let Some(w) = &warning {
        progress.warn(w);
    }

    // Engines: one per worker, created up front so a missing espeak-ng is reported before any work.
    let mut engines = Vec::with_capacity(n_workers);
    for _ in 0..n_workers {
        engines.push(engine::create_with_options(
            kind,
            models.as_ref().and_then(|m| m.as_ref().ok()),
            &cfg.render.device,
            model_options(project),
        )?);
    }
    let fingerprint = engines[0].fingerprint();
    let engine_rate = engines[0].sample_rate();

    // Voices → embeddings (WhisperSpeech) or existence checks (draft engine), once per (speaker, voice).
    let embeddings = resolve_voices(project, plan, kind).await?;

    // Plan → queue rows.
    let chapters: Vec<String> = plan.chapters.iter().map(|c| c.title.clone()).collect();
    let planned = planned_chunks(project, plan, &fingerprint, &embeddings)?;

    let db = db_location(project, opts.db.as_deref());
    let store = Store::open(&db).await?;
    if cfg.store.audio_dir.is_some() && !store.is_postgres() {
        return Err(RenderError::Input(format!(
            "{}: store.audio_dir needs a PostgreSQL store (store.url: postgres://…); SQLite keeps audio in its file",
            project.source.display()
        )));
    }
    let released = worker::release_dead_local_workers(&store).await?;
    if released > 0 {
        progress.line(&format!(
            "render: returned {released} chunk(s) leased by a stopped process to the queue"
        ));
    }
    let spec = RenderSpec {
        name: render_name(project),
        title: plan.title.clone(),
        author: plan.author.clone(),
        engine: kind.as_str().into(),
        fingerprint: fingerprint.clone(),
        max_attempts: cfg.render.max_attempts,
        audio_dir: cfg.store.audio_dir.as_ref().map(|d| project.resolve(d)),
    };
    let sync = store.sync_plan(&spec, &chapters, &planned).await?;
    progress.line(&format!(
        "render: {} chunks in {} chapters; {} already done, {} reused from stored audio, {} to synthesise",
        sync.total,
        chapters.len(),
        sync.already_done,
        sync.reused,
        sync.queued
    ));

    // Workers.
    let mut handles = Vec::new();
    let mut states = Vec::new();
    for (i, eng) in engines.into_iter().enumerate() {
        let mut wc = WorkerConfig::new(worker::worker_id(i));
        wc.batch_size = cfg.render.batch_size as u32;
        wc.lease = opts.lease;
        wc.device = match kind {
            EngineKind::Espeak => "cpu".into(),
            EngineKind::Whisperspeech => cfg.render.device.clone(),
        };
        let state = Arc::new(WorkerState::default());
        states.push(state.clone());
        handles.push(tokio::spawn(worker::run(store.clone(), eng, wc, state, cancel.clone())));
    }
    let render_id = sync.render_id;
    let mut last_line = Instant::now();
    let plain_every = Duration::from_secs(5);
    let mut seen: std::collections::HashMap<(u32, u32), String> = std::collections::HashMap::new();
    let mut chunk_events = |states: Vec<crate::store::ChunkState>| {
        for st in states {
            if st.status == "done" || st.status == "failed" {
                let prev = seen.insert((st.chapter, st.index), st.status.clone());
                if prev.as_deref() != Some(st.status.as_str()) {
                    progress.event(
                        "chunk",
                        serde_json::json!({
                            "chapter": st.chapter, "index": st.index, "status": st.status, "attempts": st.attempts,
                        }),
                    );
                }
            }
        }
    };
    if progress.mode == ProgressMode::Json {
        // Chunks already done before this run are reported once, up front.
        chunk_events(store.chunk_states(sync.render_id).await?);
    }
    loop {
        let finished = handles.iter().all(|h| h.is_finished());
        if progress.mode == ProgressMode::Json {
            chunk_events(store.chunk_states(render_id).await?);
        }
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        let tty = progress.bar.is_some();
        if tty || last_line.elapsed() >= plain_every {
            last_line = Instant::now();
            // The database may be restarting (workers retry on their own): skip this update then.
            let prog = match store.progress(render_id).await {
                Ok(p) => p,
                Err(e) if e.is_transient() => continue,
                Err(e) => return Err(e.into()),
            };
            let done: u64 = prog.iter().map(|c| c.done).sum();
            let audio: f64 = prog.iter().map(|c| c.audio_seconds).sum();
            let (a_ms, b_ms) = states.iter().fold((0u64, 0u64), |(a, b), s| {
                (
                    a + s.audio_ms.load(Ordering::Relaxed),
                    b + s.busy_ms.load(Ordering::Relaxed),
                )
            });
            let speed = if b_ms > 0 { a_ms as f64 / b_ms as f64 } else { 0.0 };
            let acts: Vec<String> = states
                .iter()
                .map(|s| s.activity.lock().map(|a| a.clone()).unwrap_or_default())
                .collect();
            progress.update(done, total_chunks, audio, speed, &acts);
        }
    }
    let mut reports = Vec::new();
    for h in handles {
        let r = h.await.map_err(|_| WorkerError::Panicked("render".into()))??;
        reports.push(r);
    }
    progress.finish();
    let synthesized: u64 = reports.iter().map(|r| r.done).sum();
    let busy: f64 = reports.iter().map(|r| r.busy_seconds).sum();
    let synth_audio: f64 = reports.iter().map(|r| r.audio_seconds).sum();
    let interrupted = cancel.load(Ordering::SeqCst);

    let prog = store.progress(render_id).await?;
    let failed = store.failed_chunks(render_id).await?;
    let done: u64 = prog.iter().map(|c| c.done).sum();
    let audio_seconds: f64 = prog.iter().map(|c| c.audio_seconds).sum();
    let mut summary = RenderSummary {
        project: project.source.clone(),
        title: plan.title.clone(),
        engine: kind.as_str().into(),
        warning,
        db: store.location().to_string(),
        chunks: ChunkCounts {
            total: total_chunks,
            reused: sync.already_done + sync.reused,
            synthesized,
            failed: failed.len() as u64,
            remaining: total_chunks.saturating_sub(done),
        },
        sync,
        audio_seconds,
        wall_seconds: 0.0,
        speed: if busy > 0.0 { synth_audio / busy } else { 0.0 },
        chapters_assembled: 0,
        outputs: vec![],
        loudness: vec![],
        qc: vec![],
        failed,
        workers: reports,
        transcripts: vec![],
        timelines: vec![],
        complete: false,
        interrupted,
    };
    if interrupted {
        summary.wall_seconds = started.elapsed().as_secs_f64();
        store.close().await;
        return Ok(summary);
    }

    // Assembly of complete chapters.
    let complete: Vec<bool> = prog.iter().map(|c| c.total > 0 && c.done == c.total).collect();
    let book = BookAssembly {
        title: plan.title.clone(),
        author: plan.author.clone(),
        chapters: plan
            .chapters
            .iter()
            .enumerate()
            .map(|(ci, ch)| ChapterAssembly {
                index: ci,
                title: ch.title.clone(),
                slots: ch
                    .chunks
                    .iter()
                    .map(|c| ChunkSlot {
                        key: store_key(
                            c,
                            &fingerprint,
                            embeddings
                                .get(&(c.speaker.clone(), c.voice.clone()))
                                .and_then(|e| e.as_deref()),
                        ),
                        paragraph_end: c.paragraph_end,
                    })
                    .collect(),
                complete: complete.get(ci).copied().unwrap_or(false),
                sections: ch.sections.clone(),
                file_stem: ch.file_stem.clone(),
            })
            .collect(),
        cover: load_cover(project, plan, &progress),
        genre: match cfg.kind {
            ProjectKind::Book => "Audiobook".into(),
            ProjectKind::Podcast => "Podcast".into(),
        },
    };
    progress.line(&format!(
        "render: assembling {} of {} chapters ({})",
        book.chapters.iter().filter(|c| c.complete).count(),
        book.chapters.len(),
        formats.iter().map(|f| f.ext()).collect::<Vec<_>>().join(", ")
    ));
    let aopts = AssemblyOptions {
        pauses: cfg.pauses.clone(),
        preset,
        formats: formats.clone(),
        out_dir: out_dir.clone(),
        rate: engine_rate,
    };
    let assembled = match assemble(&store, &book, &aopts, &cancel).await {
        Err(RenderError::Interrupted) => {
            summary.interrupted = true;
            summary.wall_seconds = started.elapsed().as_secs_f64();
            store.close().await;
            return Ok(summary);
        }
        other => other?,
    };
    for l in &assembled.loudness {
        progress.event(
            "chapter",
            serde_json::json!({
                "chapter": l.chapter, "title": plan.chapters[l.chapter].title, "duration": l.duration,
                "gain_db": l.gain_db,
            }),
        );
    }
    for o in &assembled.outputs {
        progress.event(
            "output",
            serde_json::json!({ "path": o.path, "format": o.format, "chapter": o.chapter, "duration": o.duration }),
        );
    }
    summary.chapters_assembled = assembled.chapters;
    summary.outputs = assembled.outputs;
    summary.loudness = assembled.loudness;

    // Timed transcripts and chapter JSON from the assembled timelines.
    let templates = Templates::for_project(project);
    for (ci, timeline) in &assembled.timelines {
        let ch = &plan.chapters[*ci];
        let stem = chapter_stem(&book.chapters[*ci], book.chapters.len());
        let files = transcript::write_chapter(&templates, &out_dir, &stem, ch, timeline)
            .map_err(|e| RenderError::Input(e.to_string()))?;
        for f in &files {
            progress.event("output", serde_json::json!({ "path": f, "chapter": ci }));
        }
        summary.transcripts.extend(files);
    }
    summary.timelines = assembled.timelines;

    // QC of the encoded files.
    for o in &summary.outputs {
        summary.qc.push(qc::measure(&o.path, &preset)?);
    }
    write_qc(&out_dir, &preset, &summary.qc)?;
    let outputs_json = serde_json::to_value(&summary.outputs).unwrap_or(serde_json::Value::Null);
    store.set_outputs(render_id, &outputs_json).await?;
    summary.complete = summary.chunks.remaining == 0 && summary.chapters_assembled == book.chapters.len();
    summary.wall_seconds = started.elapsed().as_secs_f64();
    store.close().await;
    Ok(summary)
}

/// The queue rows of a plan: every chunk with its store key and serialised synthesis request.
fn planned_chunks(
    project: &Project,
    plan: &Plan,
    fingerprint: &str,
    embeddings: &VoiceEmbeddings,
) -> Result<Vec<PlannedChunk>, RenderError> {
    let cfg = &project.config;
    let mut planned = Vec::new();
    for (ci, ch) in plan.chapters.iter().enumerate() {
        for (i, c) in ch.chunks.iter().enumerate() {
            let embedding = embeddings.get(&(c.speaker.clone(), c.voice.clone())).cloned().flatten();
            let key = store_key(c, fingerprint, embedding.as_deref());
            let req = SynthRequest {
                key: key.clone(),
                runs: c.runs.clone(),
                voice: VoiceSpec {
                    name: c.voice.clone(),
                    embedding,
                },
                speaker: c.speaker.clone(),
                seed: chunk_seed(cfg.render.seed, &key),
                params: GenParams {
                    cps: cfg.chunking.cps,
                    temperature: cfg.engine.temperature,
                    top_k: cfg.engine.top_k,
                },
            };
            let request = serde_json::to_string(&req).map_err(|e| RenderError::Input(e.to_string()))?;
            planned.push(PlannedChunk {
                chapter: ci as u32,
                index: i as u32,
                plan_key: c.key.clone(),
                store_key: key,
                request,
            });
        }
    }
    Ok(planned)
}

/// The WhisperSpeech precision options of a project (`engine.quantize`).
fn model_options(project: &Project) -> engine::whisperspeech::ModelOptions {
    engine::whisperspeech::ModelOptions {
        quantize: project.config.engine.quantize,
        ..Default::default()
    }
}

/// WhisperSpeech models of a project through the model manager (see [`Resolver::for_engine`]).
fn engine_models(
    project: &Project,
    choice: &str,
    opts: &RenderOptions,
) -> Option<Result<engine::whisperspeech::ModelPaths, String>> {
    Resolver::from_env(opts.offline)
        .with_progress(BarProgress::boxed)
        .for_engine(choice, &project.config.engine.models, &project.base_dir)
}

/// Each (speaker, voice) pair of the plan → its speaker embedding (WhisperSpeech; `None` for `default`, the
/// engine's built-in speaker) or an existence check (draft engine). Unknown voices name the speaker.
type VoiceEmbeddings = std::collections::HashMap<(String, String), Option<Vec<f32>>>;

async fn resolve_voices(project: &Project, plan: &Plan, kind: EngineKind) -> Result<VoiceEmbeddings, RenderError> {
    let cfg = &project.config;
    let mut resolver = crate::voices::VoiceResolver::new(&project.base_dir)
        .with_speaker_model(cfg.engine.models.get("speaker").map(|p| project.base_dir.join(p)));
    let mut embeddings: std::collections::HashMap<(String, String), Option<Vec<f32>>> = Default::default();
    for c in plan.chapters.iter().flat_map(|ch| &ch.chunks) {
        let k = (c.speaker.clone(), c.voice.clone());
        if embeddings.contains_key(&k) {
            continue;
        }
        let who = if c.speaker == "narrator" {
            "narrator".to_string()
        } else {
            format!("character `{}`", c.speaker)
        };
        let e = if c.voice == crate::voices::DEFAULT_VOICE {
            None // the engine's built-in speaker; keeps existing store keys
        } else if kind == EngineKind::Whisperspeech {
            Some(resolver.embedding(&who, &c.voice).await?)
        } else {
            resolver.check(&who, &c.voice).await?;
            None
        };
        embeddings.insert(k, e);
    }
    Ok(embeddings)
}

/// Queues a project's plan in the store without rendering it (the first step of a batch: every project is
/// queued before any worker starts, so one worker pool serves them all). Returns the sync report.
pub async fn queue(project: &Project, plan: &Plan, opts: &RenderOptions) -> Result<SyncReport, RenderError> {
    let cfg = &project.config;
    let choice = opts.engine.clone().unwrap_or_else(|| cfg.engine.name.clone());
    let models = engine_models(project, &choice, opts);
    let (kind, _warning) = engine::resolve_with(&choice, models.as_ref())?;
    let eng = engine::create_with_options(
        kind,
        models.as_ref().and_then(|m| m.as_ref().ok()),
        &cfg.render.device,
        model_options(project),
    )?;
    let fingerprint = eng.fingerprint();
    let embeddings = resolve_voices(project, plan, kind).await?;
    let chapters: Vec<String> = plan.chapters.iter().map(|c| c.title.clone()).collect();
    let planned = planned_chunks(project, plan, &fingerprint, &embeddings)?;
    let store = Store::open(&db_location(project, opts.db.as_deref())).await?;
    let spec = RenderSpec {
        name: render_name(project),
        title: plan.title.clone(),
        author: plan.author.clone(),
        engine: kind.as_str().into(),
        fingerprint,
        max_attempts: cfg.render.max_attempts,
        audio_dir: cfg.store.audio_dir.as_ref().map(|d| project.resolve(d)),
    };
    let sync = store.sync_plan(&spec, &chapters, &planned).await;
    store.close().await;
    Ok(sync?)
}

/// The cover: `output.cover` if set, else the manuscript's own (an EPUB's cover image).
fn load_cover(project: &Project, plan: &Plan, progress: &Progress) -> Option<Cover> {
    let Some(p) = project.config.output.cover.as_ref() else {
        return plan.cover.as_ref().map(|(data, _mime)| Cover { data: data.clone() });
    };
    let path = project.resolve(p);
    match std::fs::read(&path) {
        Ok(data) => Some(Cover { data }),
        Err(e) => {
            progress.warn(&format!(
                "{}: cannot read the cover image: {e}; writing files without a cover",
                path.display()
            ));
            None
        }
    }
}

fn write_qc(out_dir: &Path, preset: &Preset, files: &[FileQc]) -> Result<(), RenderError> {
    let path = out_dir.join("qc.json");
    let tmp = out_dir.join(".qc.json.partial");
    let v = serde_json::json!({ "preset": preset, "files": files, "pass": files.iter().all(|f| f.pass) });
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| RenderError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    std::fs::write(&tmp, serde_json::to_vec_pretty(&v).unwrap_or_default()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// A chapter to assemble.
#[derive(Debug, Clone)]
pub struct ChapterAssembly {
    /// 0-based index.
    pub index: usize,
    /// Title.
    pub title: String,
    /// Chunks in order.
    pub slots: Vec<ChunkSlot>,
    /// All chunks done (only complete chapters are written).
    pub complete: bool,
    /// In-file chapter markers of this chapter's own files (podcast episode headings).
    pub sections: Vec<Section>,
    /// File name stem instead of `NN - Title`.
    pub file_stem: Option<String>,
}

/// The file name stem of a chapter's files: its `file_stem`, else `NN - Title` (zero-padded to the count).
pub fn chapter_stem(ch: &ChapterAssembly, n_chapters: usize) -> String {
    match &ch.file_stem {
        Some(s) => s.clone(),
        None => {
            let width = n_chapters.to_string().len().max(2);
            format!("{:0width$} - {}", ch.index + 1, slug(&ch.title))
        }
    }
}

/// A book to assemble.
#[derive(Debug, Clone)]
pub struct BookAssembly {
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Chapters.
    pub chapters: Vec<ChapterAssembly>,
    /// Cover art.
    pub cover: Option<Cover>,
    /// Genre tag (`Audiobook`, `Podcast`).
    pub genre: String,
}

/// What assembly wrote.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    /// Chapters written.
    pub chapters: usize,
    /// Files.
    pub outputs: Vec<OutputFile>,
    /// Loudness per chapter.
    pub loudness: Vec<ChapterLoudness>,
    /// The timeline of each assembled chapter (chapter index, chunk offsets at the engine rate).
    pub timelines: Vec<(usize, stitch::Timeline)>,
}

/// In-file chapter markers of a chapter's sections at `out_rate`: the first starts at 0 (the head room
/// tone), each other at its first chunk's offset in the timeline; each ends where the next starts.
pub fn section_marks(sections: &[Section], timeline: &stitch::Timeline, out_rate: u32) -> Vec<ChapterMark> {
    let r = out_rate as f64 / timeline.rate as f64;
    let total = (timeline.total as f64 * r).ceil() as i64;
    let starts: Vec<i64> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| match (i, timeline.chunks.get(s.first_chunk)) {
            (0, _) | (_, None) => 0,
            (_, Some((start, _))) => (*start as f64 * r).round() as i64,
        })
        .collect();
    sections
        .iter()
        .enumerate()
        .map(|(i, s)| ChapterMark {
            title: s.title.clone(),
            start: starts[i],
            end: starts.get(i + 1).copied().unwrap_or(total),
        })
        .collect()
}

/// Integrated loudness of a chapter after gain and limiter (no encoding).
async fn measure_mastered(
    store: &Store,
    ch: &ChapterAssembly,
    pieces: &[stitch::Piece],
    rate: u32,
    gain: f64,
    preset: &Preset,
) -> Result<f64, RenderError> {
    let mut meter = Meter::new(rate)?;
    let mut master = Master::new(gain, preset.ceiling_db, rate);
    let mut err = None;
    let mut add = |s: &[f32]| {
        if let Err(e) = meter.add(s) {
            err = Some(e);
        }
    };
    stitch::stream(store, ch.index, pieces, rate, &mut |s| master.push(s, &mut add)).await?;
    master.finish(&mut add);
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(meter.finish()?.lufs)
}

/// How to assemble a book.
#[derive(Debug, Clone)]
pub struct AssemblyOptions {
    /// Pauses and room tone.
    pub pauses: crate::project::PauseOptions,
    /// Loudness preset.
    pub preset: Preset,
    /// Output formats.
    pub formats: Vec<OutFormat>,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Sample rate of the stored chunk audio (the engine's rate).
    pub rate: u32,
}

/// Assembles and encodes the complete chapters of a book (checking `cancel` between chapters): pass one streams each chapter from the store
/// through the loudness meter; pass two streams it again through gain, limiter, resamplers and encoders.
/// Memory is one chunk plus codec buffers, whatever the book's length. The M4B is written only when
/// every chapter is complete.
pub async fn assemble(
    store: &Store,
    book: &BookAssembly,
    opts: &AssemblyOptions,
    cancel: &AtomicBool,
) -> Result<Assembled, RenderError> {
    let AssemblyOptions {
        pauses,
        preset,
        formats,
        out_dir,
        rate,
    } = opts;
    let rate = *rate;
    let mut result = Assembled::default();
    let n = book.chapters.len();
    // Pass one: measure.
    let mut measured = Vec::new();
    for ch in book.chapters.iter().filter(|c| c.complete) {
        if cancel.load(Ordering::SeqCst) {
            return Err(RenderError::Interrupted);
        }
        let pieces = stitch::layout(&ch.slots, pauses, rate);
        let mut meter = Meter::new(rate)?;
        let mut err = None;
        let timeline = stitch::stream(store, ch.index, &pieces, rate, &mut |s| {
            if let Err(e) = meter.add(s) {
                err = Some(e);
            }
        })
        .await?;
        if let Some(e) = err {
            return Err(e.into());
        }
        let m = meter.finish()?;
        let mut gain = loudness::gain_for(&m, preset);
        // The limiter takes some loudness off peaky speech: measure the mastered stream once and correct.
        if m.lufs > -70.0 {
            let mastered = measure_mastered(store, ch, &pieces, rate, gain, preset).await?;
            if mastered > -70.0 {
                gain = (gain + preset.target_lufs - mastered).clamp(-40.0, 40.0);
            }
        }
        result.loudness.push(ChapterLoudness {
            chapter: ch.index,
            measured_lufs: m.lufs,
            measured_peak_db: m.true_peak_db,
            gain_db: gain,
            duration: timeline.total as f64 / rate as f64,
        });
        measured.push((ch, pieces, timeline, gain));
    }
    let all_complete = measured.len() == n && n > 0;

    // The M4B with one marker per chapter (lengths at 44.1 kHz are exact: the resampler gives ⌈n·r⌉).
    let mut m4b = None;
    if formats.contains(&OutFormat::M4b) && all_complete {
        let r = OutFormat::M4b.rate() as f64 / rate as f64;
        let mut marks = Vec::new();
        let mut start = 0i64;
        for (ch, _, timeline, _) in &measured {
            let l = (timeline.total as f64 * r).ceil() as i64;
            marks.push(ChapterMark {
                title: ch.title.clone(),
                start,
                end: start + l,
            });
            start += l;
        }
        let spec = EncodeSpec {
            format: OutFormat::M4b,
            path: out_dir.join(format!("{}.m4b", slug(&book.title))),
            tags: vec![
                ("title".into(), book.title.clone()),
                ("album".into(), book.title.clone()),
                ("artist".into(), book.author.clone()),
                ("album_artist".into(), book.author.clone()),
                ("genre".into(), book.genre.clone()),
            ],
            chapters: marks,
            cover: book.cover.clone(),
        };
        m4b = Some(AudioEncoder::open(&spec)?);
    }
    let mut m4b_err: Option<EncodeError> = None;
    for (ch, pieces, timeline, gain) in &measured {
        if cancel.load(Ordering::SeqCst) {
            return Err(RenderError::Interrupted);
        }
        let mut per_chapter: Vec<(OutFormat, AudioEncoder)> = Vec::new();
        for f in formats.iter().filter(|f| **f != OutFormat::M4b) {
            let name = format!("{}.{}", chapter_stem(ch, n), f.ext());
            let spec = EncodeSpec {
                format: *f,
                path: out_dir.join(name),
                tags: vec![
                    ("title".into(), ch.title.clone()),
                    ("album".into(), book.title.clone()),
                    ("artist".into(), book.author.clone()),
                    ("album_artist".into(), book.author.clone()),
                    ("track".into(), format!("{}/{}", ch.index + 1, n)),
                    ("genre".into(), book.genre.clone()),
                ],
                chapters: section_marks(&ch.sections, timeline, f.rate()),
                cover: book.cover.clone(),
            };
            per_chapter.push((*f, AudioEncoder::open(&spec)?));
        }
        let need_44 = m4b.is_some() || per_chapter.iter().any(|(f, _)| f.rate() == 44_100);
        let need_48 = per_chapter.iter().any(|(f, _)| f.rate() == 48_000);
        let mut rs44 = if need_44 {
            Some(StreamResampler::new(rate, 44_100)?)
        } else {
            None
        };
        let mut rs48 = if need_48 {
            Some(StreamResampler::new(rate, 48_000)?)
        } else {
            None
        };
        let mut master = Master::new(*gain, preset.ceiling_db, rate);
        let mut first_err: Option<RenderError> = None;
        {
            let mut feed = |s: &[f32],
                            rs44: &mut Option<StreamResampler>,
                            rs48: &mut Option<StreamResampler>,
                            first_err: &mut Option<RenderError>,
                            flush: bool| {
                let mut to_encoders = |rate_out: u32, block: &[f32], first_err: &mut Option<RenderError>| {
                    if rate_out == 44_100 {
                        if let Some(e) = m4b.as_mut() {
                            if let Err(er) = e.push(block) {
                                m4b_err.get_or_insert(er);
                            }
                        }
                    }
                    for (f, e) in per_chapter.iter_mut() {
                        if f.rate() == rate_out {
                            if let Err(er) = e.push(block) {
                                first_err.get_or_insert(er.into());
                            }
                        }
                    }
                };
                if let Some(r) = rs44.as_mut() {
                    let res = if flush {
                        r.finish(&mut |b| to_encoders(44_100, b, first_err))
                    } else {
                        r.push(s, &mut |b| to_encoders(44_100, b, first_err))
                    };
                    if let Err(e) = res {
                        first_err.get_or_insert(e.into());
                    }
                }
                if let Some(r) = rs48.as_mut() {
                    let res = if flush {
                        r.finish(&mut |b| to_encoders(48_000, b, first_err))
                    } else {
                        r.push(s, &mut |b| to_encoders(48_000, b, first_err))
                    };
                    if let Err(e) = res {
                        first_err.get_or_insert(e.into());
                    }
                }
            };
            stitch::stream(store, ch.index, pieces, rate, &mut |s| {
                master.push(s, &mut |m| feed(m, &mut rs44, &mut rs48, &mut first_err, false));
            })
            .await?;
            master.finish(&mut |m| feed(m, &mut rs44, &mut rs48, &mut first_err, false));
            feed(&[], &mut rs44, &mut rs48, &mut first_err, true);
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        for (f, e) in per_chapter {
            let (path, samples) = e.finish()?;
            result.outputs.push(OutputFile {
                path,
                format: f,
                duration: samples as f64 / f.rate() as f64,
                chapter: Some(ch.index),
            });
        }
        result.chapters += 1;
        result.timelines.push((ch.index, timeline.clone()));
    }
    if let Some(e) = m4b_err {
        return Err(e.into());
    }
    if let Some(e) = m4b {
        let (path, samples) = e.finish()?;
        result.outputs.insert(
            0,
            OutputFile {
                path,
                format: OutFormat::M4b,
                duration: samples as f64 / OutFormat::M4b.rate() as f64,
                chapter: None,
            },
        );
    }
    Ok(result)
}
