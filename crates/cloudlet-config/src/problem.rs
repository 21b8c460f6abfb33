//! A problem found while reading user input, with where it is and how to fix it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 1-based line and column in a source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

/// One thing wrong with a manifest or config file.
///
/// `Display` renders it the way the CLI prints it after the file name:
/// `7: unknown field "rout", expected "route"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where in the source; `None` when the problem is about something missing from the file as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The dotted path of the field, e.g. `service[0].scale.min` (empty for the whole document).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(location: Option<Location>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location, field: field.into(), message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the problem prefixed with the source name, as the CLI prints it:
    /// `cloudlet.toml:7: unknown field "rout", expected "route"`.
    pub fn render(&self, source_name: &str) -> String {
        match self.location {
            Some(location) => format!("{source_name}:{}: {self}", location.line),
            None => format!("{source_name}: {self}"),
        }
    }
}

/// The message and hint; the field is named only when there is no line to point at.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_none() && !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Problems sorted by where they are, the order a person fixes them in.
pub fn sort(problems: &mut [Problem]) {
    problems.sort_by_key(|problem| problem.location.unwrap_or(Location { line: u32::MAX, column: 0 }));
}

/// Maps byte offsets of a source text to lines and columns.
#[derive(Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(offset, _)| offset + 1));
        Self { line_starts }
    }

    pub fn locate(&self, offset: usize) -> Location {
        let line = self.line_starts.partition_point(|&start| start <= offset).max(1);
        let column = offset - self.line_starts[line - 1] + 1;
        Location { line: line as u32, column: column as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_maps_offsets_to_lines_and_columns() {
        let index = LineIndex::new("ab\ncd\n\nx");
        assert_eq!(index.locate(0), Location { line: 1, column: 1 });
        assert_eq!(index.locate(1), Location { line: 1, column: 2 });
        assert_eq!(index.locate(3), Location { line: 2, column: 1 });
        assert_eq!(index.locate(7), Location { line: 4, column: 1 });
    }

    #[test]
    fn render_puts_the_file_and_line_first() {
        let problem = Problem::new(
            Some(Location { line: 7, column: 1 }),
            "service[0].rout",
            "unknown field \"rout\", expected \"route\"",
        );
        assert_eq!(problem.render("cloudlet.toml"), "cloudlet.toml:7: unknown field \"rout\", expected \"route\"");
        let missing = Problem::new(None, "name", "missing required field").with_hint("add name = \"my-app\"");
        assert_eq!(
            missing.render("cloudlet.toml"),
            "cloudlet.toml: name: missing required field (add name = \"my-app\")"
        );
    }
}
