//! A stand-in for the Hugging Face hub on 127.0.0.1: the `resolve` endpoint (HEAD answers with
//! X-Repo-Commit, ETag / X-Linked-Etag, sizes, and a redirect to a "CDN" path for LFS files), ranged GETs,
//! 401 for private repositories without a token, 403 for gated ones, 404 with X-Error-Code, and fault injection (cut a
//! connection mid-file, announce a wrong checksum). Every connection and request is recorded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest;

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

#[derive(Clone)]
pub struct HubFile {
    pub bytes: Vec<u8>,
    /// LFS (sha256 ETag, redirect) or plain git (sha1 blob ETag)
    pub lfs: bool,
    /// announce this ETag instead of the real one (checksum mismatch)
    pub wrong_etag: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub files: BTreeMap<String, HubFile>, // "owner/repo/file"
    /// cut the next N downloads of a body after this many bytes
    pub cut_after: Option<(usize, usize)>,
    pub requests: Vec<String>, // "METHOD path range"
    pub token: Option<String>, // required for repos starting with "private/"
}

pub struct FakeHub {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    pub connections: Arc<AtomicUsize>,
}

pub fn sha256_hex(b: &[u8]) -> String {
    sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn git_sha1(b: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", b.len()).as_bytes());
    h.update(b);
    h.finalize().iter().map(|x| format!("{x:02x}")).collect()
}

impl FakeHub {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (st, conns) = (state.clone(), connections.clone());
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                conns.fetch_add(1, Ordering::SeqCst);
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(s, &st);
                });
            }
        });
        Self {
            url,
            state,
            connections,
        }
    }

    pub fn add(&self, repo: &str, file: &str, bytes: Vec<u8>, lfs: bool) {
        self.state.lock().unwrap().files.insert(
            format!("{repo}/{file}"),
            HubFile {
                bytes,
                lfs,
                wrong_etag: None,
            },
        );
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn serve(s: TcpStream, st: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let mut w = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let range = headers.get("range").cloned().unwrap_or_default();
        st.lock()
            .unwrap()
            .requests
            .push(format!("{method} {path} {range}").trim().to_string());
        let head = method == "HEAD";
        let (status, hdrs, body, cut) = answer(st, &method, &path, &headers);
        let mut out = format!("HTTP/1.1 {status}\r\n");
        for (k, v) in &hdrs {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        w.write_all(out.as_bytes())?;
        if !head {
            match cut {
                Some(n) => {
                    w.write_all(&body[..n.min(body.len())])?;
                    w.flush()?;
                    let _ = w.shutdown(std::net::Shutdown::Both);
                    return Ok(());
                }
                None => w.write_all(&body)?,
            }
        }
        w.flush()?;
    }
}

type Answer = (String, Vec<(String, String)>, Vec<u8>, Option<usize>);

fn answer(st: &Arc<Mutex<State>>, method: &str, path: &str, headers: &BTreeMap<String, String>) -> Answer {
    let mut g = st.lock().unwrap();
    let not_found = |code: &str| -> Answer {
        (
            "404 Not Found".into(),
            vec![
                ("X-Error-Code".into(), code.into()),
                ("Content-Length".into(), "0".into()),
            ],
            vec![],
            None,
        )
    };
    if let Some(sha) = path.strip_prefix("/cdn/") {
        let Some(f) = g.files.values().find(|f| sha256_hex(&f.bytes) == sha).cloned() else {
            return not_found("EntryNotFound");
        };
        let total = f.bytes.len();
        let (status, start) = match headers.get("range").and_then(|r| r.strip_prefix("bytes=")) {
            Some(r) => {
                let start: usize = r.trim_end_matches('-').parse().unwrap_or(0);
                if start >= total {
                    return (
                        "416 Range Not Satisfiable".into(),
                        vec![("Content-Length".into(), "0".into())],
                        vec![],
                        None,
                    );
                }
                ("206 Partial Content", start)
            }
            None => ("200 OK", 0),
        };
        let body = f.bytes[start..].to_vec();
        let mut h = vec![("Content-Length".into(), body.len().to_string())];
        if start > 0 {
            h.push(("Content-Range".into(), format!("bytes {start}-{}/{total}", total - 1)));
        }
        let cut = match g.cut_after {
            Some((n, times)) if times > 0 && method == "GET" => {
                g.cut_after = Some((n, times - 1));
                Some(n)
            }
            _ => None,
        };
        return (status.into(), h, body, cut);
    }
    // /{owner}/{repo}/resolve/{rev}/{file}
    let segs: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    if segs.len() != 5 || segs[2] != "resolve" {
        return not_found("RepoNotFound");
    }
    let repo = format!("{}/{}", segs[0], segs[1]);
    if repo.starts_with("private/") {
        let want = g.token.clone().map(|t| format!("Bearer {t}"));
        if headers.get("authorization") != want.as_ref() {
            return (
                "401 Unauthorized".into(),
                vec![("Content-Length".into(), "0".into())],
                vec![],
                None,
            );
        }
    }
    if repo.starts_with("gated/") {
        return (
            "403 Forbidden".into(),
            vec![("Content-Length".into(), "0".into())],
            vec![],
            None,
        );
    }
    if !g.files.keys().any(|k| k.starts_with(&format!("{repo}/"))) {
        return not_found("RepoNotFound");
    }
    let Some(f) = g.files.get(&format!("{repo}/{}", segs[4])).cloned() else {
        return not_found("EntryNotFound");
    };
    let mut h = vec![("X-Repo-Commit".to_string(), COMMIT.to_string())];
    if f.lfs {
        let sha = sha256_hex(&f.bytes);
        let etag = f.wrong_etag.clone().unwrap_or(sha.clone());
        h.push(("X-Linked-Etag".into(), format!("\"{etag}\"")));
        h.push(("X-Linked-Size".into(), f.bytes.len().to_string()));
        h.push(("ETag".into(), "\"not-the-content\"".into()));
        h.push(("Location".into(), format!("/cdn/{sha}")));
        h.push(("Content-Length".into(), "0".into()));
        return ("302 Found".into(), h, vec![], None);
    }
    let etag = f.wrong_etag.clone().unwrap_or_else(|| git_sha1(&f.bytes));
    h.push(("ETag".into(), format!("\"{etag}\"")));
    h.push(("Content-Length".into(), f.bytes.len().to_string()));
    ("200 OK".into(), h, f.bytes, None)
}

/// A file under `tests/fixtures/whisperspeech/`.
pub fn fx(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
}

/// A stand-in hub serving the tiny fixture models under the published `tiny` preset names.
pub fn model_hub() -> FakeHub {
    let hub = FakeHub::start();
    let read = |n: &str| std::fs::read(fx(n)).unwrap();
    hub.add(
        "collabora/whisperspeech",
        "t2s-tiny-en+pl.model",
        read("t2s_tiny_a.model"),
        true,
    );
    hub.add(
        "collabora/whisperspeech",
        "s2a-q4-tiny-en+pl.model",
        read("s2a_tiny_a.model"),
        true,
    );
    hub.add(
        "charactr/vocos-encodec-24khz",
        "pytorch_model.bin",
        read("vocos_tiny/pytorch_model.bin"),
        true,
    );
    hub.add(
        "charactr/vocos-encodec-24khz",
        "config.yaml",
        read("vocos_tiny/config.yaml"),
        false,
    );
    hub
}
