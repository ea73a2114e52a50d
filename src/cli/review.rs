//! `ws-book review`: serves the proof-listening page of a rendered project until Ctrl-C.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;
use ws_book::render::{ProgressMode, RenderOptions};
use ws_book::review::{self, ReviewOptions};

/// Arguments of `review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The project (project.yaml, or its folder); render it first.
    pub project: PathBuf,
    /// Address to listen on. Anything but loopback is reachable from other machines: every request needs the
    /// token either way.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port (0: any free port).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// The session token (16–128 of `[A-Za-z0-9_-]`); default: a random one, printed with the URL.
    #[arg(long, env = "WS_BOOK_REVIEW_TOKEN")]
    pub token: Option<String>,
    /// Open the page in the default browser (`xdg-open`).
    #[arg(long)]
    pub open: bool,
    /// Output folder (as given to `render --out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// State database (as given to `render --db`).
    #[arg(long)]
    pub db: Option<String>,
    /// Engine for new takes and re-renders (as given to `render --engine`).
    #[arg(long, value_parser = ["auto", "whisperspeech", "espeak"])]
    pub engine: Option<String>,
    /// Never connect to the model hub.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub qa: super::qa_args::QaArgs,
}

/// Runs `review`.
pub fn run(a: ReviewArgs) -> anyhow::Result<i32> {
    let project = review::project_file(&a.project);
    let render = RenderOptions {
        engine: a.engine.clone(),
        out: a.out.clone(),
        db: a.db.clone(),
        progress: ProgressMode::Quiet,
        offline: a.offline,
        qa: a.qa.flags(),
        ..Default::default()
    };
    let opts = ReviewOptions {
        host: a.host,
        port: a.port,
        token: a.token.clone(),
        render,
    };
    let (rt, cancel, _stopped) = super::signals::interruptible_runtime("review")?;
    rt.block_on(async move {
        let stop = cancel.clone();
        let shutdown = async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        let (serving, serve) = match review::bind(&project, opts, shutdown).await {
            Ok(s) => s,
            Err(review::ReviewError::Input(m)) => {
                eprintln!("error: {m}");
                return Ok(2);
            }
            Err(review::ReviewError::Plan(e)) => {
                eprintln!("error: {e}");
                return Ok(2);
            }
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        let url = serving.url();
        println!("review: {} — open {url}", project.display());
        if !serving.addr.ip().is_loopback() {
            println!(
                "review: listening on {} (not loopback): anyone who can reach it needs the token above",
                serving.addr
            );
        }
        println!("review: Ctrl-C to stop");
        if a.open {
            if let Err(e) = std::process::Command::new("xdg-open").arg(&url).spawn() {
                eprintln!("review: cannot open a browser ({e}); open the URL above");
            }
        }
        serve.await?;
        anyhow::Ok(0)
    })
}
