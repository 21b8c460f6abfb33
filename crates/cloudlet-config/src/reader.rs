//! A TOML reader that keeps source locations and collects every problem.
//!
//! serde's `deny_unknown_fields` stops at the first error and loses the line; people fixing a manifest
//! want all of them at once, each with its line and a hint. [`Document`] parses the text keeping spans,
//! and [`TableReader`] takes typed fields out of one table, recording which keys it knows so that
//! [`TableReader::finish`] can report the unknown ones with the nearest valid name.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::problem::{self, LineIndex, Location, Problem};
use crate::suggest::nearest;
use crate::units::{parse_duration, parse_size};

/// A parsed TOML text and the problems found while reading it.
pub struct Document<'i> {
    root: Spanned<DeTable<'i>>,
    lines: LineIndex,
    problems: RefCell<Vec<Problem>>,
}

impl<'i> Document<'i> {
    /// Parses `text`; a syntax error comes back as a located problem.
    pub fn parse(text: &'i str) -> Result<Self, Vec<Problem>> {
        let lines = LineIndex::new(text);
        match DeTable::parse(text) {
            Ok(root) => Ok(Self { root, lines, problems: RefCell::new(Vec::new()) }),
            Err(error) => {
                let location = error.span().map(|span| lines.locate(span.start));
                let message = error.message().trim_end().to_string();
                Err(vec![Problem::new(location, "", format!("invalid TOML: {message}"))])
            }
        }
    }

    /// A reader over the top-level table.
    pub fn root(&self) -> TableReader<'_, 'i> {
        TableReader::new(self, self.root.get_ref(), None, String::new())
    }

    /// Records a problem found by a check outside the readers.
    pub fn report(&self, problem: Problem) {
        self.problems.borrow_mut().push(problem);
    }

    /// Every problem reported, sorted by location.
    pub fn into_problems(self) -> Vec<Problem> {
        let mut problems = self.problems.into_inner();
        problem::sort(&mut problems);
        problems
    }

    fn locate(&self, span: Range<usize>) -> Location {
        self.lines.locate(span.start)
    }
}

/// Typed access to the fields of one TOML table.
pub struct TableReader<'d, 'i> {
    document: &'d Document<'i>,
    table: &'d DeTable<'i>,
    location: Option<Location>,
    path: String,
    known: Vec<&'static str>,
}

impl<'d, 'i> TableReader<'d, 'i> {
    fn new(document: &'d Document<'i>, table: &'d DeTable<'i>, location: Option<Location>, path: String) -> Self {
        Self { document, table, location, path, known: Vec::new() }
    }

    /// The dotted path of this table, e.g. `service[1]` (empty for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The dotted path of a field of this table.
    pub fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    /// Where this table starts (its header), if it is not the root.
    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// Where the value of `key` is, or the table's own location when the key is absent.
    pub fn location_of(&self, key: &str) -> Option<Location> {
        match self.table.get(key) {
            Some(value) => Some(self.document.locate(value.span())),
            None => self.location,
        }
    }

    /// Reports a problem about `key` (located at its value).
    pub fn report(&self, key: &str, message: impl Into<String>, hint: Option<String>) {
        let mut problem = Problem::new(self.location_of(key), self.field_path(key), message);
        problem.hint = hint;
        self.document.report(problem);
    }

    fn value(&mut self, key: &'static str) -> Option<&'d Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table.get(key)
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &DeValue<'_>) {
        self.report(key, format!("\"{key}\" must be {expected}, found {}", found.type_str()), None);
    }

