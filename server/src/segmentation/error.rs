//! Errors in a rules file, each at a line and column.

use std::ops::Range;

use crate::error::FieldError;

/// What kind of mistake a rules file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesErrorKind {
    /// Not TOML, or not the shape of a rules file: bad syntax, an unknown key, a
    /// missing key, a value of the wrong type.
    Syntax,
    /// Well-formed, but meaningless: an unknown flag, level, tier or service, a
    /// duplicate id, a ratio outside 0..=100, ...
    Meaning,
}

/// A rules file that cannot be used, with the 1-based line and column (in
/// characters) of the offending spot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RulesError {
    pub line: usize,
    pub column: usize,
    pub kind: RulesErrorKind,
    pub message: String,
}

impl RulesError {
    pub(super) fn at(text: &str, span: Range<usize>, kind: RulesErrorKind, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, span.start);
        Self { line, column, kind, message: message.into() }
    }

    pub(super) fn from_toml(text: &str, error: &toml::de::Error) -> Self {
        Self::at(text, error.span().unwrap_or(0..0), RulesErrorKind::Syntax, error.message().trim_end())
    }

    /// A stable code: `rules_syntax` or `rules_invalid`.
    pub fn code(&self) -> &'static str {
        match self.kind {
            RulesErrorKind::Syntax => "rules_syntax",
            RulesErrorKind::Meaning => "rules_invalid",
        }
    }

    /// The error as a validation error of the request field holding the file.
    pub fn to_field_error(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.to_string())
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "a = 1\n名 = \"x\"\nb";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // "名" is three bytes but one column.
        assert_eq!(line_column(text, 10), (2, 3));
        assert_eq!(line_column(text, 1000), (3, 2));
    }
}
