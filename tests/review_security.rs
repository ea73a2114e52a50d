//! The review server's security model and input validation, over real HTTP against a running
//! `ws-book review` of a rendered draft project: tokens (missing 401, wrong 403, query only for GET), a
//! non-loopback bind, the Host check, cross-origin POSTs, ids that do not exist (404) or look like paths
//! (400), oversized bodies (413), bad JSON (4xx), and what a project without a lexicon file says.

mod review_support;

use std::io::{Read, Write};

use review_support::{Project, Review};

fn status(agent: &ureq::Agent, url: &str, header: Option<(&str, &str)>) -> u16 {
    let mut r = agent.get(url);
    if let Some((k, v)) = header {
        r = r.header(k, v);
    }
    r.call().unwrap().status().as_u16()
}

/// A raw request (to send headers ureq would not: another Host, an Origin).
fn raw(base: &str, request: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn tokens_ids_bodies_and_origins_are_checked_on_every_request() {
    let p = Project::new("");
    p.render(&[], &[]);
    let r = p.review(&[]);
    let a = Review::agent();
    let base = &r.base;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // the page, the API and audio all need the token
    for path in [
        "/",
        "/api/book",
        "/api/chapter/0",
        "/audio/chunk/0/0",
        "/audio/chapter/0",
    ] {
        assert_eq!(
            status(&a, &format!("{base}{path}"), None),
            401,
            "{path} without a token"
        );
        assert_eq!(
            status(
                &a,
                &format!("{base}{path}?token=0123456789abcdef0123456789abcdef"),
                None
            ),
            403,
            "{path} with a wrong token"
        );
        assert_eq!(
            status(&a, &format!("{base}{path}?token={}", r.token), None),
            200,
            "{path}"
        );
    }
    assert_eq!(
        status(&a, &format!("{base}/api/book"), Some(("x-ws-book-token", "nope"))),
        403
    );
    // the page is served with a policy against framing and foreign scripts
    let page = a.get(&r.url).call().unwrap();
    assert!(page.headers().get("content-security-policy").is_some());
    // ids that do not exist: 404; path-like ids: 400 (never a file path)
    assert_eq!(r.get("/audio/chunk/0/99").0, 404);
    assert_eq!(r.get("/audio/take/0/0/7").0, 404);
    assert_eq!(r.get("/api/chapter/9").0, 404);
    let (s, body) = r.get("/audio/take/..%2F..%2Fetc/0/0");
    assert_eq!(s, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("must be a number"));
    assert_eq!(r.get("/audio/chunk/0/-1").0, 400);
    assert_eq!(r.get("/audio/chunk/0/1e3").0, 400);
    assert_eq!(r.get("/no/such/page").0, 404);
    // state changes: POST with the token header only (a query token is not enough), bounded bodies
    let (s, _) = {
        let mut resp = a
            .post(&format!("{base}/api/approve?token={}", r.token))
            .content_type("application/json")
            .send(r#"{"chapter":0,"index":null,"approved":true}"#)
            .unwrap();
        (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap())
    };
    assert_eq!(s, 401);
    let big = format!(r#"{{"chapter":0,"index":0,"pad":"{}"}}"#, "a".repeat(20_000));
    assert_eq!(r.post("/api/take", &big).0, 413);
    let (s, v) = r.post("/api/choose", "{not json");
    assert!((400..500).contains(&s), "{s}");
    assert!(v["error"].as_str().unwrap().starts_with("bad request body"), "{v}");
    let (s, _) = r.post("/api/choose", r#"{"chapter":0,"index":0,"take":3,"extra":1}"#);
    assert!((400..500).contains(&s), "unknown fields are refused: {s}");
    assert_eq!(
        r.post("/api/choose", r#"{"chapter":0,"index":0,"take":3}"#).0,
        404,
        "no such take"
    );
    assert_eq!(
        r.post("/api/approve", r#"{"chapter":5,"index":null,"approved":true}"#)
            .0,
        404
    );
    assert_eq!(r.post("/api/take", r#"{"chapter":0,"index":42}"#).0, 404);
    // no lexicon file named in project.yaml: edits are refused with what to add (project.yaml untouched)
    let before = std::fs::read(p.path("project.yaml")).unwrap();
    let (s, v) = r.post("/api/lexicon", r#"{"lang":"en","word":"River","replacement":"Rivver"}"#);
    assert_eq!(s, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("lexicon: lexicon.yaml"), "{v}");
    assert_eq!(std::fs::read(p.path("project.yaml")).unwrap(), before);
    // DNS rebinding: another Host is refused on loopback; a foreign Origin cannot POST
    let resp = raw(
        base,
        &format!(
            "GET /api/book?token={} HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n",
            r.token
        ),
    );
    assert!(resp.starts_with("HTTP/1.1 403"), "{resp}");
    let host = base.trim_start_matches("http://");
    let body = r#"{"chapter":0,"index":null,"approved":true}"#;
    let resp = raw(
        base,
        &format!(
            "POST /api/approve HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example\r\nx-ws-book-token: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            r.token,
            body.len()
        ),
    );
    assert!(resp.starts_with("HTTP/1.1 403"), "{resp}");
    // nothing above changed any state
    let book = r.get_json("/api/book");
    assert_eq!(book["chapters"][0]["approved"], 0, "{book}");
}

#[test]
fn a_non_loopback_bind_gets_a_printed_token_and_rejects_requests_without_it() {
    let p = Project::new("");
    p.render(&[], &[]);
    let r = p.review(&["--host", "0.0.0.0"]);
    assert_eq!(r.token.len(), 32, "a generated token is printed: {}", r.url);
    let port = r.base.rsplit(':').next().unwrap().to_string();
    let local = format!("http://127.0.0.1:{port}");
    let a = Review::agent();
    assert_eq!(status(&a, &format!("{local}/api/book"), None), 401);
    assert_eq!(
        status(&a, &format!("{local}/api/book?token=wrongwrongwrongwrong"), None),
        403
    );
    assert_eq!(status(&a, &format!("{local}/api/book?token={}", r.token), None), 200);
    // a token of the user's choosing must be long enough
    let out = p
        .cmd(&[
            "review",
            &p.yaml(),
            "--port",
            "0",
            "--engine",
            "espeak",
            "--token",
            "short",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token must be"));
}

#[test]
fn reviewing_a_project_that_was_never_rendered_says_to_render_it() {
    let p = Project::new("");
    let out = p
        .cmd(&["review", &p.yaml(), "--port", "0", "--engine", "espeak"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `ws-book render` first"), "{err}");
}

#[test]
fn two_tabs_at_once_never_corrupt_state_and_a_pronunciation_edit_re_renders_its_chunks() {
    let p = Project::new("lexicon: lexicon.yaml\n");
    p.render(&[], &[]);
    let yaml_before = std::fs::read(p.path("project.yaml")).unwrap();
    let ch1 = review_support::bytes(&p.path("out/01 - The Walk.mp3"));
    let ch2 = review_support::bytes(&p.path("out/02 - The River.mp3"));
    let r = p.review(&[]);
    // concurrent requests from "two tabs": approvals, un-approvals and new takes of one chunk
    std::thread::scope(|s| {
        for t in 0..8 {
            let r = &r;
            s.spawn(move || {
                for _ in 0..5 {
                    let body = format!(r#"{{"chapter":0,"index":{},"approved":{}}}"#, t % 3, t % 2 == 0);
                    assert_eq!(r.post("/api/approve", &body).0, 200);
                }
                assert_eq!(r.post("/api/take", r#"{"chapter":1,"index":1}"#).0, 202);
            });
        }
    });
    let jobs = r.wait_jobs();
    assert!(jobs.as_array().unwrap().iter().all(|j| j["state"] == "done"), "{jobs}");
    let ch = r.get_json("/api/chapter/1");
    let takes: Vec<u64> = ch["chunks"][1]["takes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["take"].as_u64().unwrap())
        .collect();
    assert_eq!(
        takes,
        (0..=8).collect::<Vec<_>>(),
        "the chunk's own audio as take 0, then 8 distinct takes"
    );
    // even chunk indices were last set by even threads (approve) or odd ones (un-approve): each state is whole
    // the racing writes left one consistent state: the book and chapter views agree on it
    let approved_in = |c: &serde_json::Value| {
        c["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["approved"] == true)
            .count()
    };
    let c0 = r.get_json("/api/chapter/0");
    assert_eq!(
        r.get_json("/api/book")["chapters"][0]["approved"],
        approved_in(&c0) as u64
    );
    // and a later write wins whole
    assert_eq!(
        r.post("/api/approve", r#"{"chapter":0,"index":null,"approved":false}"#)
            .0,
        200
    );
    assert_eq!(approved_in(&r.get_json("/api/chapter/0")), 0);
    assert_eq!(r.get_json("/api/book")["chapters"][0]["approved"], 0);
    // a pronunciation edit goes to the lexicon file and re-renders exactly the chunks it changes
    let (s, v) = r.post(
        "/api/lexicon",
        r#"{"lang":"en","word":"summer","replacement":"winter"}"#,
    );
    assert_eq!(s, 202, "{v}");
    let jobs = r.wait_jobs();
    let render = &jobs[0];
    assert_eq!(render["kind"], "render", "{jobs}");
    assert_eq!(render["state"], "done", "{jobs}");
    assert!(
        render["message"].as_str().unwrap().contains("1 chunk(s) synthesised"),
        "{render}"
    );
    let lex = std::fs::read_to_string(p.path("lexicon.yaml")).unwrap();
    assert!(lex.contains("\"summer\": \"winter\""), "{lex}");
    assert_eq!(
        std::fs::read(p.path("project.yaml")).unwrap(),
        yaml_before,
        "project.yaml is never rewritten"
    );
    assert_eq!(review_support::bytes(&p.path("out/01 - The Walk.mp3")), ch1);
    assert_ne!(review_support::bytes(&p.path("out/02 - The River.mp3")), ch2);
    let ch = r.get_json("/api/chapter/1");
    assert!(
        ch["chunks"][1]["text"].as_str().unwrap().contains("winter"),
        "{}",
        ch["chunks"][1]
    );
    // bad edits are named
    let (s, v) = r.post("/api/lexicon", r#"{"lang":"xx","word":"a","replacement":"b"}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v) = r.post("/api/lexicon", r#"{"lang":"en","word":" a","replacement":"b"}"#);
    assert_eq!(s, 400, "{v}");
}
