//! The worker loop: claim a batch with a lease → synthesise on a blocking thread → complete (audio and
//! status in one transaction) or fail with a back-off. A heartbeat task renews the leases while the
//! engine works. One worker owns one engine instance (one device).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{Audio, Engine, SynthRequest};
use crate::qa::ChunkQa;
use crate::store::{Claim, FailOutcome, Outcome, Store, StoreError, StoredAudio, TakeRow, WorkerInfo};

/// Errors that stop a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine thread panicked.
    #[error("worker {0}: the engine thread panicked")]
    Panicked(String),
    /// Every render with work was queued by a different engine or model version than this worker's.
    #[error(
        "worker {worker} refuses to claim: its engine fingerprint `{fingerprint}` differs from {renders} \
         (a different engine or model version; mixing versions in one render would break its determinism). \
         Run the worker with the same engine and models as the render"
    )]
    Mismatch {
        /// Worker id.
        worker: String,
        /// This worker's fingerprint.
        fingerprint: String,
        /// The renders with work and their fingerprints, as a sentence.
        renders: String,
    },
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique id.
    pub id: String,
    /// Device label.
    pub device: String,
    /// Chunks per engine batch.
    pub batch_size: u32,
    /// Batches per claim: a worker claims `batch_size × bucket_window` chunks and groups them by length into
    /// batches (see [`length_buckets`]); 1 claims one batch at a time.
    pub bucket_window: u32,
    /// Lease length; renewed every third of it.
    pub lease: Duration,
    /// Stop when no chunk of this engine is pending or leased anywhere (render); otherwise wait for work.
    pub exit_when_idle: bool,
    /// How long to wait before looking again when nothing is claimable.
    pub poll: Duration,
    /// First retry delay after a failure (doubles per attempt, capped at 60 s).
    pub retry_base: Duration,
    /// How long to keep retrying (with back-off) when the database is unreachable before giving up.
    pub reconnect_for: Duration,
    /// Standalone worker: when it finds no work of its own fingerprint but renders of other fingerprints
    /// have work, stop with [`WorkerError::Mismatch`] (or, with `exit_when_idle` off, say so once).
    pub refuse_on_mismatch: bool,
}