    /// A string field.
    pub fn string(&mut self, key: &'static str) -> Option<String> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            other => {
                self.wrong_type(key, "a string", other);
                None
            }
        }
    }

    /// A string field that must be present; `hint` says what a valid one looks like.
    pub fn required_string(&mut self, key: &'static str, hint: &str) -> Option<String> {
        if !self.table.contains_key(key) {
            self.known.push(key);
            self.report(key, format!("missing required field \"{key}\""), Some(hint.to_string()));
            return None;
        }
        self.string(key)
    }

    /// An array of strings that must be present and non-empty; `hint` says what a valid one looks like.
    pub fn required_string_array(&mut self, key: &'static str, hint: &str) -> Option<Vec<String>> {
        if !self.table.contains_key(key) {
            self.known.push(key);
            self.report(key, format!("missing required field \"{key}\""), Some(hint.to_string()));
            return None;
        }
        let strings = self.string_array(key)?;
        if strings.is_empty() {
            self.report(key, format!("\"{key}\" must not be empty"), Some(hint.to_string()));
            return None;
        }
        Some(strings)
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &'static str) -> Option<bool> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            other => {
                self.wrong_type(key, "true or false", other);
                None
            }
        }
    }

    /// A field that is either `true`/`false` or a string (`keyvalue = true`, `keyvalue = "cache"`).
    pub fn bool_or_string(&mut self, key: &'static str) -> Option<Result<bool, String>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(Ok(*flag)),
            DeValue::String(text) => Some(Err(text.to_string())),
            other => {
                self.wrong_type(key, "true, false or a string", other);
                None
            }
        }
    }

    /// A non-negative integer field no larger than `max`.
    pub fn count(&mut self, key: &'static str, max: u32) -> Option<u32> {
        let value = self.value(key)?;
        let DeValue::Integer(integer) = value.get_ref() else {
            self.wrong_type(key, "an integer", value.get_ref());
            return None;
        };
        match i64::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(number) if (0..=i64::from(max)).contains(&number) => Some(number as u32),
            _ => {
                self.report(key, format!("\"{key}\" must be between 0 and {max}, found {integer}"), None);
                None
            }
        }
    }

    /// A duration written as a string (`"10s"`).
    pub fn duration(&mut self, key: &'static str) -> Option<Duration> {
        let value = self.value(key)?;
        let DeValue::String(text) = value.get_ref() else {
            self.wrong_type(key, "a duration string like \"10s\"", value.get_ref());
            return None;
        };
        parse_duration(text)
            .map_err(|error| {
                self.report(key, format!("bad duration for \"{key}\": {error}"), Some(DURATION_HINT.to_string()))
            })
            .ok()
    }

    /// A byte size written as a string (`"64MiB"`) or a number of bytes.
    pub fn size(&mut self, key: &'static str) -> Option<u64> {
        let value = self.value(key)?;
        let parsed = match value.get_ref() {
            DeValue::String(text) => parse_size(text),
            DeValue::Integer(integer) => {
                u64::from_str_radix(integer.as_str(), integer.radix()).map_err(|_| format!("{integer} is not a size"))
            }
            other => {
                self.wrong_type(key, "a size like \"64MiB\"", other);
                return None;
            }
        };
        parsed
            .map_err(|error| self.report(key, format!("bad size for \"{key}\": {error}"), Some(SIZE_HINT.to_string())))
            .ok()
    }

    /// An array of strings.
    pub fn string_array(&mut self, key: &'static str) -> Option<Vec<String>> {
        let value = self.value(key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, "an array of strings", value.get_ref());
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(text) => strings.push(text.to_string()),
                other => {
                    self.report(key, format!("\"{key}\" must contain only strings, found {}", other.type_str()), None);
                    return None;
                }
            }
        }
        Some(strings)
    }

    /// An array of non-negative integers, each at most `max`.
    pub fn count_array(&mut self, key: &'static str, max: u32) -> Option<Vec<u32>> {
        let value = self.value(key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, "an array of integers", value.get_ref());
            return None;
        };
        let mut numbers = Vec::with_capacity(items.len());
        for item in items.iter() {
            let parsed = match item.get_ref() {
                DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix()).ok(),
                _ => None,
            };
            match parsed {
                Some(number) if (0..=i64::from(max)).contains(&number) => numbers.push(number as u32),
                _ => {
                    self.report(key, format!("\"{key}\" must contain integers between 0 and {max}"), None);
                    return None;
                }
            }
        }
        Some(numbers)
    }

    /// A number (integer or decimal) between `min` and `max`.
    pub fn number(&mut self, key: &'static str, min: f64, max: f64) -> Option<f64> {
        let value = self.value(key)?;
        let number = match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix()).ok().map(|n| n as f64),
            DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
            other => {
                self.wrong_type(key, "a number", other);
                return None;
            }
        };
        match number {
            Some(number) if (min..=max).contains(&number) => Some(number),
            _ => {
                self.report(key, format!("\"{key}\" must be a number between {min} and {max}"), None);
                None
            }
        }
    }

    /// A table whose values are all strings (e.g. environment variables).
    pub fn string_map(&mut self, key: &'static str) -> Option<BTreeMap<String, String>> {
        let value = self.value(key)?;
        let DeValue::Table(table) = value.get_ref() else {
            self.wrong_type(key, "a table of strings", value.get_ref());
            return None;
        };
        let mut map = BTreeMap::new();
        for (name, entry) in table.iter() {
            match entry.get_ref() {
                DeValue::String(text) => {
                    map.insert(name.get_ref().to_string(), text.to_string());
                }
                other => {
                    let location = Some(self.document.locate(entry.span()));
                    let field = format!("{}.{}", self.field_path(key), name.get_ref());
                    let message = format!("\"{}\" must be a string, found {}", name.get_ref(), other.type_str());
                    self.document.report(Problem::new(location, field, message).with_hint("quote the value"));
                }
            }
        }
        Some(map)
    }

    /// A field that is a string or a table (`health = "/healthz"` or `health = { path = … }`).
    pub fn string_or_table(&mut self, key: &'static str) -> Option<Result<String, TableReader<'d, 'i>>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some(Ok(text.to_string())),
            DeValue::Table(table) => {
                let location = Some(self.document.locate(value.span()));
                Some(Err(TableReader::new(self.document, table, location, self.field_path(key))))
            }
            other => {
                self.wrong_type(key, "a string or a table", other);
                None
            }
        }
    }

    /// A nested table (`[x]` or `x = { ... }`).
    pub fn table(&mut self, key: &'static str) -> Option<TableReader<'d, 'i>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Table(table) => {
                let location = Some(self.document.locate(value.span()));
                Some(TableReader::new(self.document, table, location, self.field_path(key)))
            }
            other => {
                self.wrong_type(key, "a table", other);
                None
            }
        }
    }

    /// An array of tables (`[[x]]`); empty when absent.
    pub fn tables(&mut self, key: &'static str) -> Vec<TableReader<'d, 'i>> {
        let Some(value) = self.value(key) else { return Vec::new() };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, &format!("an array of tables, written [[{key}]]"), value.get_ref());
            return Vec::new();
        };
        let mut readers = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(table) => {
                    let location = Some(self.document.locate(item.span()));
                    let path = format!("{}[{index}]", self.field_path(key));
                    readers.push(TableReader::new(self.document, table, location, path));
                }
                other => self.report(key, format!("each \"{key}\" must be a table, found {}", other.type_str()), None),
            }
        }
        readers
    }

    /// Reports every key of this table that no accessor asked for, suggesting the nearest known one.
    pub fn finish(self) {
        for (key, _) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if self.known.contains(&name) {
                continue;
            }
            let location = Some(self.document.locate(key.span()));
            let message = match nearest(name, &self.known) {
                Some(suggestion) => format!("unknown field \"{name}\", expected \"{suggestion}\""),
                None => format!("unknown field \"{name}\", expected one of {}", quoted_list(&self.known)),
            };
            self.document.report(Problem::new(location, self.field_path(name), message));
        }
    }
}

