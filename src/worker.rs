//! The worker loop: claim a batch with a lease → synthesise on a blocking thread → complete (audio and
//! status in one transaction) or fail with a back-off. A heartbeat task renews the leases while the
//! engine works. One worker owns one engine instance (one device).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{Engine, SynthRequest};
use crate::store::{Claim, FailOutcome, Outcome, Store, StoreError, StoredAudio, WorkerInfo};

/// Errors that stop a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine thread panicked.
    #[error("worker {0}: the engine thread panicked")]
    Panicked(String),
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique id.
    pub id: String,
    /// Device label.
    pub device: String,
    /// Chunks per claim (and per engine batch).
    pub batch_size: u32,
    /// Lease length; renewed every third of it.
    pub lease: Duration,
    /// Stop when no chunk of this engine is pending or leased anywhere (render); otherwise wait for work.
    pub exit_when_idle: bool,
    /// How long to wait before looking again when nothing is claimable.
    pub poll: Duration,
    /// First retry delay after a failure (doubles per attempt, capped at 60 s).
    pub retry_base: Duration,
}

impl WorkerConfig {
    /// Defaults for worker `id`.
    pub fn new(id: String) -> WorkerConfig {
        WorkerConfig {
            id,
            device: "cpu".into(),
            batch_size: 1,
            lease: Duration::from_secs(30),
            exit_when_idle: true,
            poll: Duration::from_millis(200),
            retry_base: Duration::from_millis(250),
        }
    }
}

/// Live state of a worker, shared with the progress display.
#[derive(Debug, Default)]
pub struct WorkerState {
    /// Chunks this worker completed.
    pub done: AtomicU64,
    /// Failed attempts.
    pub failures: AtomicU64,
    /// Audio produced, in milliseconds.
    pub audio_ms: AtomicU64,
    /// Time spent in the engine, in milliseconds.
    pub busy_ms: AtomicU64,
    /// What the worker is doing now.
    pub activity: Mutex<String>,
}

