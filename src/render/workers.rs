//! Phase four of a render: the in-process workers, each with its own engine, claiming from the store until
//! nothing is left (or Ctrl-C), with progress shown while they run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::progress::{Progress, ProgressMode};
use super::{RenderError, RenderOptions};
use crate::engine::{Engine, EngineKind};
use crate::project::Project;
use crate::store::{ChunkState, Store};
use crate::worker::{self, WorkerConfig, WorkerError, WorkerReport, WorkerState};

/// Runs one worker per engine on `store` and waits for all of them; returns their reports.
pub(super) async fn run(
    store: &Store,
    engines: Vec<Box<dyn Engine>>,
    project: &Project,
    opts: &RenderOptions,
    kind: EngineKind,
    watch: Watch<'_>,
    cancel: &Arc<AtomicBool>,
) -> Result<Vec<WorkerReport>, RenderError> {
    let cfg = &project.config;
    let mut handles = Vec::new();
    let mut states = Vec::new();
    let n_workers = engines.len();
    for (i, eng) in engines.into_iter().enumerate() {
        let mut wc = WorkerConfig::new(worker::worker_id(i));
        let batch = opts.batch_size.unwrap_or(cfg.render.batch_size);
        // `auto` is what one device takes: in-process workers share it (they all run on `render.device`)
        wc.batch_size = batch.resolve((eng.auto_batch() / n_workers).max(1)) as u32;
        // Several in-process workers share one device: each claims one batch at a time so none hoards the
        // queue's tail; a lone worker claims four batches' worth and buckets them by length.
        if n_workers > 1 {
            wc.bucket_window = 1;
        }
        wc.lease = opts.lease;
        wc.device = match kind {
            EngineKind::Espeak => "cpu".into(),
            EngineKind::Whisperspeech => cfg.render.device.clone(),
        };
        let state = Arc::new(WorkerState::default());
        states.push(state.clone());
        handles.push(tokio::spawn(worker::run(store.clone(), eng, wc, state, cancel.clone())));
    }
    watch.until_finished(store, &handles, &states).await?;
    let mut reports = Vec::new();
    for h in handles {
        let r = h.await.map_err(|_| WorkerError::Panicked("render".into()))??;
        reports.push(r);
    }
    watch.progress.finish();
    Ok(reports)
}

/// What the render shows while its workers run.
pub(super) struct Watch<'a> {
    /// Where progress goes.
    pub progress: &'a Progress,
    /// The render in the store.
    pub render_id: i64,
    /// Chunks in the plan.
    pub total_chunks: u64,
}

impl Watch<'_> {
    /// Shows progress (bars often, plain lines every 5 s, a JSON event per chunk done or failed) until every
    /// worker has finished.
    async fn until_finished(
        &self,
        store: &Store,
        handles: &[tokio::task::JoinHandle<Result<WorkerReport, WorkerError>>],
        states: &[Arc<WorkerState>],
    ) -> Result<(), RenderError> {
        let json = self.progress.mode == ProgressMode::Json;
        let mut last_line = Instant::now();
        let plain_every = Duration::from_secs(5);
        let mut seen = HashMap::new();
        if json {
            // Chunks already done before this run are reported once, up front.
            self.chunk_events(&mut seen, store.chunk_states(self.render_id).await?);
        }
        loop {
            let finished = handles.iter().all(|h| h.is_finished());
            if json {
                self.chunk_events(&mut seen, store.chunk_states(self.render_id).await?);
            }
            if finished {
                return Ok(());
            }
            // 250 ms between updates, but back at once when the last worker ends (a render with little to
            // synthesise does not wait out the tick)
            for _ in 0..25 {
                if handles.iter().all(|h| h.is_finished()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if self.progress.is_tty() || last_line.elapsed() >= plain_every {
                last_line = Instant::now();
                // The database may be restarting (workers retry on their own): skip this update then.
                match self.update(store, states).await {
                    Err(RenderError::Store(e)) if e.is_transient() => continue,
                    other => other?,
                }
            }
        }
    }

    /// A `chunk` event for each chunk newly done or failed.
    fn chunk_events(&self, seen: &mut HashMap<(u32, u32), String>, states: Vec<ChunkState>) {
        for st in states {
            if st.status == "done" || st.status == "failed" {
                let prev = seen.insert((st.chapter, st.index), st.status.clone());
                if prev.as_deref() != Some(st.status.as_str()) {
                    self.progress.event(
                        "chunk",
                        serde_json::json!({
                            "chapter": st.chapter, "index": st.index, "status": st.status, "attempts": st.attempts,
                        }),
                    );
                }
            }
        }
    }

    /// One progress update: chunks done, audio stored, the workers' engine speed and activities.
    async fn update(&self, store: &Store, states: &[Arc<WorkerState>]) -> Result<(), RenderError> {
        let prog = store.progress(self.render_id).await?;
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
        let (retaken, flagged) = states.iter().fold((0u64, 0u64), |(r, f), s| {
            (
                r + s.retaken.load(Ordering::Relaxed),
                f + s.flagged.load(Ordering::Relaxed),
            )
        });
        let qa = if retaken + flagged > 0 {
            format!(", QA: {retaken} re-taken, {flagged} flagged")
        } else {
            String::new()
        };
        self.progress.update(done, self.total_chunks, audio, speed, &acts, &qa);
        Ok(())
    }
}
