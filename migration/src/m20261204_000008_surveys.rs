//! Satisfaction surveys and follow-up cases: `survey_templates`, `surveys`,
//! `survey_answers`, `survey_links`, `cases`, `case_actions`.
//!
//! The shipped survey templates (post-service, monthly wellbeing and satisfaction, and
//! the follow-up after a resolved case) are reference data, not demo rows: they are
//! inserted here as version 1. A changed template is a new version, never an edit.

use sea_orm_migration::{prelude::*, schema::*};
use serde_json::json;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SurveyTemplates::Table)
                    .col(big_pk_auto(SurveyTemplates::Id))
                    .col(text(SurveyTemplates::Code))
                    .col(integer(SurveyTemplates::Version))
                    .col(text(SurveyTemplates::TitleZh))
                    .col(text(SurveyTemplates::TitleEn))
                    .col(text_null(SurveyTemplates::OverallQuestion))
                    .col(json_binary(SurveyTemplates::Questions))
                    .col(timestamp_with_time_zone(SurveyTemplates::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_survey_templates_code_version")
                    .table(SurveyTemplates::Table)
                    .col(SurveyTemplates::Code)
                    .col(SurveyTemplates::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(big_pk_auto(Cases::Id))
                    .col(big_integer(Cases::SeniorId))
                    .col(big_integer(Cases::CommunityId))
                    .col(text(Cases::Category))
                    .col(text(Cases::Severity))
                    .col(text(Cases::Source))
                    .col(text(Cases::Status))
                    .col(text(Cases::Summary))
                    .col(text_null(Cases::Description))
                    .col(big_integer_null(Cases::OwnerId))
                    .col(big_integer_null(Cases::ReceivedBy))
                    .col(big_integer_null(Cases::SurveyId))
                    .col(big_integer_null(Cases::TaskId))
                    .col(timestamp_with_time_zone(Cases::DueAt))
                    .col(timestamp_with_time_zone_null(Cases::EscalatedAt))
                    .col(big_integer_null(Cases::EscalatedTo))
                    .col(text_null(Cases::Resolution))
                    .col(timestamp_with_time_zone_null(Cases::ResolvedAt))
                    .col(big_integer_null(Cases::ResolvedBy))
                    .col(boolean_null(Cases::SeniorConfirmed))
                    .col(text_null(Cases::ConfirmationNote))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .col(integer(Cases::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_senior_id")
                            .from(Cases::Table, Cases::SeniorId)
                            .to(Seniors::Table, Seniors::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_community_id")
                            .from(Cases::Table, Cases::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_owner_id")
                            .from(Cases::Table, Cases::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_task_id")
                            .from(Cases::Table, Cases::TaskId)
                            .to(Tasks::Table, Tasks::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One case per answered survey, whoever records the answer.
        manager
            .create_index(
                Index::create().name("uq_cases_survey_id").table(Cases::Table).col(Cases::SurveyId).unique().to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_cases_community_id_status", vec![Cases::CommunityId, Cases::Status]),
            ("idx_cases_owner_id_status", vec![Cases::OwnerId, Cases::Status]),
            ("idx_cases_due_at", vec![Cases::DueAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Cases::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CaseActions::Table)
                    .col(big_pk_auto(CaseActions::Id))
                    .col(big_integer(CaseActions::CaseId))
                    .col(text(CaseActions::Kind))
                    .col(text_null(CaseActions::Note))
                    .col(big_integer_null(CaseActions::ActorUserId))
                    .col(json_binary(CaseActions::Details))
                    .col(timestamp_with_time_zone(CaseActions::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_actions_case_id")
                            .from(CaseActions::Table, CaseActions::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_actions_case_id")
                    .table(CaseActions::Table)
                    .col(CaseActions::CaseId)
                    .col(CaseActions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Surveys::Table)
                    .col(big_pk_auto(Surveys::Id))
                    .col(text(Surveys::BusinessKey))
                    .col(text(Surveys::Kind))
                    .col(big_integer(Surveys::TemplateId))
                    .col(integer(Surveys::TemplateVersion))
                    .col(big_integer(Surveys::SeniorId))
                    .col(big_integer(Surveys::CommunityId))
                    .col(big_integer_null(Surveys::TaskId))
                    .col(text_null(Surveys::TaskKind))
                    .col(big_integer_null(Surveys::ResponderId))
                    .col(big_integer_null(Surveys::CaseId))
                    .col(text(Surveys::Status))
                    .col(text(Surveys::Channel))
                    .col(big_integer_null(Surveys::ConductorId))
                    .col(date(Surveys::DueOn))
                    .col(timestamp_with_time_zone(Surveys::ExpiresAt))
                    .col(integer(Surveys::ReminderCount).default(0))
                    .col(timestamp_with_time_zone_null(Surveys::LastRemindedAt))
                    .col(timestamp_with_time_zone_null(Surveys::AnsweredAt))
                    .col(timestamp_with_time_zone(Surveys::CreatedAt))
                    .col(timestamp_with_time_zone(Surveys::UpdatedAt))
                    .col(integer(Surveys::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_template_id")
                            .from(Surveys::Table, Surveys::TemplateId)
                            .to(SurveyTemplates::Table, SurveyTemplates::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_senior_id")
                            .from(Surveys::Table, Surveys::SeniorId)
                            .to(Seniors::Table, Seniors::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_community_id")
                            .from(Surveys::Table, Surveys::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_task_id")
                            .from(Surveys::Table, Surveys::TaskId)
                            .to(Tasks::Table, Tasks::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_responder_id")
                            .from(Surveys::Table, Surveys::ResponderId)
                            .to(Responders::Table, Responders::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_case_id")
                            .from(Surveys::Table, Surveys::CaseId)
                            .to(Cases::Table, Cases::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_conductor_id")
                            .from(Surveys::Table, Surveys::ConductorId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The business key (`task:<id>`, `month:<senior>:<YYYY-MM>`, `case:<id>`) makes
        // creating a survey idempotent across runs and instances.
        manager
            .create_index(
                Index::create()
                    .name("uq_surveys_business_key")
                    .table(Surveys::Table)
                    .col(Surveys::BusinessKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_surveys_community_id_status_due_on", vec![Surveys::CommunityId, Surveys::Status, Surveys::DueOn]),
            ("idx_surveys_senior_id", vec![Surveys::SeniorId]),
            ("idx_surveys_status_created_at", vec![Surveys::Status, Surveys::CreatedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Surveys::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SurveyAnswers::Table)
                    .col(big_pk_auto(SurveyAnswers::Id))
                    .col(big_integer_uniq(SurveyAnswers::SurveyId))
                    .col(big_integer(SurveyAnswers::SeniorId))
                    .col(big_integer(SurveyAnswers::CommunityId))
                    .col(big_integer_null(SurveyAnswers::TaskId))
                    .col(text_null(SurveyAnswers::TaskKind))
                    .col(big_integer_null(SurveyAnswers::ResponderId))
                    .col(text(SurveyAnswers::Channel))
                    .col(big_integer(SurveyAnswers::TemplateId))
                    .col(integer(SurveyAnswers::TemplateVersion))
                    .col(json_binary(SurveyAnswers::Answers))
                    .col(small_integer_null(SurveyAnswers::OverallScore))
                    .col(big_integer_null(SurveyAnswers::RecordedBy))
                    .col(timestamp_with_time_zone(SurveyAnswers::AnsweredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_answers_survey_id")
                            .from(SurveyAnswers::Table, SurveyAnswers::SurveyId)
                            .to(Surveys::Table, Surveys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_answers_recorded_by")
                            .from(SurveyAnswers::Table, SurveyAnswers::RecordedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_survey_answers_answered_at")
                    .table(SurveyAnswers::Table)
                    .col(SurveyAnswers::AnsweredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SurveyLinks::Table)
                    .col(big_pk_auto(SurveyLinks::Id))
                    .col(big_integer(SurveyLinks::SurveyId))
                    .col(text_uniq(SurveyLinks::TokenHash))
                    .col(big_integer_null(SurveyLinks::CreatedBy))
                    .col(timestamp_with_time_zone(SurveyLinks::CreatedAt))
                    .col(timestamp_with_time_zone(SurveyLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SurveyLinks::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_links_survey_id")
                            .from(SurveyLinks::Table, SurveyLinks::SurveyId)
                            .to(Surveys::Table, Surveys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_links_created_by")
                            .from(SurveyLinks::Table, SurveyLinks::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let created = chrono::DateTime::parse_from_rfc3339("2026-12-04T00:00:00Z")
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .with_timezone(&chrono::Utc);
        for t in default_templates() {
            let insert = Query::insert()
                .into_table(SurveyTemplates::Table)
                .columns([
                    SurveyTemplates::Code,
                    SurveyTemplates::Version,
                    SurveyTemplates::TitleZh,
                    SurveyTemplates::TitleEn,
                    SurveyTemplates::OverallQuestion,
                    SurveyTemplates::Questions,
                    SurveyTemplates::CreatedAt,
                ])
                .values_panic([
                    t.code.into(),
                    1.into(),
                    t.title_zh.into(),
                    t.title_en.into(),
                    Some("overall").into(),
                    t.questions.into(),
                    created.into(),
                ])
                .to_owned();
            manager.exec_stmt(insert).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SurveyLinks::Table.into_iden(),
            SurveyAnswers::Table.into_iden(),
            Surveys::Table.into_iden(),
            CaseActions::Table.into_iden(),
            Cases::Table.into_iden(),
            SurveyTemplates::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

struct DefaultTemplate {
    code: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    questions: serde_json::Value,
}

fn rating(id: &str, zh: &str, en: &str) -> serde_json::Value {
    json!({"id": id, "kind": "rating", "required": true, "text": {"zh": zh, "en": en}})
}

/// Version 1 of the shipped templates. `serious_answers` lists the answers that open a
/// case by themselves, with the case's `case_category`.
fn default_templates() -> Vec<DefaultTemplate> {
    let overall = |zh: &str, en: &str| {
        let mut q = rating("overall", zh, en);
        q["serious_answers"] = json!([1]);
        q["case_category"] = json!("service_quality");
        q
    };
    let comments = |zh: &str, en: &str| json!({"id": "comments", "kind": "free_text", "required": false, "text": {"zh": zh, "en": en}});
    vec![
        DefaultTemplate {
            code: "post_service",
            title_zh: "服务回访",
            title_en: "After the visit",
            questions: json!([
                overall(
                    "总体来说，您对这次服务满意吗？（1 很不满意，5 很满意）",
                    "Overall, how satisfied are you with this visit? (1 very dissatisfied, 5 very satisfied)"
                ),
                rating(
                    "punctuality",
                    "服务人员准时到达了吗？（1 很晚，5 很准时）",
                    "Did the caregiver arrive on time? (1 very late, 5 right on time)"
                ),
                rating("attitude", "服务人员的态度怎么样？", "How was the caregiver's manner towards you?"),
                rating("quality", "服务做得怎么样？", "How well was the work done?"),
                comments("您还有什么想对我们说的吗？", "Is there anything else you would like to tell us?"),
            ]),
        },
        DefaultTemplate {
            code: "monthly",
            title_zh: "每月生活状况与满意度",
            title_en: "Monthly wellbeing and satisfaction",
            questions: json!([
                overall(
                    "总体来说，您对社区养老服务满意吗？（1 很不满意，5 很满意）",
                    "Overall, how satisfied are you with the community's care services? (1 very dissatisfied, 5 very satisfied)"
                ),
                {"id": "health", "kind": "single_choice", "required": true,
                 "text": {"zh": "这个月身体感觉怎么样？", "en": "How has your health been this month?"},
                 "options": [
                    {"value": "better", "text": {"zh": "比上个月好", "en": "Better than last month"}},
                    {"value": "same", "text": {"zh": "和上个月差不多", "en": "About the same"}},
                    {"value": "worse", "text": {"zh": "比上个月差", "en": "Worse than last month"}}
                 ]},
                {"id": "meals", "kind": "single_choice", "required": true,
                 "text": {"zh": "平时吃饭有保障吗？", "en": "Do you get regular meals?"},
                 "options": [
                    {"value": "always", "text": {"zh": "一直有保障", "en": "Always"}},
                    {"value": "mostly", "text": {"zh": "大多数时候有", "en": "Mostly"}},
                    {"value": "often_not", "text": {"zh": "经常吃不上饭", "en": "Often not"}}
                 ],
                 "serious_answers": ["often_not"], "case_category": "meals"},
                {"id": "lonely", "kind": "yes_no", "required": true,
                 "text": {"zh": "最近是否常常感到孤单？", "en": "Have you often felt lonely lately?"}},
                {"id": "mistreated", "kind": "yes_no", "required": true,
                 "text": {"zh": "有没有人（包括服务人员）让您受委屈、向您要钱或让您感到不安全？",
                          "en": "Has anyone, including a caregiver, mistreated you, asked you for money or made you feel unsafe?"},
                 "serious_answers": [true], "case_category": "safety"},
                comments("您还需要我们帮您做什么？", "What else could we help you with?"),
            ]),
        },
        DefaultTemplate {
            code: "follow_up",
            title_zh: "问题处理回访",
            title_en: "After your complaint",
            questions: json!([
                overall(
                    "您对这次问题的处理满意吗？（1 很不满意，5 很满意）",
                    "How satisfied are you with how your concern was handled? (1 very dissatisfied, 5 very satisfied)"
                ),
                {"id": "resolved", "kind": "yes_no", "required": true,
                 "text": {"zh": "问题解决了吗？", "en": "Has the problem been solved?"},
                 "serious_answers": [false], "case_category": "unresolved"},
                comments("还有什么需要补充的吗？", "Is there anything you would like to add?"),
            ]),
        },
    ]
}

#[derive(DeriveIden)]
enum SurveyTemplates {
    Table,
    Id,
    Code,
    Version,
    TitleZh,
    TitleEn,
    OverallQuestion,
    Questions,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    Id,
    BusinessKey,
    Kind,
    TemplateId,
    TemplateVersion,
    SeniorId,
    CommunityId,
    TaskId,
    TaskKind,
    ResponderId,
    CaseId,
    Status,
    Channel,
    ConductorId,
    DueOn,
    ExpiresAt,
    ReminderCount,
    LastRemindedAt,
    AnsweredAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum SurveyAnswers {
    Table,
    Id,
    SurveyId,
    SeniorId,
    CommunityId,
    TaskId,
    TaskKind,
    ResponderId,
    Channel,
    TemplateId,
    TemplateVersion,
    Answers,
    OverallScore,
    RecordedBy,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum SurveyLinks {
    Table,
    Id,
    SurveyId,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    SeniorId,
    CommunityId,
    Category,
    Severity,
    Source,
    Status,
    Summary,
    Description,
    OwnerId,
    ReceivedBy,
    SurveyId,
    TaskId,
    DueAt,
    EscalatedAt,
    EscalatedTo,
    Resolution,
    ResolvedAt,
    ResolvedBy,
    SeniorConfirmed,
    ConfirmationNote,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum CaseActions {
    Table,
    Id,
    CaseId,
    Kind,
    Note,
    ActorUserId,
    Details,
    At,
}

#[derive(DeriveIden)]
enum Seniors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Responders {
    Table,
    Id,
}
