//! SeaORM entities for every table of docs/schema.md: data only, no business methods.
//! Enumerations are plain `String`s; the server validates them.

pub mod alarms;
pub mod assessments;
pub mod audit_log;
pub mod case_actions;
pub mod cases;
pub mod communities;
pub mod community_cells;
pub mod consents;
pub mod contacts;
pub mod devices;
pub mod job_runs;
pub mod login_attempts;
pub mod outbox;
pub mod push_subscriptions;
pub mod responder_absences;
pub mod responder_communities;
pub mod responder_shifts;
pub mod responders;
pub mod senior_changes;
pub mod seniors;
pub mod service_plans;
pub mod sessions;
pub mod stations;
pub mod survey_answers;
pub mod survey_links;
pub mod survey_templates;
pub mod surveys;
pub mod task_events;
pub mod task_offers;
pub mod tasks;
pub mod tier_changes;
pub mod user_communities;
pub mod users;

/// Every entity under the CamelCase name of its table (`Users`, `TaskEvents`, ...).
pub mod prelude {
    pub use super::alarms::Entity as Alarms;
    pub use super::assessments::Entity as Assessments;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::case_actions::Entity as CaseActions;
    pub use super::cases::Entity as Cases;
    pub use super::communities::Entity as Communities;
    pub use super::community_cells::Entity as CommunityCells;
    pub use super::consents::Entity as Consents;
    pub use super::contacts::Entity as Contacts;
    pub use super::devices::Entity as Devices;
    pub use super::job_runs::Entity as JobRuns;
    pub use super::login_attempts::Entity as LoginAttempts;
    pub use super::outbox::Entity as Outbox;
    pub use super::push_subscriptions::Entity as PushSubscriptions;
    pub use super::responder_absences::Entity as ResponderAbsences;
    pub use super::responder_communities::Entity as ResponderCommunities;
    pub use super::responder_shifts::Entity as ResponderShifts;
    pub use super::responders::Entity as Responders;
    pub use super::senior_changes::Entity as SeniorChanges;
    pub use super::seniors::Entity as Seniors;
    pub use super::service_plans::Entity as ServicePlans;
    pub use super::sessions::Entity as Sessions;
    pub use super::stations::Entity as Stations;
    pub use super::survey_answers::Entity as SurveyAnswers;
    pub use super::survey_links::Entity as SurveyLinks;
    pub use super::survey_templates::Entity as SurveyTemplates;
    pub use super::surveys::Entity as Surveys;
    pub use super::task_events::Entity as TaskEvents;
    pub use super::task_offers::Entity as TaskOffers;
    pub use super::tasks::Entity as Tasks;
    pub use super::tier_changes::Entity as TierChanges;
    pub use super::user_communities::Entity as UserCommunities;
    pub use super::users::Entity as Users;
}
