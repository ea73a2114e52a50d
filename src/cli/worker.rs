//! `ws-book worker`: a standalone worker process joining the renders of a state database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ws_book::engine;
use ws_book::models::{BarProgress, Fetch, Resolver};
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
    /// WhisperSpeech model preset (tiny, base, small); must give the same models as the render's project, or
    /// the worker refuses to claim (the engine fingerprint includes the model digests).
    #[arg(long)]
    pub preset: Option<String>,
    /// T2S model: a preset name, `owner/repo:file`, a library name or a local path (overrides --preset).
    #[arg(long)]
    pub t2s: Option<String>,
    /// S2A model (as --t2s).
    #[arg(long)]
    pub s2a: Option<String>,
    /// Vocos model (as --t2s).
    #[arg(long)]
    pub vocos: Option<String>,
    /// Never connect to the model hub (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// The q8_0 CPU speed mode (must match the render's project `engine.quantize`, or the worker refuses).
    #[arg(long)]
    pub quantize: bool,
    /// Chunks per claim.
    #[arg(long, default_value_t = 1)]
    pub batch_size: u32,
    /// Lease length in seconds.
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// Keep waiting for work instead of exiting when the queue is empty.
    #[arg(long)]
    pub wait: bool,
    /// Print the worker's report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `worker`.
pub fn run(a: WorkerArgs) -> anyhow::Result<i32> {
    // WhisperSpeech models through the model manager, as `render` does: `whisperspeech` fetches what is missing,
    // `auto` uses what is present or falls back to the draft engine
    let mut settings = std::collections::BTreeMap::new();
    for (k, v) in [
        ("preset", &a.preset),
        ("t2s", &a.t2s),
        ("s2a", &a.s2a),
        ("vocos", &a.vocos),
    ] {
        if let Some(v) = v {
            settings.insert(k.to_string(), v.clone());
        }
    }
    let models = match a.engine.as_str() {
        "whisperspeech" | "auto" => {
            let fetch = if a.engine == "whisperspeech" {
                Fetch::Allow
            } else {
                Fetch::Never
            };
            let resolver = Resolver::from_env(a.offline).with_progress(BarProgress::boxed);
            Some(
                resolver
                    .engine_models(&settings, std::path::Path::new("."), fetch)
                    .map_err(|e| e.to_string()),
            )
        }
        _ => None,
    };
    let (kind, warning) = engine::resolve_with(&a.engine, models.as_ref())?;
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let options = ws_book::engine::whisperspeech::ModelOptions {
        quantize: a.quantize,
        ..Default::default()
    };
    let eng = engine::create_with_options(kind, models.as_ref().and_then(|m| m.as_ref().ok()), &a.device, options)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let cancel = Arc::new(AtomicBool::new(false));
    let report = rt.block_on(async {
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.store(true, Ordering::SeqCst);
            }
        });
        let store = Store::open(&a.db).await?;
        worker::release_dead_local_workers(&store).await?;
        let mut cfg = WorkerConfig::new(worker::worker_id(0));
        cfg.batch_size = a.batch_size.max(1);
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
    Ok(if cancel.load(Ordering::SeqCst) { 130 } else { 0 })
}