const DURATION_HINT: &str = "write a number and a unit: \"500ms\", \"10s\", \"5m\", \"1h\"";
const SIZE_HINT: &str = "write a number and a unit: \"512KiB\", \"64MiB\", \"1GiB\"";

fn quoted_list(names: &[&str]) -> String {
    let mut names: Vec<&str> = names.to_vec();
    names.dedup();
    names.iter().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, body: impl FnOnce(&mut TableReader<'_, '_>)) -> Vec<Problem> {
        let document = Document::parse(text).expect("valid TOML");
        {
            let mut root = document.root();
            body(&mut root);
            root.finish();
        }
        document.into_problems()
    }

    #[test]
    fn unknown_fields_get_a_suggestion_and_a_line() {
        let problems = read("name = \"x\"\n\nrout = \"/a\"\n", |root| {
            root.string("name");
            root.string("route");
        });
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location, Some(Location { line: 3, column: 1 }));
        assert_eq!(problems[0].message, "unknown field \"rout\", expected \"route\"");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let problems = read("a = 1\nb = \"x\"\nc = \"10 parsecs\"\n", |root| {
            root.string("a");
            root.count("b", 10);
            root.size("c");
            root.required_string("d", "add d");
        });
        assert_eq!(problems.len(), 4, "{problems:#?}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let Err(problems) = Document::parse("name = \"x\"\nbad line\n") else { panic!("must fail") };
        assert_eq!(problems[0].location.map(|l| l.line), Some(2));
        assert!(problems[0].message.starts_with("invalid TOML"));
    }

    #[test]
    fn nested_tables_and_arrays_of_tables_keep_paths() {
        let problems = read("[[service]]\nname = \"a\"\nscale = { mn = 1 }\n", |root| {
            for mut service in root.tables("service") {
                service.string("name");
                if let Some(mut scale) = service.table("scale") {
                    scale.count("min", 10);
                    scale.finish();
                }
                service.finish();
            }
        });
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "service[0].scale.mn");
        assert_eq!(problems[0].location.map(|l| l.line), Some(3));
    }
}
