//! clap commands: parse, call the library, print. No logic here.
//!
//! Owns the command line (flags, output format, exit codes at the edge). Nothing in the library imports it.

use clap::{Parser, Subcommand};

mod debug;
mod model_args;
mod models;
mod plan;
mod qa_args;
mod render;
mod review;
mod say;
mod signals;
mod status;
mod voices;
mod worker;

/// Batch audiobook and podcast production with WhisperSpeech.
#[derive(Debug, Parser)]
#[command(name = "ws-book", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the chunks a project (or a manuscript) will be spoken as.
    Plan(plan::PlanArgs),
    /// Create a new project folder with a commented project.yaml.
    Init(plan::InitArgs),
    /// Render a project to audio: queue, synthesise, assemble, encode (resumes where it stopped).
    Render(render::RenderArgs),
    /// Run a standalone worker against a state database.
    Worker(worker::WorkerArgs),
    /// Proof-listen a rendered project in the browser: takes, approvals, pronunciations, re-assembly.
    Review(review::ReviewArgs),
    /// Show a render's progress, failures and outputs.
    Status(status::StatusArgs),
    /// Speak one text with the WhisperSpeech engine into a WAV file.
    Say(say::SayArgs),
    /// The voice library: clone voices from reference audio and manage them.
    Voices(voices::VoicesArgs),
    /// Developer tools (model parity checks).
    Debug(debug::DebugArgs),
    /// Manage WhisperSpeech models: fetch from the hub, list, import for offline machines, remove, verify.
    Models(models::ModelsArgs),
}

impl Cli {
    /// Runs the command; returns the process exit code.
    pub fn run(self) -> anyhow::Result<i32> {
        match self.command {
            // a GPU worker build (no `ffmpeg` feature) would synthesise a whole book and then fail to encode it
            Command::Render(_) | Command::Review(_) if !cfg!(feature = "ffmpeg") => {
                let name = if matches!(self.command, Command::Render(_)) {
                    "render"
                } else {
                    "review"
                };
                anyhow::bail!("`ws-book {name}`: {}", ws_book::audio::encode::NO_FFMPEG)
            }
            Command::Plan(a) => plan::run(a),
            Command::Init(a) => plan::init(a),
            Command::Render(a) => render::run(a),
            Command::Worker(a) => worker::run(a),
            Command::Review(a) => review::run(a),
            Command::Status(a) => status::run(a),
            Command::Say(a) => say::say(a),
            Command::Voices(a) => voices::run(a),
            Command::Debug(a) => debug::run(a),
            Command::Models(a) => models::run(a),
        }
    }
}

/// Exit code for an error that reached the CLI edge: 2 for input errors, 1 otherwise.
pub fn exit_code_for(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<ws_book::project::ProjectError>().is_some()
        || e.downcast_ref::<ws_book::plan::PlanError>().is_some()
    {
        return 2;
    }
    1
}
