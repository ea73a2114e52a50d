//! `ws-book status`: chunks per chapter, failures, audio so far, outputs, workers. With `--db` and no
//! project, every render of the database (a farm's shared PostgreSQL) and every worker.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use ws_book::render;
use ws_book::store::{Store, WorkerRow};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// project.yaml files or manuscripts (none with `--db`: every render of that database, and its workers).
    pub inputs: Vec<PathBuf>,
    /// State database: a SQLite path or `postgres://…` URL (default: the first project's `store.url`, else
    /// `.ws-book/state.db` beside it; a batch's `--db`).
    #[arg(long)]
    pub db: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also read every done chunk's stored audio and check its digest (damaged audio: exit 3; the next
    /// render synthesises it again).
    #[arg(long)]
    pub check: bool,
}

/// Runs `status`: one report per project (or per render in the database). Exit code 3 when a project has
/// failed chunks.
pub fn run(a: StatusArgs) -> anyhow::Result<i32> {
    let mut targets: Vec<(String, String, Option<render::LockHolder>)> = Vec::new();
    for input in &a.inputs {
        let project = ws_book::plan::load_input(input)?;
        let db = render::db_location(&project, a.db.as_deref());
        targets.push((db, render::render_name(&project), render::running(&project)));
    }
    if a.inputs.is_empty() {
        let Some(db) = a.db.clone() else {
            anyhow::bail!("give a project file, or `--db` to list every render in a database");
        };
        // the farm view: every render's progress and every worker (host, device, heartbeat, RTF) …
        let names = farm(&db, a.json)?;
        // … then each render's failures and outputs (text), and exit 3 when any has failed chunks
        let mut code = 0;
        for name in &names {
            if !a.json {
                println!();
            }
            code = code.max(one(&db, name, (a.json, a.check), false, None)?.0);
        }
        return Ok(code);
    }
    let mut code = 0;
    let mut all = Vec::new();
    for (db, name, running) in &targets {
        let (c, v) = one(db, name, (a.json, a.check), true, running.as_ref())?;
        code = code.max(c);
        all.push(v);
    }
    if a.json {
        let v = if all.len() == 1 {
            all.remove(0)
        } else {
            serde_json::Value::Array(all)
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(code)
}

/// One render's report (printed unless `json`); `workers`: also list its live workers; `running`: the holder
/// of the project's render lock, while a render of it runs.
fn one(
    db: &str,
    name: &str,
    (json, check): (bool, bool),
    workers_too: bool,
    running: Option<&render::LockHolder>,
) -> anyhow::Result<(i32, serde_json::Value)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (info, progress, failed, workers, check, takes) = rt.block_on(async {
        let store = Store::open(db).await?;
        let info = store.render(name).await?;
        let progress = store.progress(info.id).await?;
        let failed = store.failed_chunks(info.id).await?;
        let workers = store.workers().await?;
        let check = match check {
            true => Some(Check::run(&store, info.id, &workers).await?),
            false => None,
        };
        let takes = store.render_takes(info.id).await?;
        let states = store.review_states(info.id).await?;
        let review = ReviewStatus::of(&store.chunk_states(info.id).await?, &states);
        store.close().await;
        anyhow::Ok((info, progress, failed, workers, check, (takes, review, states)))
    })?;
    let (takes, review, states) = takes;
    let qa = QaStatus::of(&takes, &states);
    let done: u64 = progress.iter().map(|c| c.done).sum();
    let total: u64 = progress.iter().map(|c| c.total).sum();
    let audio: f64 = progress.iter().map(|c| c.audio_seconds).sum();
    let sound = check.as_ref().is_none_or(Check::sound);
    let code = if failed.is_empty() && sound { 0 } else { 3 };
    let mut v = serde_json::json!({
        "render": info, "db": db, "done": done, "total": total, "audio_seconds": audio,
        "chapters": progress, "failed": failed, "workers": workers, "running": running,
        "damaged": null, "problems": null, "unused_audio": null, "qa": qa, "review": review,
    });
    if let (Some(o), Some(serde_json::Value::Object(c))) =
        (v.as_object_mut(), check.as_ref().map(|c| serde_json::json!(c)))
    {
        o.extend(c);
    }
    if json {
        return Ok((code, v));
    }
    println!("{} [{}] — engine {} ({})", info.title, name, info.engine, db);
    if let Some(h) = running {
        println!("running: a render of this project is in progress ({h}); its workers' heartbeats are below");
    }
    println!("{done}/{total} chunks done, {audio:.1} s of audio");
    println!(
        "{:>3}  {:<40} {:>6} {:>7} {:>6} {:>6} {:>8}",
        "#", "chapter", "done", "pending", "leased", "failed", "audio s"
    );
    for c in &progress {
        println!(
            "{:>3}  {:<40} {:>6} {:>7} {:>6} {:>6} {:>8.1}",
            c.index + 1,
            c.title.chars().take(40).collect::<String>(),
            format!("{}/{}", c.done, c.total),
            c.pending,
            c.leased,
            c.failed,
            c.audio_seconds
        );
    }
    for f in &failed {
        println!(
            "failed: chapter {} chunk {} ({} attempts): {}",
            f.chapter + 1,
            f.index + 1,
            f.attempts,
            f.error
        );
    }
    qa.print();
    review.print();
    if let Some(c) = &check {
        c.print();
    }
    if let Some(outs) = info.outputs.as_array() {
        for o in outs {
            if let Some(p) = o.get("path").and_then(|p| p.as_str()) {
                println!("output: {p}");
            }
        }
    }
    if workers_too {
        print_workers(&workers, false);
    }
    Ok((code, v))
}

/// Reviewer approvals and chosen takes (`ws-book review`).
#[derive(Debug, Serialize)]
struct ReviewStatus {
    chunks: usize,
    approved_chunks: usize,
    chosen_takes: usize,
    chapters: usize,
    approved_chapters: Vec<u32>,
}

impl ReviewStatus {
    fn of(
        chunks: &[ws_book::store::ChunkState],
        states: &std::collections::BTreeMap<String, ws_book::store::ReviewState>,
    ) -> ReviewStatus {
        let approved = |c: &&ws_book::store::ChunkState| states.get(&c.store_key).is_some_and(|s| s.approved);
        let chapters: std::collections::BTreeSet<u32> = chunks.iter().map(|c| c.chapter).collect();
        ReviewStatus {
            chunks: chunks.len(),
            approved_chunks: chunks.iter().filter(approved).count(),
            chosen_takes: chunks
                .iter()
                .filter(|c| states.get(&c.store_key).is_some_and(|s| s.chosen_take.is_some()))
                .count(),
            chapters: chapters.len(),
            approved_chapters: chapters
                .iter()
                .copied()
                .filter(|ch| chunks.iter().filter(|c| c.chapter == *ch).all(|c| approved(&c)))
                .collect(),
        }
    }

    fn print(&self) {
        if self.approved_chunks == 0 && self.chosen_takes == 0 {
            return;
        }
        println!(
            "review: {} of {} chunks approved, {} of {} chapters approved, {} chosen take(s)",
            self.approved_chunks,
            self.chunks,
            self.approved_chapters.len(),
            self.chapters,
            self.chosen_takes
        );
    }
}

/// What QA recorded for a render: counts and the flagged chunks (`null` in JSON when QA never ran).
#[derive(Debug, Serialize)]
struct QaStatus {
    checked: usize,
    retaken: usize,
    flagged: Vec<Flagged>,
}

/// A chunk whose best take still failed QA.
#[derive(Debug, Serialize)]
struct Flagged {
    chapter: u32,
    index: u32,
    wer: f64,
    cer: f64,
    transcript: String,
    takes: usize,
}

impl QaStatus {
    fn of(
        takes: &[ws_book::store::ChunkTakes],
        review: &std::collections::BTreeMap<String, ws_book::store::ReviewState>,
    ) -> Option<QaStatus> {
        if takes.is_empty() {
            return None;
        }
        let flagged = takes
            .iter()
            .filter(|c| ws_book::store::still_flagged(&c.takes, review.get(&c.store_key)))
            .map(|c| {
                let t = c.takes.iter().find(|t| t.chosen).unwrap_or(&c.takes[0]);
                Flagged {
                    chapter: c.chapter,
                    index: c.index,
                    wer: t.wer,
                    cer: t.cer,
                    transcript: t.transcript.clone(),
                    takes: c.takes.len(),
                }
            })
            .collect();
        Some(QaStatus {
            checked: takes.len(),
            retaken: takes.iter().filter(|c| c.takes.len() > 1).count(),
            flagged,
        })
    }
}

trait PrintQa {
    fn print(&self);
}

impl PrintQa for Option<QaStatus> {
    fn print(&self) {
        let Some(q) = self else { return };
        println!(
            "QA: {} chunks checked, {} re-taken, {} flagged",
            q.checked,
            q.retaken,
            q.flagged.len()
        );
        for f in &q.flagged {
            println!(
                "flagged: chapter {} chunk {} (WER {:.2}, {} takes): heard {:?} — listen, then fix the text or a \
                 pronunciation, or accept it",
                f.chapter + 1,
                f.index + 1,
                f.wer,
                f.takes,
                f.transcript
            );
        }
    }
}

/// A done chunk whose stored audio is missing or damaged.
#[derive(Debug, Serialize)]
struct Damaged {
    chapter: u32,
    index: u32,
    key: String,
    why: String,
}

/// Stored audio no render uses any more.
#[derive(Debug, Serialize)]
struct Unused {
    entries: u64,
    seconds: f64,
}

/// What `status --check` found (its fields are top-level keys of the JSON report).
#[derive(Debug, Serialize)]
struct Check {
    damaged: Vec<Damaged>,
    problems: Vec<String>,
    unused_audio: Unused,
}

impl Check {
    /// Reads every done chunk's audio, runs the database's integrity check and looks for dead local workers.
    async fn run(store: &Store, render_id: i64, workers: &[WorkerRow]) -> anyhow::Result<Check> {
        let (entries, seconds) = store.orphaned_audio().await?;
        let mut problems: Vec<String> = store
            .integrity()
            .await?
            .into_iter()
            .map(|p| format!("integrity: {p}"))
            .collect();
        let host = ws_book::host::hostname();
        for w in workers.iter().filter(|w| !w.stopped && w.info.host == host) {
            if !ws_book::host::process_alive(w.info.pid) {
                problems.push(format!(
                    "worker {} (pid {}) is gone without returning its leases: the next render or worker on this \
                     host returns them",
                    w.info.id, w.info.pid
                ));
            }
        }
        let states = store.chunk_states(render_id).await?;
        let mut damaged = Vec::new();
        for (key, why) in store.damaged_audio(render_id).await? {
            for c in states.iter().filter(|c| c.store_key == key) {
                damaged.push(Damaged {
                    chapter: c.chapter,
                    index: c.index,
                    key: key.clone(),
                    why: why.clone(),
                });
            }
        }
        Ok(Check {
            damaged,
            problems,
            unused_audio: Unused { entries, seconds },
        })
    }

    /// Nothing damaged, no problem (unused audio is only a note).
    fn sound(&self) -> bool {
        self.damaged.is_empty() && self.problems.is_empty()
    }

    fn print(&self) {
        for d in &self.damaged {
            println!(
                "damaged: chapter {} chunk {}: {} (the next render synthesises it again)",
                d.chapter + 1,
                d.index + 1,
                d.why
            );
        }
        for p in &self.problems {
            println!("problem: {p}");
        }
        let Unused { entries, seconds } = self.unused_audio;
        if entries > 0 {
            println!(
                "note: {entries} stored chunk audio(s) ({seconds:.1} s) no longer used by any render: kept so that \
                 undoing an edit costs no synthesis; harmless"
            );
        }
        if self.sound() {
            println!("check: the database is sound and the stored audio of every done chunk is intact");
        }
    }
}

/// Real-time factor: seconds of engine time per second of audio (below 1 is faster than real time).
fn rtf(w: &WorkerRow) -> Option<f64> {
    (w.audio_seconds > 0.0).then(|| w.busy_seconds / w.audio_seconds)
}

fn print_workers(workers: &[WorkerRow], all: bool) {
    let shown: Vec<&WorkerRow> = workers.iter().filter(|w| all || !w.stopped).collect();
    if shown.is_empty() {
        return;
    }
    println!(
        "{:<28} {:<16} {:<8} {:>6} {:>10} {:>6} {:<7}",
        "worker", "host", "device", "chunks", "heartbeat", "RTF", "state"
    );
    let now = ws_book::store::now_ms();
    for w in shown {
        println!(
            "{:<28} {:<16} {:<8} {:>6} {:>10} {:>6} {:<7}",
            w.info.id,
            w.info.host,
            w.info.device,
            w.chunks_done,
            format!("{:.1} s ago", (now - w.heartbeat_ms) as f64 / 1000.0),
            rtf(w).map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into()),
            if w.stopped { "stopped" } else { "running" }
        );
    }
}

