//! `ws-book models …`: fetch, list, import, rm, verify.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ws_book::models::{library, reference, BarProgress, Entry, ModelKind, ModelRef, Resolver, DEFAULT_PRESET, PRESETS};

/// `models` arguments.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    cmd: ModelsCmd,
}

#[derive(Debug, Subcommand)]
enum ModelsCmd {
    /// Download models from the hub (with progress, resumable, verified) and convert them to safetensors.
    /// Presets: tiny, base, small (default: small = the reference pipeline's models); each preset also brings
    /// the Vocos vocoder, the ECAPA speaker encoder and a Whisper model for QA (tiny: whisper-tiny; base and
    /// small: whisper-base; `--no-qa` leaves it out).
    Fetch(FetchArgs),
    /// List the models in the library.
    List(ListArgs),
    /// Import model files or folders copied from another machine (a hub cache, a ws-book models folder, or
    /// checkpoint files) into the library.
    Import(ImportArgs),
    /// Remove models from the library.
    Rm(RmArgs),
    /// Check every model's files against its manifest digest.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct FetchArgs {
    /// Presets or references (`owner/repo:file`, charactr/vocos-encodec-24khz, speechbrain/spkrec-ecapa-voxceleb).
    refs: Vec<String>,
    /// Use only the hub cache, never the network (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    offline: bool,
    /// Convert again even if the library has the model.
    #[arg(long)]
    force: bool,
    /// Leave out the Whisper QA model a preset includes (QA then stays off unless a Whisper model is named).
    #[arg(long)]
    no_qa: bool,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Library name (one file only; default: from the file or folder name).
    #[arg(long)]
    name: Option<String>,
    /// Replace a different model of the same name.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct RmArgs {
    /// Model names (see `models list`).
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Model names (default: all).
    names: Vec<String>,
}

/// Runs `models`.
pub fn run(a: ModelsArgs) -> anyhow::Result<i32> {
    match a.cmd {
        ModelsCmd::Fetch(f) => fetch(f),
        ModelsCmd::List(l) => list(l),
        ModelsCmd::Import(i) => import(i),
        ModelsCmd::Rm(r) => rm(r),
        ModelsCmd::Verify(v) => verify(v),
    }
}

/// The references to fetch: a preset stands for its models (the Whisper QA model too unless `no_qa`).
fn expand(refs: &[String], no_qa: bool) -> Vec<String> {
    if refs.is_empty() {
        return expand(&[DEFAULT_PRESET.to_string()], no_qa);
    }
    let mut out = Vec::new();
    for r in refs {
        match reference::preset(r) {
            Some(p) => {
                for k in [
                    ModelKind::T2s,
                    ModelKind::S2a,
                    ModelKind::Vocos,
                    ModelKind::Speaker,
                    ModelKind::Asr,
                ] {
                    if !(no_qa && k == ModelKind::Asr) {
                        out.push(reference::preset_ref(p, k).to_string());
                    }
                }
            }
            None => out.push(r.clone()),
        }
    }
    out.dedup();
    out
}

fn fetch(a: FetchArgs) -> anyhow::Result<i32> {
    let res = Resolver::from_env(a.offline).with_progress(BarProgress::boxed);
    let cwd = PathBuf::from(".");
    let mut failed = 0;
    for text in expand(&a.refs, a.no_qa) {
        let r = res.parse(&text, &cwd)?;
        if matches!(r, ModelRef::Local(_)) {
            bail!("{text} is a local path; use `ws-book models import {text}`");
        }
        if !a.force {
            if let Some(e) = res.present(&r) {
                println!("{}: present ({}, {})", e.name, e.kind, human(e.size));
                continue;
            }
        }
        match res.fetch(&r, a.force) {
            Ok(e) => println!(
                "{}: fetched and converted ({}, {}, digest {})",
                e.name,
                e.kind,
                human(e.size),
                &e.digest[..16]
            ),
            Err(e) => {
                eprintln!("error: {text}: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn presets_of(e: &Entry) -> Vec<&'static str> {
    PRESETS
        .iter()
        .filter(|p| e.source == reference::preset_ref(p, e.kind))
        .map(|p| p.name)
        .collect()
}

fn list(a: ListArgs) -> anyhow::Result<i32> {
    let lib = ws_book::models::Library::default_location();
    let entries = lib.entries();
    if a.json {
        let v: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name, "kind": e.kind, "source": e.source, "size": e.size,
                    "digest": e.digest, "presets": presets_of(e), "path": e.dir,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "library": lib.root(), "models": v }))?
        );
        return Ok(0);
    }
    println!("library: {}", lib.root().display());
    if entries.is_empty() {
        println!("(empty) — `ws-book models fetch` downloads the default preset ({DEFAULT_PRESET})");
    }
    for e in &entries {
        let p = presets_of(e);
        println!(
            "{:<28} {:<8} {:>9}  {}  {}{}",
            e.name,
            e.kind.as_str(),
            human(e.size),
            &e.digest[..16],
            e.source,
            if p.is_empty() {
                String::new()
            } else {
                format!("  [{}]", p.join(", "))
            }
        );
    }
    Ok(0)
}

