//! The review's job queue: new takes and re-renders, run one at a time by one task that owns the engine
//! ([`ReviewContext`]). A job's state is polled by the page (`GET /api/jobs`), so results appear without a
//! reload.
//!
//! A new take is take k = (highest stored take + 1) of the chunk, numbered when it runs, so two tabs asking
//! at once get takes k and k+1, never a collision. A re-render is the project's `render` (sync, synthesise
//! what changed, assemble the changed chapters, publish), after which the view is reloaded.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc;

use super::view::View;
use super::App;
use crate::render::{ProgressMode, RenderOptions, ReviewContext};

/// What a job does.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum JobKind {
    /// The next take of one chunk.
    Take {
        /// Chapter.
        chapter: usize,
        /// Chunk.
        index: usize,
    },
    /// Render the project again (after a pronunciation edit, or to re-assemble).
    Render {
        /// Why.
        reason: String,
    },
}

/// A job as the page sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Job {
    /// Its number.
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub kind: JobKind,
    /// `queued`, `running`, `done` or `failed`.
    pub state: &'static str,
    /// What happened (the take number, the render's counts, or the error).
    pub message: String,
}

/// The queue and every job's state.
pub(crate) struct Jobs {
    list: Mutex<Vec<Job>>,
    tx: Mutex<Option<mpsc::UnboundedSender<u64>>>,
}

impl Jobs {
    pub(crate) fn new() -> Jobs {
        Jobs {
            list: Mutex::new(Vec::new()),
            tx: Mutex::new(None),
        }
    }

    /// Queues a job; returns it.
    pub(crate) fn submit(&self, kind: JobKind) -> Job {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        let job = Job {
            id: list.len() as u64 + 1,
            kind,
            state: "queued",
            message: String::new(),
        };
        list.push(job.clone());
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(job.id);
        }
        job
    }

    /// Every job, newest first (at most 50).
    pub(crate) fn recent(&self) -> Vec<Job> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().rev().take(50).cloned().collect()
    }

    fn set(&self, id: u64, state: &'static str, message: String) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = list.iter_mut().find(|j| j.id == id) {
            j.state = state;
            j.message = message;
        }
    }

    fn kind(&self, id: u64) -> Option<JobKind> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().find(|j| j.id == id).map(|j| j.kind.clone())
    }
}

/// Connects the queue to a receiver for [`run`].
pub(super) fn channel(app: &App) -> mpsc::UnboundedReceiver<u64> {
    let (tx, rx) = mpsc::unbounded_channel::<u64>();
    *app.jobs.tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    rx
}

/// Runs the jobs in order until the queue closes. Not `Send` (a render holds encoders across awaits): it
/// runs on the serving thread's local task set; synthesis itself runs on a blocking thread.
pub(super) async fn run(
    app: Arc<App>,
    ctx: ReviewContext,
    project: PathBuf,
    opts: RenderOptions,
    mut rx: mpsc::UnboundedReceiver<u64>,
) {
    let mut ctx = Some(ctx);
    while let Some(id) = rx.recv().await {
        let Some(kind) = app.jobs.kind(id) else { continue };
        app.jobs.set(id, "running", String::new());
        let result = match kind {
            JobKind::Take { chapter, index } => match ctx.take() {
                Some(c) => {
                    let (c, r) = new_take(c, chapter, index).await;
                    ctx = c;
                    r
                }
                None => Err("the project could not be opened again after the last render".into()),
            },
            JobKind::Render { .. } => {
                // the engine is dropped first: a re-render creates its own, and so does the new view
                ctx = None;
                let r = rerender(&project, &opts).await;
                match View::open(&project, &opts).await {
                    Ok((view, c)) => {
                        *app.view.write().await = Arc::new(view);
                        ctx = Some(c);
                        r
                    }
                    Err(e) => Err(format!(
                        "{}; reopening the project failed: {e}",
                        r.err().unwrap_or_default()
                    )),
                }
            }
        };
        match result {
            Ok(m) => app.jobs.set(id, "done", m),
            Err(m) => app.jobs.set(id, "failed", m),
        }
    }
}

/// Synthesises, checks and stores the next take of a chunk; hands the context back (`None` if synthesis
/// panicked).
async fn new_take(ctx: ReviewContext, chapter: usize, index: usize) -> (Option<ReviewContext>, Result<String, String>) {
    let Some(key) = ctx.key(chapter, index).map(str::to_string) else {
        return (Some(ctx), Err(format!("no chunk {index} in chapter {chapter}")));
    };
    let k = match next_take(&ctx, &key).await {
        Ok(k) => k,
        Err(e) => return (Some(ctx), Err(e)),
    };
    let mut ctx = ctx;
    let (ctx, made) = match tokio::task::spawn_blocking(move || {
        let r = ctx.synthesize_take(chapter, index, k);
        (ctx, r)
    })
    .await
    {
        Ok((c, r)) => (c, r.map_err(|e| e.to_string())),
        Err(_) => return (None, Err("synthesis of the take panicked".into())),
    };
    let result = match made {
        Ok((row, audio)) => match ctx.store.add_take(&key, &row, &audio).await {
            Ok(()) => Ok(match row.wer >= 0.0 {
                true => format!(
                    "take {k}: {}, WER {:.2}, {:.1} s",
                    if row.passed { "passed" } else { "failed" },
                    row.wer,
                    row.seconds
                ),
                false => format!("take {k}: {:.1} s (not checked: QA is off)", row.seconds),
            }),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e),
    };
    (Some(ctx), result)
}

/// The number of a chunk's next take. The chunk's own audio becomes a take first when it has none (a
/// render without QA): take 0, or the take QA chose.
async fn next_take(ctx: &ReviewContext, key: &str) -> Result<u32, String> {
    let s = |e: crate::store::StoreError| e.to_string();
    let mut taken = ctx.store.take_numbers(key).await.map_err(s)?;
    if taken.is_empty() {
        if let Some(own) = ctx.store.audio(key).await.map_err(s)? {
            ctx.store.put_take_audio(key, 0, &own).await.map_err(s)?;
            taken.push(0);
        }
    }
    Ok(taken.last().map_or(0, |t| t + 1))
}

/// Renders the project again (its own lock keeps a command-line render of it out meanwhile).
async fn rerender(project: &std::path::Path, opts: &RenderOptions) -> Result<String, String> {
    let planned = crate::podcast::load_and_plan(project).map_err(|e| e.to_string())?;
    let mut o = opts.clone();
    o.progress = ProgressMode::Quiet;
    let cancel = Arc::new(AtomicBool::new(false));
    let (s, _) = crate::batch::render_planned(&planned, &o, cancel)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "rendered: {} chunk(s) synthesised, {} of {} chapter(s) published{}",
        s.chunks.synthesized,
        s.chapters_assembled,
        planned.plan.chapters.len(),
        if s.approvals.withheld.is_empty() {
            String::new()
        } else {
            format!(", {} waiting for approval", s.approvals.withheld.len())
        }
    ))
}