/// `status --db URL` without a project: per-render progress and every worker of the database.
fn farm(db: &str, json: bool) -> anyhow::Result<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (renders, workers) = rt.block_on(async {
        let store = Store::open(db).await?;
        let mut renders = Vec::new();
        for r in store.renders().await? {
            let p = store.progress(r.id).await?;
            let failed = store.failed_chunks(r.id).await?.len() as u64;
            renders.push((r, p, failed));
        }
        let workers = store.workers().await?;
        store.close().await;
        anyhow::Ok((renders, workers))
    })?;
    let sum = |p: &[ws_book::store::ChapterProgress], f: fn(&ws_book::store::ChapterProgress) -> u64| -> u64 {
        p.iter().map(f).sum()
    };
    if json {
        let rs: Vec<_> = renders
            .iter()
            .map(|(r, p, failed)| {
                serde_json::json!({
                    "name": r.name, "title": r.title, "engine": r.engine, "fingerprint": r.fingerprint,
                    "done": sum(p, |c| c.done), "total": sum(p, |c| c.total), "pending": sum(p, |c| c.pending),
                    "leased": sum(p, |c| c.leased), "failed": failed,
                    "audio_seconds": p.iter().map(|c| c.audio_seconds).sum::<f64>(),
                })
            })
            .collect();
        let ws: Vec<_> = workers
            .iter()
            .map(|w| {
                let mut v = serde_json::to_value(w).unwrap_or_default();
                v["rtf"] = serde_json::json!(rtf(w));
                v
            })
            .collect();
        let v = serde_json::json!({ "db": ws_book::store::redact(db), "renders": rs, "workers": ws });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(renders.iter().map(|(r, _, _)| r.name.clone()).collect());
    }
    println!("{}", ws_book::store::redact(db));
    println!(
        "{:<24} {:<30} {:>10} {:>7} {:>6} {:>6} {:>8}",
        "render", "title", "done", "pending", "leased", "failed", "audio s"
    );
    for (r, p, failed) in &renders {
        println!(
            "{:<24} {:<30} {:>10} {:>7} {:>6} {:>6} {:>8.1}",
            r.name.chars().take(24).collect::<String>(),
            r.title.chars().take(30).collect::<String>(),
            format!("{}/{}", sum(p, |c| c.done), sum(p, |c| c.total)),
            sum(p, |c| c.pending),
            sum(p, |c| c.leased),
            failed,
            p.iter().map(|c| c.audio_seconds).sum::<f64>()
        );
    }
    print_workers(&workers, true);
    Ok(renders.iter().map(|(r, _, _)| r.name.clone()).collect())
}
