//! The last phase of a render: what it did, as [`RenderSummary`] (printed by the CLI, as JSON with `--json`).

use std::path::PathBuf;

use serde::Serialize;

use crate::assembly::{ChapterLoudness, OutputFile};
use crate::audio::qc::FileQc;
use crate::audio::stitch;
use crate::plan::Plan;
use crate::project::Project;
use crate::store::{ChapterProgress, FailedChunk, SyncReport};
use crate::worker::WorkerReport;

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

/// What incremental assembly did (see `assembly::cache`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssemblyCounts {
    /// Chapters measured or encoded by this render.
    pub chapters_encoded: usize,
    /// Complete chapters left as they were (their audio, files and M4B segment unchanged).
    pub chapters_reused: usize,
    /// Per-chapter files (MP3/Opus) encoded.
    pub files_encoded: usize,
    /// Per-chapter files left untouched.
    pub files_reused: usize,
}

impl AssemblyCounts {
    /// The counts of what assembly wrote.
    pub fn of(a: &crate::assembly::Assembled) -> AssemblyCounts {
        AssemblyCounts {
            chapters_encoded: a.encoded_chapters,
            chapters_reused: a.reused_chapters,
            files_encoded: a.files_encoded,
            files_reused: a.files_reused,
        }
    }
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
    /// Spoken by the espeak-ng draft engine (files tagged `draft: espeak-ng`; `qc.json` says so too).
    pub draft: bool,
    /// A podcast project: its chapters are episodes.
    pub podcast: bool,
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
    /// How many chapters assembly encoded and how many it reused unchanged.
    pub assembly: AssemblyCounts,
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
    /// Quality assurance (also written to `qa.json`), when QA was on.
    pub qa: Option<super::QaReport>,
    /// Files of an earlier render this one did not write (a format dropped, a chapter renamed), moved to
    /// `out/stale/` (see `publish::manifest`).
    pub stale: Vec<PathBuf>,
    /// Reviewer approvals and chosen takes (`ws-book review`).
    pub approvals: super::Approvals,
}

/// What the workers left: the store's view of the render after they stopped.
pub(super) struct AfterWorkers {
    /// Per-chapter progress.
    pub progress: Vec<ChapterProgress>,
    /// Chunks failed for good.
    pub failed: Vec<FailedChunk>,
    /// The workers' reports.
    pub reports: Vec<WorkerReport>,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
}

impl RenderSummary {
    /// The summary of a render whose workers have stopped, before assembly.
    pub(super) fn after_workers(
        project: &Project,
        plan: &Plan,
        engine: (&str, Option<String>),
        db: &str,
        sync: SyncReport,
        after: AfterWorkers,
    ) -> RenderSummary {
        let total_chunks: u64 = plan.chapters.iter().map(|c| c.chunks.len() as u64).sum();
        let reports = after.reports;
        let synthesized: u64 = reports.iter().map(|r| r.done).sum();
        let busy: f64 = reports.iter().map(|r| r.busy_seconds).sum();
        let synth_audio: f64 = reports.iter().map(|r| r.audio_seconds).sum();
        let done: u64 = after.progress.iter().map(|c| c.done).sum();
        RenderSummary {
            project: project.source.clone(),
            title: plan.title.clone(),
            engine: engine.0.into(),
            draft: engine.0 == crate::engine::EngineKind::Espeak.as_str(),
            podcast: project.config.kind == crate::project::ProjectKind::Podcast,
            warning: engine.1,
            db: db.to_string(),
            chunks: ChunkCounts {
                total: total_chunks,
                reused: sync.already_done + sync.reused,
                synthesized,
                failed: after.failed.len() as u64,
                remaining: total_chunks.saturating_sub(done),
            },
            sync,
            audio_seconds: after.progress.iter().map(|c| c.audio_seconds).sum(),
            wall_seconds: 0.0,
            speed: if busy > 0.0 { synth_audio / busy } else { 0.0 },
            chapters_assembled: 0,
            assembly: AssemblyCounts::default(),
            outputs: vec![],
            loudness: vec![],
            qc: vec![],
            failed: after.failed,
            workers: reports,
            transcripts: vec![],
            timelines: vec![],
            complete: false,
            stale: vec![],
            interrupted: after.interrupted,
            qa: None,
            approvals: Default::default(),
        }
    }
}
