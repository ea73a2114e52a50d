//! The output templates: defaults shipped in the binary (`templates/` of the source tree, embedded with
//! `include_str!`) and per-project overrides: a file at the same relative path under a `templates/` folder
//! beside project.yaml (e.g. `templates/podcast/feed.xml.j2`) replaces the default.

use std::path::PathBuf;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::PublishError;
use crate::project::Project;

/// Names and texts of the shipped templates.
pub const DEFAULTS: &[(&str, &str)] = &[
    (
        "podcast/feed.xml.j2",
        include_str!("../../templates/podcast/feed.xml.j2"),
    ),
    (
        "podcast/chapters.json.j2",
        include_str!("../../templates/podcast/chapters.json.j2"),
    ),
    (
        "transcript/transcript.vtt.j2",
        include_str!("../../templates/transcript/transcript.vtt.j2"),
    ),
    (
        "transcript/transcript.srt.j2",
        include_str!("../../templates/transcript/transcript.srt.j2"),
    ),
];

/// The templates of one project.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    /// The project's override folder (`templates/` beside project.yaml), if it exists.
    pub dir: Option<PathBuf>,
}

impl Templates {
    /// The templates for a project: its `templates/` folder's files override the defaults.
    pub fn for_project(project: &Project) -> Templates {
        let dir = project.base_dir.join("templates");
        Templates {
            dir: dir.is_dir().then_some(dir),
        }
    }

    /// The source of template `name`: the override file if there is one, else the default.
    fn source(&self, name: &str) -> Result<(String, String), PublishError> {
        if let Some(dir) = &self.dir {
            let p = dir.join(name);
            if p.is_file() {
                let text = std::fs::read_to_string(&p).map_err(|source| PublishError::Io {
                    path: p.clone(),
                    source,
                })?;
                return Ok((p.display().to_string(), text));
            }
        }
        DEFAULTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (format!("(built-in) templates/{n}"), t.to_string()))
            .ok_or_else(|| PublishError::Template {
                name: name.into(),
                message: "no such template".into(),
            })
    }

    /// Renders template `name` with `ctx`. XML templates escape values for XML; others insert them as they are
    /// (JSON templates use the `tojson` filter, WebVTT the `vtt` filter).
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, PublishError> {
        let (label, text) = self.source(name)?;
        let mut env = Environment::new();
        env.set_auto_escape_callback(|n| {
            if n.ends_with(".xml.j2") || n.ends_with(".xml") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("vtt", vtt_escape);
        // XML escaping: only the five XML entities (minijinja's HTML escaping also turns `/` into `&#x2f;`).
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() {
                if let Some(s) = value.as_str() {
                    return out.write_str(&xml_escape(s)).map_err(minijinja::Error::from);
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        let err = |e: minijinja::Error| PublishError::Template {
            name: label.clone(),
            message: match e.line() {
                Some(l) => format!("line {l}: {e}"),
                None => e.to_string(),
            },
        };
        env.add_template_owned(name.to_string(), text).map_err(err)?;
        let t = env.get_template(name).map_err(err)?;
        t.render(minijinja::value::Serde(ctx)).map_err(err)
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Escapes `&`, `<` and `>` for WebVTT cue text.
pub fn vtt_escape(s: String) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
