//! A real PostgreSQL server for the tests: `initdb` + `pg_ctl` from the Debian `postgresql` package in a
//! temporary folder, on a free 127.0.0.1 port, trust authentication, no system service. Torn down when
//! dropped ([`PgServer`]) or, for the per-binary [`shared`] server, by a watchdog when the test process
//! exits. Missing binaries make the test FAIL with the install command (never a silent skip).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Where to look, and what to say when PostgreSQL is absent.
pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them with \
     `sudo apt-get install postgresql` (scripts/install-deps.sh does), or set WS_BOOK_PG_BIN to the folder \
     holding initdb and pg_ctl";

/// The folder of `initdb`/`pg_ctl`: `$WS_BOOK_PG_BIN`, the newest `/usr/lib/postgresql/*/bin`,
/// `pg_config --bindir`, or `PATH`.
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("WS_BOOK_PG_BIN") {
        let d = PathBuf::from(d);
        return if d.join("initdb").exists() {
            Ok(d)
        } else {
            Err(format!("WS_BOOK_PG_BIN={} has no initdb. {INSTALL_HINT}", d.display()))
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Ok(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && d.join("initdb").exists() {
            return Ok(d);
        }
    }
    for p in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if p.join("initdb").exists() && p.join("pg_ctl").exists() {
            return Ok(p);
        }
    }
    Err(INSTALL_HINT.into())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// initdb refuses to run as root: as root the server runs as the `postgres` user the Debian package
/// creates (or `$WS_BOOK_PG_USER`).
fn run_as() -> Option<String> {
    is_root().then(|| std::env::var("WS_BOOK_PG_USER").unwrap_or_else(|_| "postgres".into()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running PostgreSQL server in a temporary folder.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    user: Option<String>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    owned: bool,
}

static DBS: AtomicU64 = AtomicU64::new(0);

impl PgServer {
    /// initdb + start; panics (fails the test) with [`INSTALL_HINT`] when PostgreSQL is absent.
    pub fn start() -> PgServer {
        let bin = bin_dir().unwrap_or_else(|e| panic!("{e}"));
        let user = run_as();
        let n = DBS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ws-book-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(u) = &user {
            let ok = Command::new("chown").arg(u).arg(&dir).status().map(|s| s.success());
            assert!(
                matches!(ok, Ok(true)),
                "cannot hand {} to user `{u}` (running as root, initdb needs a non-root user: the Debian \
                 postgresql package creates `postgres`; or set WS_BOOK_PG_USER)",
                dir.display()
            );
        }
        let mut s = PgServer {
            dir,
            bin,
            user,
            port: 0,
            owned: true,
        };
        let data = s.dir.join("data");
        let out = s
            .cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "wsbook", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last = String::new();
        for _ in 0..3 {
            s.port = free_port();
            match s.pg_ctl_start() {
                Ok(()) => return s,
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.stdin(Stdio::null());
        c
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB",
            self.port,
            self.dir.display()
        );
        let out = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            ))
        }
    }

    /// Stops the server (fast shutdown: sessions are terminated, as in a database restart).
    pub fn stop(&self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start()
            .unwrap_or_else(|e| panic!("PostgreSQL did not restart: {e}"));
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://wsbook@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh database and returns its URL.
    pub fn fresh_db(&self) -> String {
        let name = format!("t{}", DBS.fetch_add(1, Ordering::Relaxed));
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "wsbook", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(&name)
    }

    /// The server's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.owned {
            let _ = self
                .cmd("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One server per test binary (each test takes its own database from it with [`PgServer::fresh_db`]). A
/// watchdog process stops it and removes its folder once this test process has exited.
pub fn shared() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut s = PgServer::start();
        s.owned = false;
        let stop = {
            let c = s.cmd("pg_ctl");
            let mut parts: Vec<String> = vec![c.get_program().to_string_lossy().into()];
            parts.extend(c.get_args().map(|a| a.to_string_lossy().to_string()));
            parts.join(" ")
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} -D {dir}/data -m immediate -w stop \
             >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            dir = s.dir.display()
        );
        // The watchdog outlives this process on purpose (it waits for it to exit), so it is never waited on.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the PostgreSQL watchdog");
        std::thread::sleep(Duration::from_millis(1));
        s
    })
}

impl PgServer {
    /// How many sessions are connected to database `db` (from `pg_stat_activity`, asked with `psql`).
    pub fn connections(&self, db: &str) -> u64 {
        let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'");
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "wsbook",
                "-d",
                "postgres",
            ])
            .args(["-X", "-A", "-t", "-c", &sql])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

// Helpers of the render-farm tests (farm_pg, soak_pg).

/// A current-thread Tokio runtime for the tests' own store reads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Chunk rows of the database's one render, if it exists yet (and the database answers).
pub fn states(rt: &tokio::runtime::Runtime, url: &str) -> Option<Vec<ws_book::store::ChunkState>> {
    rt.block_on(async {
        let store = ws_book::store::Store::open(url).await.ok()?;
        // each test has its own database: its one render (named `<folder>/project.yaml`)
        let r = store.renders().await.ok().and_then(|rs| rs.into_iter().next());
        let s = match r {
            Some(r) => store.chunk_states(r.id).await.ok(),
            None => None,
        };
        store.close().await;
        s
    })
}

/// Sends `sig` (`-KILL`, `-STOP`, …) to `pid` with `kill`.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}
