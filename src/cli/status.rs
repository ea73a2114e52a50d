//! `ws-book status`: chunks per chapter, failures, audio so far, outputs, workers.

use std::path::PathBuf;

use clap::Args;
use ws_book::render;
use ws_book::store::Store;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// project.yaml or manuscript.
    pub input: PathBuf,
    /// State database (default `.ws-book/state.db` beside the project).
    #[arg(long)]
    pub db: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`.
pub fn run(a: StatusArgs) -> anyhow::Result<i32> {
    let project = ws_book::plan::load_input(&a.input)?;
    let db = render::db_location(&project, a.db.as_deref());
    let name = render::render_name(&project);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (info, progress, failed, workers) = rt.block_on(async {
        let store = Store::open(&db).await?;
        let info = store.render(&name).await?;
        let progress = store.progress(info.id).await?;
        let failed = store.failed_chunks(info.id).await?;
        let workers = store.workers().await?;
        store.close().await;
        anyhow::Ok((info, progress, failed, workers))
    })?;
    let done: u64 = progress.iter().map(|c| c.done).sum();
    let total: u64 = progress.iter().map(|c| c.total).sum();
    let audio: f64 = progress.iter().map(|c| c.audio_seconds).sum();
    if a.json {
        let v = serde_json::json!({
            "render": info, "db": db, "done": done, "total": total, "audio_seconds": audio,
            "chapters": progress, "failed": failed, "workers": workers,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!("{} — engine {} ({})", info.title, info.engine, db);
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
    Ok(0)
}
