//! `ws-book review`: proof-listening in the browser. A local web application (axum on the tokio runtime; the
//! page, its CSS and JS embedded in the binary) over a rendered project: the book and its chapters with QC,
//! QA and approval state; every chunk's text, transcript differences, takes and players; actions to ask for a
//! new take, use a take, approve, edit a pronunciation (in the project's lexicon file) and re-assemble.
//!
//! Security model: the server listens on 127.0.0.1 unless told otherwise; every request, audio included,
//! must carry the session token (printed with the URL; `--token` to set it), else 401 (missing) or 403
//! (wrong). State-changing requests are POST with the token in the `X-WS-Book-Token` header, which a page
//! of another site cannot send without a CORS preflight this server never grants, so there is no CSRF; on
//! loopback the `Host` header must be the server's own (no DNS rebinding). Bodies are limited to 16 KiB,
//! audio is addressed by chapter/chunk/take numbers (never paths), and every input is validated with a 4xx
//! error that says what is wrong. Decisions are written to the store in transactions, so two tabs never
//! corrupt state; synthesis and re-renders run one at a time on a job queue.
//!
//! Owns the web application. It sits at the top of the flow beside `batch`: it may use render, store, plan,
//! project and publish; nothing in the library imports it.

mod api;
mod diff;
mod jobs;
mod view;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::render::{RenderError, RenderOptions};

pub use diff::{word_diff, DiffOp};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The header that carries the session token on API requests.
pub const TOKEN_HEADER: &str = "x-ws-book-token";

/// Errors that stop the review server.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The project, its render or its engine cannot be opened.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The project or its plan cannot be read.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// Bad options.
    #[error("{0}")]
    Input(String),
    /// The address cannot be bound or served.
    #[error("{addr}: {source}")]
    Serve {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// Address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// The session token; `None`: a random one.
    pub token: Option<String>,
    /// Render options of the project (database, output folder, engine, offline, QA flags).
    pub render: RenderOptions,
}

/// A running server's address and token.
#[derive(Debug, Clone)]
pub struct Serving {
    /// The bound address.
    pub addr: SocketAddr,
    /// The session token.
    pub token: String,
}

impl Serving {
    /// The page's URL, token included.
    pub fn url(&self) -> String {
        let host = match self.addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        format!("http://{host}:{}/?token={}", self.addr.port(), self.token)
    }
}

/// A random session token: 32 hex digits (128 bits).
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a `--token`: 16 to 128 characters of `[A-Za-z0-9_-]`.
pub fn check_token(t: &str) -> Result<(), ReviewError> {
    if (16..=128).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(ReviewError::Input(
            "--token must be 16 to 128 characters of letters, digits, `-` or `_`".into(),
        ))
    }
}

/// The application state shared by the handlers.
pub(crate) struct App {
    /// The session token.
    token: String,
    /// `Host` header values accepted (empty: any, on a non-loopback bind).
    hosts: Vec<String>,
    /// The project, its plan and the store as the handlers see them; replaced after a re-render.
    view: tokio::sync::RwLock<Arc<view::View>>,
    /// The job queue (takes, re-renders).
    jobs: jobs::Jobs,
}

/// Opens the project's render, binds the address and returns it with a future that serves until
/// `shutdown` resolves. Fails before binding when the project has not been rendered.
pub async fn bind(
    project: &Path,
    opts: ReviewOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(Serving, impl std::future::Future<Output = Result<(), ReviewError>>), ReviewError> {
    let token = match &opts.token {
        Some(t) => {
            check_token(t)?;
            t.clone()
        }
        None => new_token(),
    };
    let (view, ctx) = view::View::open(project, &opts.render).await?;
    let addr = SocketAddr::new(opts.host, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ReviewError::Serve {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ReviewError::Serve {
        addr: addr.to_string(),
        source,
    })?;
    let hosts = match local.ip().is_loopback() {
        true => vec![
            format!("127.0.0.1:{}", local.port()),
            format!("localhost:{}", local.port()),
            format!("[::1]:{}", local.port()),
        ],
        false => vec![],
    };
    let app = Arc::new(App {
        token: token.clone(),
        hosts,
        view: tokio::sync::RwLock::new(Arc::new(view)),
        jobs: jobs::Jobs::new(),
    });
    let rx = jobs::channel(&app);
    let router = api::router(app.clone())
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES));
    let serving = Serving { addr: local, token };
    let (project, render_opts) = (project.to_path_buf(), opts.render.clone());
    let fut = async move {
        // requests are served on the runtime's worker threads; the jobs (a re-render is not `Send`) run
        // on this thread's local task set until the server stops
        let server = tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(shutdown).await });
        let job_set = tokio::task::LocalSet::new();
        job_set.spawn_local(jobs::run(app, ctx, project, render_opts, rx));
        let served = job_set.run_until(server).await;
        let io = |source| ReviewError::Serve {
            addr: local.to_string(),
            source,
        };
        match served {
            Ok(r) => r.map_err(io),
            Err(e) => Err(io(std::io::Error::other(e.to_string()))),
        }
    };
    Ok((serving, fut))
}

/// A JSON error response `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// Equal in time independent of where the strings differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// Every request: the `Host` (loopback binds), the token (header, or `?token=` for GET: the page and its
/// audio), POST only with the header and from this origin.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let headers: &HeaderMap = req.headers();
    if !app.hosts.is_empty() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !app.hosts.iter().any(|h| h == host) {
            return error(
                StatusCode::FORBIDDEN,
                format!("unexpected Host `{host}`: open the address `ws-book review` printed"),
            );
        }
    }
    let from_header = headers.get(TOKEN_HEADER).and_then(|h| h.to_str().ok());
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let token = match (from_header, is_get) {
        (Some(t), _) => Some(t),
        (None, true) => query_token(req.uri().query()),
        (None, false) => None,
    };
    let Some(token) = token else {
        return error(
            StatusCode::UNAUTHORIZED,
            match is_get {
                true => "missing token: open the URL `ws-book review` printed (it ends in ?token=…)",
                false => "missing token: state-changing requests carry it in the X-WS-Book-Token header",
            },
        );
    };
    if !same_token(token, &app.token) {
        return error(StatusCode::FORBIDDEN, "wrong token");
    }
    if !is_get {
        if req.method() != Method::POST {
            return error(StatusCode::METHOD_NOT_ALLOWED, "only GET and POST are served");
        }
        if let (Some(origin), Some(host)) = (
            headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()),
            headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        ) {
            if origin != format!("http://{host}") {
                return error(
                    StatusCode::FORBIDDEN,
                    format!("cross-origin request from {origin} refused"),
                );
            }
        }
    }
    next.run(req).await
}

/// The project file a review opens: a project.yaml, or a folder holding one.
pub fn project_file(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join("project.yaml")
    } else {
        input.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(check_token(&a).is_ok());
        assert!(check_token("short").is_err());
        assert!(check_token("has spaces in it, too long").is_err());
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..31]));
        assert_eq!(query_token(Some("x=1&token=abc")), Some("abc"));
        assert_eq!(query_token(None), None);
    }
}
