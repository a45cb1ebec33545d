//! The Short Portable Mental Status Questionnaire (Pfeiffer, 1975): ten questions,
//! scored by the number of errors.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Number of wrong answers, 0..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpmsqErrors(u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CognitionLevel {
    /// 0–2 errors
    Intact,
    /// 3–4 errors
    Mild,
    /// 5–7 errors
    Moderate,
    /// 8–10 errors
    Severe,
}

impl SpmsqErrors {
    pub fn parse(errors: i64, field: &str) -> Result<Self, FieldError> {
        match u8::try_from(errors) {
            Ok(e) if e <= 10 => Ok(Self(e)),
            _ => Err(FieldError::new(field, "range", "must be between 0 and 10")),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn level(self) -> CognitionLevel {
        match self.0 {
            0..=2 => CognitionLevel::Intact,
            3..=4 => CognitionLevel::Mild,
            5..=7 => CognitionLevel::Moderate,
            _ => CognitionLevel::Severe,
        }
    }
}

impl CognitionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intact => "intact",
            Self::Mild => "mild",
            Self::Moderate => "moderate",
            Self::Severe => "severe",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cut_off_on_both_sides() {
        for (errors, level) in [
            (0, CognitionLevel::Intact),
            (2, CognitionLevel::Intact),
            (3, CognitionLevel::Mild),
            (4, CognitionLevel::Mild),
            (5, CognitionLevel::Moderate),
            (7, CognitionLevel::Moderate),
            (8, CognitionLevel::Severe),
            (10, CognitionLevel::Severe),
        ] {
            assert_eq!(SpmsqErrors::parse(errors, "spmsq_errors").unwrap().level(), level, "{errors} errors");
        }
    }

    #[test]
    fn out_of_range_is_refused() {
        assert!(SpmsqErrors::parse(11, "spmsq_errors").is_err());
        assert!(SpmsqErrors::parse(-1, "spmsq_errors").is_err());
    }
}
