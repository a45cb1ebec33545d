//! Survey templates: their questions, and checking a set of answers against them.

use std::collections::BTreeMap;

use entity::survey_templates;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};

/// A text in both languages of the console.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Wording {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// An integer from 1 (worst) to 5 (best).
    Rating,
    /// `true` or `false`.
    YesNo,
    /// One of the question's option values.
    SingleChoice,
    /// Any text up to 2,000 characters.
    FreeText,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Choice {
    pub value: String,
    pub text: Wording,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    pub text: Wording,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Answers that open a case by themselves: option values (strings) or ratings (numbers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<serde_json::Value>)]
    pub serious_answers: Vec<Value>,
    /// The category of a case a serious answer opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_category: Option<String>,
}

/// One version of a template, as the API shows it (the call script).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Template {
    pub id: i64,
    pub code: String,
    pub version: i32,
    pub title: Wording,
    /// The id of the overall-satisfaction question, if any.
    pub overall_question: Option<String>,
    pub questions: Vec<Question>,
}

pub const MAX_FREE_TEXT: usize = 2000;

impl Template {
    pub fn from_model(m: survey_templates::Model) -> Result<Self, ApiError> {
        let questions: Vec<Question> = serde_json::from_value(m.questions)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("survey template {} is malformed: {e}", m.id)))?;
        Ok(Self {
            id: m.id,
            code: m.code,
            version: m.version,
            title: Wording { zh: m.title_zh, en: m.title_en },
            overall_question: m.overall_question,
            questions,
        })
    }

    /// Checks every answer: known question, right type, in range or among the options.
    /// Errors name the question as `answers.<id>`; all problems are reported at once.
    pub fn check(&self, answers: &BTreeMap<String, Value>) -> Result<Checked, ApiError> {
        let mut errors = Vec::new();
        for id in answers.keys() {
            if !self.questions.iter().any(|q| &q.id == id) {
                errors.push(FieldError::new(format!("answers.{id}"), "unknown", "no such question in this survey"));
            }
        }
        let mut kept = serde_json::Map::new();
        let mut serious = Vec::new();
        for q in &self.questions {
            let field = format!("answers.{}", q.id);
            let value = answers.get(&q.id).filter(|v| !v.is_null());
            let value = match (q.kind, value) {
                (QuestionKind::FreeText, Some(Value::String(s))) if s.trim().is_empty() => None,
                (_, v) => v,
            };
            let Some(value) = value else {
                if q.required {
                    errors.push(FieldError::new(field, "required", "this question must be answered"));
                }
                continue;
            };
            let ok = match q.kind {
                QuestionKind::Rating => match value.as_i64() {
                    Some(n) if (1..=5).contains(&n) && value.is_i64() => Ok(Value::from(n)),
                    _ => Err(("range", "a rating is a whole number from 1 to 5".to_owned())),
                },
                QuestionKind::YesNo => match value {
                    Value::Bool(b) => Ok(Value::Bool(*b)),
                    _ => Err(("invalid", "answer true or false".to_owned())),
                },
                QuestionKind::SingleChoice => match value.as_str() {
                    Some(s) if q.options.iter().any(|o| o.value == s) => Ok(Value::from(s)),
                    _ => Err((
                        "choice",
                        format!("one of {}", q.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ")),
                    )),
                },
                QuestionKind::FreeText => match value.as_str() {
                    Some(s) if s.chars().count() <= MAX_FREE_TEXT => Ok(Value::from(s.trim())),
                    Some(_) => Err(("length", format!("at most {MAX_FREE_TEXT} characters"))),
                    None => Err(("invalid", "a text".to_owned())),
                },
            };
            match ok {
                Ok(v) => {
                    if q.serious_answers.contains(&v) {
                        serious.push(q.clone());
                    }
                    kept.insert(q.id.clone(), v);
                }
                Err((code, message)) => errors.push(FieldError::new(field, code, message)),
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(ApiError::Validation(errors));
        }
        let overall = self.overall_question.as_ref().and_then(|id| kept.get(id)).and_then(Value::as_i64);
        Ok(Checked { answers: Value::Object(kept), overall, serious })
    }

    /// The free-text questions' ids.
    pub fn free_text_ids(&self) -> Vec<&str> {
        self.questions.iter().filter(|q| q.kind == QuestionKind::FreeText).map(|q| q.id.as_str()).collect()
    }
}

/// Answers that passed the check.
#[derive(Debug, Clone)]
pub struct Checked {
    pub answers: Value,
    pub overall: Option<i64>,
    /// The questions answered with one of their serious answers.
    pub serious: Vec<Question>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Template {
        let questions = json!([
            {"id": "overall", "kind": "rating", "required": true, "text": {"zh": "总体", "en": "Overall"}, "serious_answers": [1]},
            {"id": "meals", "kind": "single_choice", "required": true, "text": {"zh": "吃饭", "en": "Meals"},
             "options": [{"value": "always", "text": {"zh": "有", "en": "yes"}}, {"value": "often_not", "text": {"zh": "没有", "en": "no"}}],
             "serious_answers": ["often_not"], "case_category": "meals"},
            {"id": "safe", "kind": "yes_no", "required": false, "text": {"zh": "安全", "en": "Safe"}},
            {"id": "comments", "kind": "free_text", "text": {"zh": "其他", "en": "Other"}},
        ]);
        Template {
            id: 1,
            code: "t".into(),
            version: 1,
            title: Wording { zh: "t".into(), en: "t".into() },
            overall_question: Some("overall".into()),
            questions: serde_json::from_value(questions).unwrap_or_default(),
        }
    }

    fn answers(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap_or_default()
    }

    fn fields(r: Result<Checked, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn bad_answers_name_their_question() {
        let t = template();
        let cases = [
            (json!({"overall": 6, "meals": "always"}), vec!["answers.overall"], "rating above 5"),
            (json!({"overall": 0, "meals": "always"}), vec!["answers.overall"], "rating below 1"),
            (json!({"overall": 2.5, "meals": "always"}), vec!["answers.overall"], "fractional rating"),
            (json!({"overall": "3", "meals": "always"}), vec!["answers.overall"], "rating as text"),
            (json!({"overall": 3, "meals": "sometimes"}), vec!["answers.meals"], "not an option"),
            (json!({"overall": 3}), vec!["answers.meals"], "required question missing"),
            (json!({"overall": 3, "meals": "always", "safe": "yes"}), vec!["answers.safe"], "yes/no as text"),
            (json!({"overall": 3, "meals": "always", "mood": 2}), vec!["answers.mood"], "unknown question"),
        ];
        for (given, expected, reason) in cases {
            assert_eq!(fields(t.check(&answers(given))), expected, "{reason}");
        }
    }

    #[test]
    fn serious_answers_and_the_overall_score_are_found() {
        let t = template();
        let checked = t.check(&answers(json!({"overall": 1, "meals": "often_not", "comments": "  慢 "})));
        let Ok(checked) = checked else { panic!("valid answers refused") };
        assert_eq!(checked.overall, Some(1));
        assert_eq!(checked.serious.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(), ["overall", "meals"]);
        assert_eq!(checked.answers["comments"], "慢");
    }
}
