//! The YAML parser's resource budget, shared by project files and Markdown front matter.

use serde_saphyr::budget::Budget;
use serde_saphyr::options::Options;

/// Parser options refusing a document of more than `max_events` events or `max_aliases` aliases (no alias
/// explosion); `tighten` may lower the budget's other limits.
pub(crate) fn budgeted(max_events: usize, max_aliases: usize, tighten: impl FnOnce(&mut Budget)) -> Options {
    let mut budget = Budget::default();
    budget.max_events = max_events;
    budget.max_aliases = max_aliases;
    tighten(&mut budget);
    let mut options = Options::default();
    options.budget = Some(budget);
    options
}
