//! How a render shows progress: indicatif bars on a terminal, plain log lines, JSON-lines events, or nothing
//! but warnings.

use std::time::Duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// indicatif bars on a terminal, plain lines otherwise.
    Auto,
    /// Plain log lines on stderr.
    Plain,
    /// JSON lines on stderr: one object per event (`log`, `warning`, `chunk`, `chapter`, `output`).
    Json,
    /// Nothing but warnings.
    Quiet,
}

/// A progress sink: log lines (plain) or indicatif bars (terminal).
pub(super) struct Progress {
    pub(super) mode: ProgressMode,
    /// The render's name, in JSON events.
    project: String,
    multi: Option<indicatif::MultiProgress>,
    bar: Option<indicatif::ProgressBar>,
    spinners: Vec<indicatif::ProgressBar>,
}

impl Progress {
    pub(super) fn new(mode: ProgressMode, total: u64, workers: usize, project: String) -> Progress {
        use std::io::IsTerminal;
        let tty = mode == ProgressMode::Auto && std::io::stderr().is_terminal();
        if !tty {
            let mode = match mode {
                ProgressMode::Quiet | ProgressMode::Json => mode,
                _ => ProgressMode::Plain,
            };
            return Progress {
                mode,
                project,
                multi: None,
                bar: None,
                spinners: vec![],
            };
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} chunks  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let bar = multi.add(indicatif::ProgressBar::new(total).with_style(style));
        let sstyle = indicatif::ProgressStyle::with_template("  {spinner} {prefix}: {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let spinners = (0..workers)
            .map(|i| {
                let s = multi.add(indicatif::ProgressBar::new_spinner().with_style(sstyle.clone()));
                s.set_prefix(format!("worker {i}"));
                s.enable_steady_tick(Duration::from_millis(120));
                s
            })
            .collect();
        Progress {
            mode: ProgressMode::Auto,
            project,
            multi: Some(multi),
            bar: Some(bar),
            spinners,
        }
    }

    /// Whether progress goes to terminal bars (updated often) rather than log lines (every few seconds).
    pub(super) fn is_tty(&self) -> bool {
        self.bar.is_some()
    }

    /// A log line.
    pub(super) fn line(&self, s: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(s);
            }
            (None, ProgressMode::Quiet) => {}
            (None, ProgressMode::Json) => self.event("log", serde_json::json!({ "message": s })),
            (None, _) => eprintln!("{s}"),
        }
    }

    /// A line shown even in quiet mode (something the user must know: the render is waiting).
    pub(super) fn notice(&self, s: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(s);
            }
            (None, ProgressMode::Json) => self.event("log", serde_json::json!({ "message": s })),
            (None, _) => eprintln!("{s}"),
        }
    }

    /// A JSON-lines event on stderr (JSON mode only): `{"event": kind, "project": …, …fields}`.
    pub(super) fn event(&self, kind: &str, fields: serde_json::Value) {
        if self.mode != ProgressMode::Json {
            return;
        }
        let mut v = serde_json::json!({ "event": kind, "project": self.project });
        if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
            o.extend(f);
        }
        eprintln!("{v}");
    }

    /// A warning (shown in every mode).
    pub(super) fn warn(&self, s: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(format!("warning: {s}"));
            }
            (None, ProgressMode::Json) => self.event("warning", serde_json::json!({ "message": s })),
            (None, _) => eprintln!("warning: {s}"),
        }
    }

    /// The chunk counts, audio so far, engine speed and each worker's activity.
    pub(super) fn update(&self, done: u64, total: u64, audio_s: f64, speed: f64, activities: &[String], qa: &str) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{audio_s:.0} s audio, {speed:.1}× real time{qa}"));
            for (s, a) in self.spinners.iter().zip(activities) {
                s.set_message(a.clone());
            }
        } else {
            self.line(&format!(
                "render: {done}/{total} chunks done, {audio_s:.0} s audio, {speed:.1}× real time{qa}"
            ));
        }
    }

    /// Clears the bars.
    pub(super) fn finish(&self) {
        for s in &self.spinners {
            s.finish_and_clear();
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
