//! `ws-book plan` and `ws-book init`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// project.yaml, or a manuscript (.md / .epub) to plan with defaults.
    pub input: PathBuf,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in (default: the current folder).
    pub dir: Option<PathBuf>,
}

pub fn run(_a: PlanArgs) -> anyhow::Result<i32> {
    anyhow::bail!("plan: in progress")
}

pub fn init(_a: InitArgs) -> anyhow::Result<i32> {
    anyhow::bail!("init: in progress")
}
