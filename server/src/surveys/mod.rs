//! Satisfaction surveys: templates and their checks (`template`), creating surveys on a
//! schedule (`schedule`), recording answers and the call list (`service`), single-use
//! family links (`links`), and the analysis of the answers (`analysis`).
//! See docs/surveys.md.

pub mod analysis;
pub mod links;
pub mod schedule;
pub mod service;
pub mod template;

use crate::registry::kinds::vocabulary;

vocabulary!(
    /// Why a survey exists.
    SurveyKind {
        /// After a completed task.
        PostService = "post_service",
        /// The monthly wellbeing and satisfaction survey.
        Periodic = "periodic",
        /// After a case was resolved.
        FollowUp = "follow_up",
    }
);

impl SurveyKind {
    /// The template code a survey of this kind uses.
    pub fn template_code(self) -> &'static str {
        match self {
            SurveyKind::PostService => "post_service",
            SurveyKind::Periodic => "monthly",
            SurveyKind::FollowUp => "follow_up",
        }
    }
}

vocabulary!(
    SurveyStatus {
        Pending = "pending",
        Answered = "answered",
        Expired = "expired",
    }
);

vocabulary!(
    /// How a survey was (or is to be) answered.
    Channel {
        /// A community worker called and recorded the answers.
        Phone = "phone",
        /// Asked at the door by a caregiver other than the one who served.
        InPerson = "in_person",
        /// The family answered through a single-use link.
        FamilyLink = "family_link",
    }
);
