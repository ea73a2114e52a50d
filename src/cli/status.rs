//! `ws-book status`: chunks per chapter, failures, audio so far, outputs, workers.

use std::path::PathBuf;

use clap::Args;
use ws_book::render;
use ws_book::store::Store;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// project.yaml files or manuscripts (none with `--db`: every render in that database).
    pub inputs: Vec<PathBuf>,
    /// State database (default `.ws-book/state.db` beside the first project; a batch's `--db`).
    #[arg(long)]
    pub db: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`: one report per project (or per render in the database). Exit code 3 when a project has
/// failed chunks.
pub fn run(a: StatusArgs) -> anyhow::Result<i32> {
    let mut targets: Vec<(String, String)> = Vec::new();
    for input in &a.inputs {
        let project = ws_book::plan::load_input(input)?;
        let db = render::db_location(&project, a.db.as_deref());
        targets.push((db, render::render_name(&project)));
    }
    if a.inputs.is_empty() {
        let Some(db) = a.db.clone() else {
            anyhow::bail!("give a project file, or `--db` to list every render in a database");
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let renders = rt.block_on(async {
            let store = Store::open(&db).await?;
            let r = store.renders().await;
            store.close().await;
            r
        })?;
        targets.extend(renders.into_iter().map(|r| (db.clone(), r.name)));
    }
    let mut code = 0;
    let mut all = Vec::new();
    for (db, name) in &targets {
        let (c, v) = one(db, name, a.json)?;
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

fn one(db: &str, name: &str, json: bool) -> anyhow::Result<(i32, serde_json::Value)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (info, progress, failed, workers) = rt.block_on(async {
        let store = Store::open(db).await?;
        let info = store.render(name).await?;
        let progress = store.progress(info.id).await?;
        let failed = store.failed_chunks(info.id).await?;
        let workers = store.workers().await?;
        store.close().await;
        anyhow::Ok((info, progress, failed, workers))
    })?;
    let done: u64 = progress.iter().map(|c| c.done).sum();
    let total: u64 = progress.iter().map(|c| c.total).sum();
    let audio: f64 = progress.iter().map(|c| c.audio_seconds).sum();
    let code = if failed.is_empty() { 0 } else { 3 };
    let v = serde_json::json!({
        "render": info, "db": db, "done": done, "total": total, "audio_seconds": audio,
        "chapters": progress, "failed": failed, "workers": workers,
    });
    if json {
        return Ok((code, v));
    }
    println!("{} [{}] — engine {} ({})", info.title, name, info.engine, db);
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
    if let Some(outs) = info.outputs.as_array() {
        for o in outs {
            if let Some(p) = o.get("path").and_then(|p| p.as_str()) {
                println!("output: {p}");
            }
        }
    }
    for w in workers.iter().filter(|w| !w.stopped) {
        println!(
            "worker {} on {} ({}): {} chunks, heartbeat {} ms ago",
            w.info.id,
            w.info.host,
            w.info.device,
            w.chunks_done,
            ws_book::store::now_ms() - w.heartbeat_ms
        );
    }
    Ok((code, v))
}