impl WorkerConfig {
    /// Defaults for worker `id`.
    pub fn new(id: String) -> WorkerConfig {
        WorkerConfig {
            id,
            device: "cpu".into(),
            batch_size: 1,
            bucket_window: 4,
            lease: Duration::from_secs(30),
            exit_when_idle: true,
            poll: Duration::from_millis(200),
            retry_base: Duration::from_millis(250),
            reconnect_for: Duration::from_secs(300),
            refuse_on_mismatch: false,
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
    /// Chunks QA synthesised more than once.
    pub retaken: AtomicU64,
    /// Chunks QA flagged (no take passed).
    pub flagged: AtomicU64,
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

pub use crate::host::{hostname, process_alive};

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

/// Runs a store operation, retrying with exponential back-off (100 ms doubling to 5 s) while the error is
/// a lost connection ([`StoreError::is_transient`]) and `cfg.reconnect_for` has not passed.
async fn retrying<T, F, Fut>(cfg: &WorkerConfig, state: &WorkerState, what: &str, mut op: F) -> Result<T, WorkerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    let mut warned = false;
    loop {
        match op().await {
            Ok(v) => {
                if warned {
                    eprintln!("worker {}: database reachable again ({what})", cfg.id);
                }
                return Ok(v);
            }
            Err(e) if e.is_transient() && started.elapsed() < cfg.reconnect_for => {
                if !warned {
                    eprintln!(
                        "worker {}: database unreachable while trying to {what}, retrying: {e}",
                        cfg.id
                    );
                    warned = true;
                }
                state.set(format!(
                    "database unreachable ({what}); retrying in {} ms",
                    delay.as_millis()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                if e.is_transient() {
                    eprintln!(
                        "worker {}: database unreachable while trying to {what} for {:.0} s (--reconnect-secs {}), \
                         giving up",
                        cfg.id,
                        started.elapsed().as_secs_f64(),
                        cfg.reconnect_for.as_secs()
                    );
                }
                return Err(e.into());
            }
        }
    }
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
    let info = WorkerInfo {
        id: cfg.id.clone(),
        host: hostname(),
        pid: std::process::id(),
        device: cfg.device.clone(),
        engine: fingerprint.clone(),
    };
    retrying(&cfg, &state, "register the worker", || store.register_worker(&info)).await?;
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
    let released = retrying(&cfg, &state, "release the worker's leases", || {
        store.stop_worker(&cfg.id)
    })
    .await;
    let report = result?;
    released?;
    state.set("stopped".into());
    Ok(report)
}

async fn work(
    store: &Store,
    engine: Box<dyn Engine>,
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
    let mut said_mismatch = false;
    let mut engine = Some(engine);
    'claims: loop {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        // a window of several batches, so that chunks of similar length can share one
        let window = if batch_size > 1 {
            batch_size.saturating_mul(cfg.bucket_window.max(1))
        } else {
            1
        };
        let claims = retrying(cfg, state, "claim chunks", || {
            store.claim(&cfg.id, fingerprint, window, lease_ms)
        })
        .await?;
        if claims.is_empty() {
            if !idle(store, cfg, fingerprint, state, &report, &mut said_mismatch).await? {
                break;
            }
            continue;
        }
        let batch = parse_claims(store, claims, cfg, state, &mut report).await?;
        let mut buckets = length_buckets(batch, batch_size as usize, |(_, r)| expected_seconds(r)).into_iter();
        while let Some(bucket) = buckets.next() {
            if cancel.load(Ordering::SeqCst) {
                break 'claims; // the leases still held are released when the worker stops
            }
            let eng = engine.take().ok_or_else(|| WorkerError::Panicked(cfg.id.clone()))?;
            let (eng, isolate) = synthesize_batch(store, eng, cfg, state, &bucket, &mut report).await?;
            engine = Some(eng);
            if isolate {
                // Isolate the failing chunk: return this batch and the rest of the window, and take chunks
                // one at a time from now on.
                let rest: Vec<(Claim, SynthRequest)> = buckets.flatten().collect();
                for (c, _) in bucket.iter().chain(&rest) {
                    retrying(cfg, state, "release a lease", || store.release(c)).await?;
                }
                batch_size = 1;
                continue 'claims;
            }
        }
    }
    Ok(report)
}

/// A request's expected length in seconds of speech (characters / cps): the bucketing key.
pub fn expected_seconds(r: &SynthRequest) -> f64 {
    r.text().chars().count() as f64 / r.params.cps.max(1.0)
}

/// Splits `items` into batches of at most `size` whose members have similar `len` (sorted by it, ties in
/// their original order), so that a batch's rows finish at about the same decoder step and little work is
/// padding. Which chunks share a batch never changes their audio: a row's result does not depend on its batch
/// mates (`tests/batch_buckets.rs`).
pub fn length_buckets<T>(mut items: Vec<T>, size: usize, len: impl Fn(&T) -> f64) -> Vec<Vec<T>> {
    items.sort_by(|a, b| len(a).total_cmp(&len(b)));
    let size = size.max(1);
    let mut out = Vec::with_capacity(items.len().div_ceil(size));
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(size).collect());
    }
    out
}

/// Synthesises one batch on a blocking thread and completes or fails its chunks. Returns the engine and
/// whether the batch failed as a whole with more than one chunk (the caller then isolates the bad chunk).
async fn synthesize_batch(
    store: &Store,
    mut engine: Box<dyn Engine>,
    cfg: &WorkerConfig,
    state: &Arc<WorkerState>,
    batch: &[(Claim, SynthRequest)],
    report: &mut WorkerReport,
) -> Result<(Box<dyn Engine>, bool), WorkerError> {
    let preview: String = batch[0].1.text().chars().take(40).collect();
    state.set(format!("{} chunk(s): {preview}…", batch.len()));
    let reqs: Vec<SynthRequest> = batch.iter().map(|(_, r)| r.clone()).collect();
    let started = Instant::now();
    let (eng, (result, checks)) = tokio::task::spawn_blocking(move || {
        let r = engine.synthesize(&reqs);
        let checks = engine.take_checks();
        (engine, (r, checks))
    })
    .await
    .map_err(|_| WorkerError::Panicked(cfg.id.clone()))?;
    let busy = started.elapsed().as_secs_f64();
    state.busy_ms.fetch_add((busy * 1000.0) as u64, Ordering::Relaxed);
    match result {
        Ok(audios) if audios.len() == batch.len() => {
            if let Some(checks) = checks {
                record_checks(store, cfg, state, batch, &checks).await?;
            }
            complete(store, cfg, state, batch, audios, busy, report).await?;
        }
        Ok(audios) => {
            let msg = format!(
                "the engine returned {} audio clips for {} requests",
                audios.len(),
                batch.len()
            );
            for (c, _) in batch {
                fail(store, c, &msg, cfg, state, report).await?;
            }
        }
        Err(_) if batch.len() > 1 => return Ok((eng, true)),
        Err(e) => {
            let msg = e.to_string();
            for (c, _) in batch {
                fail(store, c, &msg, cfg, state, report).await?;
            }
        }
    }
    Ok((eng, false))
}

/// Nothing was claimed: warns (or fails, when the worker exits when idle) if the only work left belongs to
/// renders with another engine fingerprint, then waits a poll interval. `false` when the worker should stop.
async fn idle(
    store: &Store,
    cfg: &WorkerConfig,
    fingerprint: &str,
    state: &Arc<WorkerState>,
    report: &WorkerReport,
    said_mismatch: &mut bool,
) -> Result<bool, WorkerError> {
    let has_work = retrying(cfg, state, "look for work", || store.has_work(fingerprint)).await?;
    if !has_work && cfg.refuse_on_mismatch && report.done == 0 && !*said_mismatch {
        let others = retrying(cfg, state, "look for work", || store.other_work(fingerprint)).await?;
        if !others.is_empty() {
            let renders = others
                .iter()
                .map(|(name, fp)| format!("render `{name}` (fingerprint `{fp}`)"))
                .collect::<Vec<_>>()
                .join(", ");
            let e = WorkerError::Mismatch {
                worker: cfg.id.clone(),
                fingerprint: fingerprint.to_string(),
                renders,
            };
            if cfg.exit_when_idle {
                return Err(e);
            }
            eprintln!("warning: {e}");
            *said_mismatch = true;
        }
    }
    if cfg.exit_when_idle && !has_work {
        return Ok(false);
    }
    state.set("waiting for work".into());
    tokio::time::sleep(cfg.poll).await;
    Ok(true)
}

/// Parses the claimed requests; a malformed one fails on its own.
async fn parse_claims(
    store: &Store,
    claims: Vec<Claim>,
    cfg: &WorkerConfig,
    state: &Arc<WorkerState>,
    report: &mut WorkerReport,
) -> Result<Vec<(Claim, SynthRequest)>, WorkerError> {
    let mut batch = Vec::with_capacity(claims.len());
    for c in claims {
        match serde_json::from_str::<SynthRequest>(&c.request) {
            Ok(r) => batch.push((c, r)),
            Err(e) => {
                let msg = format!("the stored request is not readable: {e}");
                fail(store, &c, &msg, cfg, state, report).await?;
            }
        }
    }
    Ok(batch)
}

/// Stores a batch's audio and counts what was recorded.
async fn complete(
    store: &Store,
    cfg: &WorkerConfig,
    state: &Arc<WorkerState>,
    batch: &[(Claim, SynthRequest)],
    audios: Vec<Audio>,
    busy: f64,
    report: &mut WorkerReport,
) -> Result<(), WorkerError> {
    let stored: Vec<StoredAudio> = audios
        .into_iter()
        .map(|a| StoredAudio {
            sample_rate: a.sample_rate,
            samples: a.samples,
        })
        .collect();
    let items: Vec<(&Claim, &StoredAudio)> = batch.iter().map(|(c, _)| c).zip(stored.iter()).collect();
    // The chunk is finished even if the database went away meanwhile: the completion is retried
    // until it is reachable again, and the lease token fences it if the lease was taken over.
    let outcomes = retrying(cfg, state, "complete chunks", || {
        store.complete_batch(&items, &cfg.id, busy)
    })
    .await?;
    for (outcome, audio) in outcomes.into_iter().zip(&stored) {
        match outcome {
            Outcome::Recorded => {
                report.done += 1;
                report.audio_seconds += audio.seconds();
                state.done.fetch_add(1, Ordering::Relaxed);
                state
                    .audio_ms
                    .fetch_add((audio.seconds() * 1000.0) as u64, Ordering::Relaxed);
            }
            Outcome::LeaseLost => report.lease_lost += 1,
        }
    }
    report.busy_seconds += busy;
    Ok(())
}

/// Stores the QA takes of a batch before it completes (idempotent, so a crash in between repeats them).
async fn record_checks(
    store: &Store,
    cfg: &WorkerConfig,
    state: &WorkerState,
    batch: &[(Claim, SynthRequest)],
    checks: &[ChunkQa],
) -> Result<(), WorkerError> {
    for ((claim, _), qa) in batch.iter().zip(checks) {
        let rows = take_rows(qa);
        // every take's audio first, so a take listed in the takes table can always be heard
        for (t, a) in qa.takes.iter().zip(&qa.audio) {
            let stored = StoredAudio {
                sample_rate: a.sample_rate,
                samples: a.samples.clone(),
            };
            retrying(cfg, state, "store a take's audio", || {
                store.put_take_audio(&claim.store_key, t.take, &stored)
            })
            .await?;
        }
        retrying(cfg, state, "record QA takes", || {
            store.record_takes(&claim.store_key, &rows)
        })
        .await?;
        if qa.takes.len() > 1 {
            state.retaken.fetch_add(1, Ordering::Relaxed);
        }
        if qa.flagged {
            state.flagged.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// A chunk's QA as store rows.
pub fn take_rows(qa: &ChunkQa) -> Vec<TakeRow> {
    qa.takes
        .iter()
        .map(|t| TakeRow {
            take: t.take,
            seed: t.seed,
            wer: t.wer,
            cer: t.cer,
            seconds: t.seconds,
            stop: if t.capped { "cap" } else { "end" }.into(),
            duration: t.duration.as_str().into(),
            transcript: t.transcript.clone(),
            language: qa.language.clone(),
            passed: t.passed,
            chosen: t.take == qa.chosen,
            flagged: qa.flagged,
            asr: qa.asr.clone(),
            similarity: t.similarity,
        })
        .collect()
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
    let delay = retry_delay(cfg.retry_base, claim.attempts);
    match retrying(cfg, state, "record a failure", || store.fail(claim, msg, delay)).await? {
        FailOutcome::LeaseLost => report.lease_lost += 1,
        FailOutcome::Retrying | FailOutcome::Failed => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::length_buckets;

    #[test]
    fn buckets_group_similar_lengths_and_keep_every_item_once() {
        let lens = [30.0, 2.0, 29.0, 3.0, 15.0, 2.5, 31.0];
        let items: Vec<(usize, f64)> = lens.iter().copied().enumerate().collect();
        let b = length_buckets(items, 3, |x| x.1);
        let ids: Vec<Vec<usize>> = b.iter().map(|g| g.iter().map(|x| x.0).collect()).collect();
        assert_eq!(ids, vec![vec![1, 5, 3], vec![4, 2, 0], vec![6]]);
        let one = length_buckets(vec![(0, 1.0), (1, 1.0)], 0, |x| x.1);
        assert_eq!(one.len(), 2, "size 0 is treated as 1");
        assert!(length_buckets(Vec::<(usize, f64)>::new(), 4, |x| x.1).is_empty());
    }
}
