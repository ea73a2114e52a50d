//! Stopping signals for long-running commands (`render`, `worker`). SIGINT (Ctrl-C), SIGTERM (systemd,
//! Docker, Kubernetes, CI runners) and SIGHUP (a closed terminal) all set the cancel flag: workers stop
//! claiming, finish or release their in-flight chunks and return their leases; assembly stops within one
//! block and removes its temporary files. A second signal exits at once (leases then expire as after a
//! crash). Exit codes: 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

/// Which signal stopped the command (0: none yet).
#[derive(Debug, Clone, Default)]
pub struct Stopped(Arc<AtomicI32>);

impl Stopped {
    /// The exit code for a command that was interrupted: 128 + the signal number (130 for SIGINT).
    pub fn exit_code(&self) -> i32 {
        match self.0.load(Ordering::SeqCst) {
            0 => 130,
            n => 128 + n,
        }
    }

    /// `code`, or the signal's exit code when `code` says the command was interrupted (130).
    pub fn map(&self, code: i32) -> i32 {
        if code == 130 {
            self.exit_code()
        } else {
            code
        }
    }
}

/// The multi-threaded tokio runtime of a long-running command (`render`, `worker`), its cancel flag and the
/// record of which signal set it (see [`install`]); `message` names the command in what it prints.
pub fn interruptible_runtime(
    message: &'static str,
) -> anyhow::Result<(tokio::runtime::Runtime, Arc<AtomicBool>, Stopped)> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let cancel = Arc::new(AtomicBool::new(false));
    let stopped = {
        let _in_runtime = rt.enter();
        install(cancel.clone(), message)?
    };
    Ok((rt, cancel, stopped))
}

/// Installs the handlers (inside the Tokio runtime): the first signal sets `cancel` and says so; a second
/// one exits the process at once.
fn install(cancel: Arc<AtomicBool>, message: &'static str) -> std::io::Result<Stopped> {
    let stopped = Stopped::default();
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let s = stopped.clone();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let (n, name) = tokio::select! {
                _ = int.recv() => (2, "SIGINT"),
                _ = term.recv() => (15, "SIGTERM"),
                _ = hup.recv() => (1, "SIGHUP"),
            };
            if !first {
                eprintln!("{name} again: exiting now; chunks in flight return to the queue when their lease ends");
                std::process::exit(128 + n);
            }
            first = false;
            s.0.store(n, Ordering::SeqCst);
            cancel.store(true, Ordering::SeqCst);
            eprintln!("{message}: interrupted ({name}); finishing in-flight chunks and releasing leases…");
        }
    });
    Ok(stopped)
}