impl WorkerState {
    fn set(&self, s: String) {
        if let Ok(mut a) = self.activity.lock() {
            *a = s;
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerReport {
    /// Worker id.
    pub id: String,
    /// Chunks completed.
    pub done: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Completions refused because the lease was lost.
    pub lease_lost: u64,
    /// Seconds of audio produced.
    pub audio_seconds: f64,
    /// Seconds in the engine.
    pub busy_seconds: f64,
}

/// A worker id unique across hosts and processes: `host:pid:n`.
pub fn worker_id(n: usize) -> String {
    format!("{}:{}:{n}", hostname(), std::process::id())
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a process of this id runs on this host (Linux `/proc`; elsewhere assumed alive, so its leases
/// return to the queue only when they expire).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

use std::path::Path;

/// Returns the leases of workers registered from this host whose process is gone (a crashed or killed
/// render), so a restart does not wait for their leases to expire.
pub async fn release_dead_local_workers(store: &Store) -> Result<u64, StoreError> {
    let host = hostname();
    let mut n = 0;
    for w in store.workers().await? {
        if !w.stopped && w.info.host == host && w.info.pid != std::process::id() && !process_alive(w.info.pid) {
            n += store.stop_worker(&w.info.id).await?;
        }
    }
    Ok(n)
}

fn retry_delay(base: Duration, attempts: u32) -> i64 {
    let ms = base.as_millis() as u64 * (1u64 << attempts.min(16));
    ms.min(60_000) as i64
}

/// Runs a worker until there is no work left (with `exit_when_idle`) or `cancel` is set. On exit the
/// worker's remaining leases are released.
pub async fn run(
    store: Store,
    engine: Box<dyn Engine>,
    cfg: WorkerConfig,
    state: Arc<WorkerState>,
    cancel: Arc<AtomicBool>,
) -> Result<WorkerReport, WorkerError> {
    let fingerprint = engine.fingerprint();
    store
        .register_worker(&WorkerInfo {
            id: cfg.id.clone(),
            host: hostname(),
            pid: std::process::id(),
            device: cfg.device.clone(),
            engine: fingerprint.clone(),
        })
        .await?;
    let lease_ms = cfg.lease.as_millis() as i64;
    let hb = {
        let store = store.clone();
        let id = cfg.id.clone();
        let every = cfg.lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = store.heartbeat(&id, lease_ms).await;
            }
        })
    };
    let result = work(&store, engine, &cfg, &fingerprint, &state, &cancel).await;
    hb.abort();
    let released = store.stop_worker(&cfg.id).await;
    let report = result?;
    released?;
    state.set("stopped".into());
    Ok(report)
}

async fn work(
    store: &Store,
    mut engine: Box<dyn Engine>,
    cfg: &WorkerConfig,
    fingerprint: &str,
    state: &Arc<WorkerState>,
    cancel: &Arc<AtomicBool>,
) -> Result<WorkerReport, WorkerError> {
    let mut report = WorkerReport {
        id: cfg.id.clone(),
        ..Default::default()
    };
    let lease_ms = cfg.lease.as_millis() as i64;
    let mut batch_size = cfg.batch_size.max(1);
    loop {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let claims = store.claim(&cfg.id, fingerprint, batch_size, lease_ms).await?;
        if claims.is_empty() {
            if cfg.exit_when_idle && !store.has_work(fingerprint).await? {
                break;
            }
            state.set("waiting for work".into());
            tokio::time::sleep(cfg.poll).await;
            continue;
        }
        // Parse the requests; a malformed one fails on its own.
        let mut batch: Vec<(Claim, SynthRequest)> = Vec::with_capacity(claims.len());
        for c in claims {
            match serde_json::from_str::<SynthRequest>(&c.request) {
                Ok(r) => batch.push((c, r)),
                Err(e) => {
                    let msg = format!("the stored request is not readable: {e}");
                    fail(store, &c, &msg, cfg, state, &mut report).await?;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let preview: String = batch[0].1.text().chars().take(40).collect();
        state.set(format!("{} chunk(s): {preview}…", batch.len()));
        let reqs: Vec<SynthRequest> = batch.iter().map(|(_, r)| r.clone()).collect();
        let started = Instant::now();
        let (eng, result) = tokio::task::spawn_blocking(move || {
            let r = engine.synthesize(&reqs);
            (engine, r)
        })
        .await
        .map_err(|_| WorkerError::Panicked(cfg.id.clone()))?;
        engine = eng;
        let busy = started.elapsed().as_secs_f64();
        state.busy_ms.fetch_add((busy * 1000.0) as u64, Ordering::Relaxed);
        match result {
            Ok(audios) if audios.len() == batch.len() => {
                let per = busy / batch.len() as f64;
                for ((claim, _), audio) in batch.iter().zip(audios) {
                    let stored = StoredAudio {
                        sample_rate: audio.sample_rate,
                        samples: audio.samples,
                    };
                    match store.complete(claim, &cfg.id, &stored, per).await? {
                        Outcome::Recorded => {
                            report.done += 1;
                            report.audio_seconds += stored.seconds();
                            state.done.fetch_add(1, Ordering::Relaxed);
                            state
                                .audio_ms
                                .fetch_add((stored.seconds() * 1000.0) as u64, Ordering::Relaxed);
                        }
                        Outcome::LeaseLost => report.lease_lost += 1,
                    }
                }
                report.busy_seconds += busy;
            }
            Ok(audios) => {
                let msg = format!(
                    "the engine returned {} audio clips for {} requests",
                    audios.len(),
                    batch.len()
                );
                for (c, _) in &batch {
                    fail(store, c, &msg, cfg, state, &mut report).await?;
                }
            }
            Err(_) if batch.len() > 1 => {
                // Isolate the failing chunk: return the batch and take chunks one at a time from now on.
                for (c, _) in &batch {
                    store.release(c).await?;
                }
                batch_size = 1;
            }
            Err(e) => {
                let msg = e.to_string();
                for (c, _) in &batch {
                    fail(store, c, &msg, cfg, state, &mut report).await?;
                }
            }
        }
    }
    Ok(report)
}

async fn fail(
    store: &Store,
    claim: &Claim,
    msg: &str,
    cfg: &WorkerConfig,
    state: &Arc<WorkerState>,
    report: &mut WorkerReport,
) -> Result<(), WorkerError> {
    report.failures += 1;
    state.failures.fetch_add(1, Ordering::Relaxed);
    match store
        .fail(claim, msg, retry_delay(cfg.retry_base, claim.attempts))
        .await?
    {
        FailOutcome::LeaseLost => report.lease_lost += 1,
        FailOutcome::Retrying | FailOutcome::Failed => {}
    }
    Ok(())
}
