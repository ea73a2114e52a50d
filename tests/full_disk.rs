//! A full disk while publishing (transcripts, feed, qc.json): a clear I/O error naming the file, and no
//! temporary file left behind. Uses a real, tiny tmpfs (root can mount one; elsewhere the test says it was
//! skipped and why).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Tmpfs {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir, _tmp: tmp })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Fills `dir` until the file system says it is full.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).and_then(|()| f.sync_all()).is_ok() {}
}

#[test]
fn a_full_disk_while_writing_a_transcript_is_an_io_error_and_leaves_no_partial_file() {
    let Some(fs) = Tmpfs::mount("128k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the full-disk path is not exercised");
        return;
    };
    fill(&fs.dir);
    let target = fs.dir.join("01 - Chapter 1.vtt");
    let err = ws_book::publish::write_atomic(&target, &vec![b'x'; 64 * 1024]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ws_book::publish::PublishError::Io { .. }), "{msg}");
    assert!(
        msg.contains("No space left") && msg.contains(&fs.dir.display().to_string()),
        "{msg}"
    );
    let left: Vec<String> = std::fs::read_dir(&fs.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "filler")
        .collect();
    assert!(left.is_empty(), "nothing but the filler may remain: {left:?}");
    // As a render error it is not an input error: the render exits 1, not 2.
    let e = ws_book::render::RenderError::Publish(err);
    let r = ws_book::batch::ProjectResult {
        input: "p.yaml".into(),
        summary: None,
        feed: None,
        error: Some(e.to_string()),
        input_error: ws_book::batch::is_input_error(&e),
        error_code: None,
    };
    assert_eq!(r.exit_code(), 1);
}