/// The hub reference a file in a hub cache (`models--OWNER--NAME/snapshots/REV/FILE`) came from.
fn hub_source_of(path: &Path) -> Option<String> {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let i = comps.iter().rposition(|c| c.starts_with("models--"))?;
    let repo = comps[i].strip_prefix("models--")?.replacen("--", "/", 1);
    if comps.get(i + 1).map(String::as_str) != Some("snapshots") {
        return None;
    }
    let file = comps.get(i + 3..)?.join("/");
    if reference::known_repo(&repo).is_some() {
        return Some(repo);
    }
    Some(format!("{repo}:{file}"))
}

fn import_files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut items: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    items.sort();
    for p in items {
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if p.is_dir() {
            if name == "blobs" || name.starts_with('.') {
                continue;
            }
            if p.join("manifest.json").is_file() || ws_book::models::asr::is_whisper_dir(&p) {
                out.push(p);
            } else {
                import_files(&p, out);
            }
        } else if name.ends_with(".model")
            || name == "pytorch_model.bin"
            || name == "embedding_model.ckpt"
            || name.ends_with(".safetensors") && !p.with_file_name("manifest.json").is_file()
        {
            out.push(p);
        }
    }
}

fn import(a: ImportArgs) -> anyhow::Result<i32> {
    let lib = ws_book::models::Library::default_location();
    let mut items = Vec::new();
    for p in &a.paths {
        if !p.exists() {
            bail!("{}: no such file or folder", p.display());
        }
        if p.is_dir() && (p.join("manifest.json").is_file() || ws_book::models::asr::is_whisper_dir(p)) {
            items.push(p.clone());
        } else if p.is_dir() {
            import_files(p, &mut items);
        } else {
            items.push(p.clone());
        }
    }
    if items.is_empty() {
        bail!("nothing to import: no checkpoint (.model, pytorch_model.bin, embedding_model.ckpt, .safetensors), Whisper folder (config.json + tokenizer.json + model.safetensors or model.bin) or ws-book model folder under {}", a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    if a.name.is_some() && items.len() > 1 {
        bail!("--name needs exactly one model to import; found {}", items.len());
    }
    for item in items {
        let e = if item.is_dir() && !item.join("manifest.json").is_file() {
            // a Whisper folder (Hugging Face or CTranslate2 layout), e.g. a hub-cache snapshot
            let abs = std::fs::canonicalize(&item).unwrap_or_else(|_| item.clone());
            let source = hub_source_of(&abs.join("config.json"))
                .map(|s| s.split(':').next().unwrap_or(&s).to_string())
                .unwrap_or_else(|| abs.display().to_string());
            let dir_name = abs
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let name = match (&a.name, source.starts_with('/')) {
                (Some(n), _) => n.clone(),
                // a hub-cache snapshot: named after its repository (`faster-whisper-base`)
                (None, false) => ws_book::models::reference::sanitize(source.rsplit('/').next().unwrap_or(&source)),
                (None, true) => format!("whisper-{}", ws_book::models::reference::sanitize(&dir_name)),
            };
            lib.convert_asr(&item, &name, &source, a.force)
        } else if item.is_dir() {
            lib.import_converted(&item, a.force)
        } else {
            // not canonicalize(item): a hub-cache snapshot entry is a symlink into blobs/, and its name matters
            let abs = match (item.parent().map(std::fs::canonicalize), item.file_name()) {
                (Some(Ok(dir)), Some(f)) => dir.join(f),
                _ => item.clone(),
            };
            let source = hub_source_of(&abs);
            let name = match (&a.name, &source) {
                (Some(n), _) => n.clone(),
                (None, Some(s)) => ws_book::models::reference::parse(s, |_| false, |_| false)
                    .map(|r| r.library_name())
                    .unwrap_or_else(|_| ModelRef::Local(item.clone()).library_name()),
                (None, None) => ModelRef::Local(item.clone()).library_name(),
            };
            let label = source.unwrap_or_else(|| {
                item.file_name()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default()
            });
            lib.convert(&item, None, &name, &label, a.force)
        }
        .with_context(|| format!("importing {}", item.display()))?;
        println!(
            "{}: imported ({}, {}, digest {})",
            e.name,
            e.kind,
            human(e.size),
            &e.digest[..16]
        );
    }
    Ok(0)
}

fn rm(a: RmArgs) -> anyhow::Result<i32> {
    let lib = ws_book::models::Library::default_location();
    for n in &a.names {
        let e = lib.remove(n)?;
        println!("{}: removed ({})", e.name, human(e.size));
    }
    Ok(0)
}

fn verify(a: VerifyArgs) -> anyhow::Result<i32> {
    let lib = ws_book::models::Library::default_location();
    let entries = if a.names.is_empty() {
        lib.entries()
    } else {
        a.names
            .iter()
            .map(|n| {
                lib.get(n)
                    .ok_or_else(|| anyhow::anyhow!("no model `{n}` in the library (see `ws-book models list`)"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let mut bad = 0;
    for e in &entries {
        match library::verify_entry(e) {
            Ok(()) => println!("{}: ok", e.name),
            Err(msg) => {
                println!("{}: CORRUPT: {msg}", e.name);
                bad += 1;
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} models failed verification", entries.len());
        return Ok(1);
    }
    Ok(0)
}

fn human(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 1000.0 {
        format!("{:.2} GB", mb / 1000.0)
    } else if mb >= 1.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}
