//! `ws-book worker`: a standalone worker process joining the renders of a state database.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::model_args::ModelArgs;
use ws_book::engine;
use ws_book::store::Store;
use ws_book::worker::{self, WorkerConfig, WorkerState};

/// Arguments of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// State database: a SQLite path, `sqlite:PATH`, or `postgres://USER@HOST:PORT/DB` (a render farm).
    #[arg(long)]
    pub db: String,
    /// Device for the WhisperSpeech engine (`auto`, `cpu`, `cuda`, `cuda:N`); recorded with the
    /// worker's registration and shown by `status` (the espeak draft engine always runs on the CPU).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// How long to keep retrying when the database is unreachable before giving up.
    #[arg(long, default_value_t = 300)]
    pub reconnect_secs: u64,
    /// Engine: espeak or whisperspeech (auto picks what is available).
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// WhisperSpeech models: the same models (and `--quantize`) as the render's project, or the worker refuses
    /// to claim (the engine fingerprint includes the model digests and the precision).
    #[command(flatten)]
    pub models: ModelArgs,
    /// Chunks per engine batch: `auto` (the engine's best for its device: 8 on the CPU, from free memory on a
    /// GPU) or a number.
    #[arg(long, default_value = "auto", value_parser = super::render::parse_batch_size)]
    pub batch_size: ws_book::project::BatchSize,
    /// WhisperSpeech precision on a GPU: f32, f16 or bf16 — the render's `render.dtype`, or the worker refuses
    /// to claim (the precision is part of the engine fingerprint). The CPU takes f32 only.
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16", "bf16"])]
    pub dtype: String,
    /// Lease length in seconds.
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// Keep waiting for work instead of exiting when the queue is empty.
    #[arg(long)]
    pub wait: bool,
    /// Print the worker's report as JSON.
    #[arg(long)]
    pub json: bool,
    /// QA: the same settings as the render's project (`qa:`), or the worker refuses to claim (QA settings
    /// are part of the engine fingerprint).
    #[command(flatten)]
    pub qa: super::qa_args::QaArgs,
}

/// Runs `worker`.
pub fn run(a: WorkerArgs) -> anyhow::Result<i32> {
    // WhisperSpeech models through the model manager, as `render` resolves them
    let models = a.models.resolve(&a.engine);
    let (kind, warning) = engine::resolve_with(&a.engine, models.as_ref())?;
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let mut eng = engine::create_with_options(
        kind,
        models.as_ref().and_then(|m| m.as_ref().ok()),
        &a.device,
        engine::whisperspeech::ModelOptions {
            dtype: engine::whisperspeech::ModelOptions::parse_dtype(&a.dtype).map_err(anyhow::Error::msg)?,
            ..a.models.options()
        },
    )?;
    let resolver =
        ws_book::models::Resolver::from_env(a.models.offline).with_progress(ws_book::models::BarProgress::boxed);
    let qa = ws_book::qa::setup::resolve(
        &Default::default(),
        &a.qa.flags(),
        kind,
        &[],
        &resolver,
        std::path::Path::new("."),
        None,
    )
    .map_err(anyhow::Error::msg)?;
    if let Some(q) = &qa {
        eprintln!("worker: {}", q.describe());
        eng = Box::new(q.wrap(eng, &a.device).map_err(anyhow::Error::msg)?);
    }
    let auto_batch = eng.auto_batch();
    let (rt, cancel, stopped) = super::signals::interruptible_runtime("worker")?;
    let report = rt.block_on(async {
        let store = Store::open(&a.db).await?;
        worker::release_dead_local_workers(&store).await?;
        let mut cfg = WorkerConfig::new(worker::worker_id(0));
        cfg.batch_size = a.batch_size.resolve(auto_batch) as u32;
        cfg.lease = Duration::from_secs(a.lease_secs.max(1));
        cfg.exit_when_idle = !a.wait;
        cfg.device = match kind {
            engine::EngineKind::Espeak => "cpu".into(),
            _ => a.device.clone(),
        };
        cfg.reconnect_for = Duration::from_secs(a.reconnect_secs);
        cfg.refuse_on_mismatch = true;
        let r = worker::run(
            store.clone(),
            eng,
            cfg,
            Arc::new(WorkerState::default()),
            cancel.clone(),
        )
        .await;
        store.close().await;
        anyhow::Ok(r?)
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "worker {}: {} chunks done, {} failed attempts, {:.1} s audio in {:.1} s",
            report.id, report.done, report.failures, report.audio_seconds, report.busy_seconds
        );
    }
    Ok(if cancel.load(Ordering::SeqCst) {
        stopped.exit_code()
    } else {
        0
    })
}
