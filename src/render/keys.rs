//! Names and keys a render derives from its project and plan: the store key and sampling seed of each chunk
//! (DESIGN.md invariants 2 and 3), the state database's location and the render's name in it.

use std::path::Path;

use crate::plan::Chunk;
use crate::project::Project;

/// The store key of a chunk: the plan's key plus what only rendering knows (DESIGN.md invariant 2).
pub fn store_key(chunk: &Chunk, engine_fingerprint: &str, embedding: Option<&[f32]>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ws-book store key v1\0");
    h.update(chunk.key.as_bytes());
    h.update(b"\0");
    h.update(engine_fingerprint.as_bytes());
    h.update(b"\0");
    h.update(chunk.speaker.as_bytes());
    h.update(b"\0");
    match embedding {
        Some(e) => {
            let mut eh = blake3::Hasher::new();
            for x in e {
                eh.update(&x.to_le_bytes());
            }
            h.update(eh.finalize().as_bytes());
        }
        None => {
            h.update(b"no-embedding");
        }
    }
    h.finalize().to_hex().to_string()
}

/// The per-chunk sampling seed: a hash of the project seed and the store key (DESIGN.md invariant 3).
pub fn chunk_seed(project_seed: u64, store_key: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&project_seed.to_le_bytes());
    h.update(store_key.as_bytes());
    let b = h.finalize();
    let bytes = b.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// The state database of a project: `--db`, else `store.url`, else `render.db`, else `.ws-book/state.db`
/// beside it.
pub fn db_location(project: &Project, flag: Option<&str>) -> String {
    if let Some(f) = flag {
        return f.to_string();
    }
    if let Some(d) = project.config.store.url.as_ref().or(project.config.render.db.as_ref()) {
        if d.contains("://") {
            return d.clone();
        }
        let p = d.strip_prefix("sqlite:").unwrap_or(d);
        return project.resolve(Path::new(p)).display().to_string();
    }
    project.state_dir().join("state.db").display().to_string()
}

/// The render's name in the database: the project (or manuscript) file name with its folder's name
/// (`podcast-demo/project.yaml`), so the projects of a batch sharing one database keep apart.
pub fn render_name(project: &Project) -> String {
    let file = project.source_file_name();
    let dir = std::path::absolute(&project.source).ok().and_then(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .map(|d| d.to_string_lossy().to_string())
    });
    match dir {
        Some(d) if !d.is_empty() => format!("{d}/{file}"),
        _ => file,
    }
}
