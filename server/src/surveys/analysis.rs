//! The analysis of survey answers and cases: satisfaction (the mean of the overall
//! rating) with response counts and rates, grouped by responder, task kind, community
//! or month; complaint rates per 100 seniors; the commonest case categories; and the
//! commonest words and two-word phrases of the free-text answers (Chinese segmented
//! with jieba). A group with fewer than [`MIN_RESPONSES`] responses is insufficient:
//! its mean is not shown.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{cases, communities, responders, seniors, survey_answers, survey_templates, surveys, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::template::Template;
use crate::auth::{Caller, CommunityId};
use crate::error::ApiError;
use crate::registry::kinds::vocabulary;
use crate::state::AppState;

/// Groups with fewer responses than this show no mean.
pub const MIN_RESPONSES: u64 = 5;

vocabulary!(
    GroupBy {
        /// The responder who served (post-service surveys only).
        Responder = "responder",
        /// The kind of the task surveyed (surveys about a task only).
        TaskKind = "task_kind",
        Community = "community",
        /// The month (Asia/Shanghai) the survey was made.
        Month = "month",
    }
);

#[derive(Debug, Clone)]
pub struct AnalysisQuery {
    pub group_by: GroupBy,
    /// First and last local day of surveys (by creation) and cases (by opening).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub community_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Group {
    pub key: String,
    pub label: String,
    /// Surveys made.
    pub surveys: u64,
    /// Surveys answered.
    pub responses: u64,
    /// responses / surveys, to three decimals.
    pub response_rate: Option<f64>,
    /// Answers with an overall rating.
    pub rated: u64,
    /// Mean overall rating (1-5), to two decimals; `null` when insufficient.
    pub mean_overall: Option<f64>,
    /// Fewer than five responses: no mean is shown.
    pub insufficient: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommunityComplaints {
    pub community_id: i64,
    pub name: String,
    pub cases: u64,
    /// Active seniors of the community now.
    pub seniors: u64,
    /// Cases per 100 seniors, to two decimals (`null` without seniors).
    pub per_100_seniors: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Complaints {
    pub cases: u64,
    pub seniors: u64,
    pub per_100_seniors: Option<f64>,
    pub by_community: Vec<CommunityComplaints>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Count {
    pub term: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analysis {
    pub group_by: GroupBy,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub min_responses: u64,
    pub groups: Vec<Group>,
    /// Every survey in scope and period together.
    pub total: Group,
    pub complaints: Complaints,
    /// Case categories, commonest first.
    pub categories: Vec<Count>,
    /// Words of the free-text answers, commonest first (at most 20).
    pub words: Vec<Count>,
    /// Two-word phrases seen at least twice, commonest first (at most 10).
    pub phrases: Vec<Count>,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[derive(Default)]
struct Tally {
    surveys: u64,
    responses: u64,
    rated: u64,
    score_sum: i64,
}

impl Tally {
    fn group(&self, key: String, label: String) -> Group {
        let insufficient = self.responses < MIN_RESPONSES;
        Group {
            key,
            label,
            surveys: self.surveys,
            responses: self.responses,
            response_rate: (self.surveys > 0).then(|| round(self.responses as f64 / self.surveys as f64, 3)),
            rated: self.rated,
            mean_overall: (!insufficient && self.rated > 0)
                .then(|| round(self.score_sum as f64 / self.rated as f64, 2)),
            insufficient,
        }
    }
}

fn bounds(state: &AppState, q: &AnalysisQuery) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let tz = state.settings.tz();
    let start = |d: NaiveDate| crate::clock::start_of_day(d, tz);
    (q.from.and_then(start), q.to.and_then(|d| d.succ_opt()).and_then(start))
}

/// Runs the analysis over the caller's communities.
pub async fn analyse(state: &AppState, caller: &Caller, q: AnalysisQuery) -> Result<Analysis, ApiError> {
    let tz = state.settings.tz();
    let scope: Option<Vec<i64>> = match q.community_id {
        Some(c) => {
            caller.scope(CommunityId(c))?;
            Some(vec![c])
        }
        None => caller.community_filter(),
    };
    let (from, to) = bounds(state, &q);

    let mut select = surveys::Entity::find()
        .select_only()
        .column(surveys::Column::Id)
        .column(surveys::Column::CommunityId)
        .column(surveys::Column::ResponderId)
        .column(surveys::Column::TaskKind)
        .column(surveys::Column::CreatedAt)
        .column(surveys::Column::Status);
    if let Some(ids) = &scope {
        select = select.filter(surveys::Column::CommunityId.is_in(ids.clone()));
    }
    if let Some(f) = from {
        select = select.filter(surveys::Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        select = select.filter(surveys::Column::CreatedAt.lt(t));
    }
    type Row = (i64, i64, Option<i64>, Option<String>, DateTime<Utc>, String);
    let rows: Vec<Row> = select.into_tuple().all(&state.db).await?;

    // Answers of those surveys.
    let answered_ids: Vec<i64> = rows.iter().filter(|r| r.5 == "answered").map(|r| r.0).collect();
    let mut answers: HashMap<i64, (Option<i16>, i64, Value)> = HashMap::new();
    for chunk in answered_ids.chunks(1000) {
        let found: Vec<(i64, Option<i16>, i64, Value)> = survey_answers::Entity::find()
            .select_only()
            .column(survey_answers::Column::SurveyId)
            .column(survey_answers::Column::OverallScore)
            .column(survey_answers::Column::TemplateId)
            .column(survey_answers::Column::Answers)
            .filter(survey_answers::Column::SurveyId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&state.db)
            .await?;
        for (id, score, template, values) in found {
            answers.insert(id, (score, template, values));
        }
    }

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for (id, community, responder, task_kind, created, _) in &rows {
        let key = match q.group_by {
            GroupBy::Responder => responder.map(|r| r.to_string()),
            GroupBy::TaskKind => task_kind.clone(),
            GroupBy::Community => Some(community.to_string()),
            GroupBy::Month => Some(created.with_timezone(&tz).format("%Y-%m").to_string()),
        };
        let answer = answers.get(id);
        for t in key.map(|k| tallies.entry(k).or_default()).into_iter().chain([&mut total]) {
            t.surveys += 1;
            if let Some((score, _, _)) = answer {
                t.responses += 1;
                if let Some(s) = score {
                    t.rated += 1;
                    t.score_sum += i64::from(*s);
                }
            }
        }
    }
    let labels = labels(state, q.group_by, tallies.keys()).await?;
    let mut groups: Vec<Group> =
        tallies.iter().map(|(k, t)| t.group(k.clone(), labels.get(k).cloned().unwrap_or_else(|| k.clone()))).collect();
    if q.group_by != GroupBy::Month {
        groups.sort_by(|a, b| b.responses.cmp(&a.responses).then_with(|| a.key.cmp(&b.key)));
    }

    let templates = free_text_questions(state).await?;
    let texts: Vec<&str> = answers
        .values()
        .flat_map(|(_, template, values)| {
            templates.get(template).into_iter().flatten().filter_map(|qid| values.get(qid).and_then(Value::as_str))
        })
        .collect();
    let (words, phrases) = top_terms(&texts, 20, 10);

    let (complaints, categories) = complaints(state, scope.as_deref(), from, to).await?;
    Ok(Analysis {
        group_by: q.group_by,
        from: q.from,
        to: q.to,
        min_responses: MIN_RESPONSES,
        groups,
        total: total.group("total".into(), "合计 (total)".into()),
        complaints,
        categories,
        words,
        phrases,
    })
}

async fn labels<'a>(
    state: &AppState,
    by: GroupBy,
    keys: impl Iterator<Item = &'a String>,
) -> Result<HashMap<String, String>, ApiError> {
    let ids: Vec<i64> = keys.filter_map(|k| k.parse().ok()).collect();
    Ok(match by {
        GroupBy::Responder => responders::Entity::find()
            .select_only()
            .column(responders::Column::Id)
            .column(users::Column::DisplayName)
            .inner_join(users::Entity)
            .filter(responders::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(&state.db)
            .await?
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        GroupBy::Community => {
            community_names(state, Some(&ids)).await?.into_iter().map(|(id, n)| (id.to_string(), n)).collect()
        }
        GroupBy::TaskKind | GroupBy::Month => HashMap::new(),
    })
}

async fn community_names(state: &AppState, ids: Option<&[i64]>) -> Result<HashMap<i64, String>, ApiError> {
    let mut select =
        communities::Entity::find().select_only().column(communities::Column::Id).column(communities::Column::Name);
    if let Some(ids) = ids {
        select = select.filter(communities::Column::Id.is_in(ids.iter().copied()));
    }
    Ok(select.into_tuple::<(i64, String)>().all(&state.db).await?.into_iter().collect())
}

async fn free_text_questions(state: &AppState) -> Result<HashMap<i64, Vec<String>>, ApiError> {
    let mut out = HashMap::new();
    for m in survey_templates::Entity::find().all(&state.db).await? {
        let t = Template::from_model(m)?;
        out.insert(t.id, t.free_text_ids().into_iter().map(str::to_owned).collect());
    }
    Ok(out)
}

async fn complaints(
    state: &AppState,
    scope: Option<&[i64]>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(Complaints, Vec<Count>), ApiError> {
    let mut select =
        cases::Entity::find().select_only().column(cases::Column::CommunityId).column(cases::Column::Category);
    if let Some(ids) = scope {
        select = select.filter(cases::Column::CommunityId.is_in(ids.iter().copied()));
    }
    if let Some(f) = from {
        select = select.filter(cases::Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        select = select.filter(cases::Column::CreatedAt.lt(t));
    }
    let rows: Vec<(i64, String)> = select.into_tuple().all(&state.db).await?;
    let mut seniors_q = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::CommunityId)
        .filter(seniors::Column::Status.eq("active"));
    if let Some(ids) = scope {
        seniors_q = seniors_q.filter(seniors::Column::CommunityId.is_in(ids.iter().copied()));
    }
    let senior_rows: Vec<i64> = seniors_q.into_tuple().all(&state.db).await?;
    let mut seniors_per: BTreeMap<i64, u64> = BTreeMap::new();
    for c in senior_rows {
        *seniors_per.entry(c).or_default() += 1;
    }
    let mut cases_per: BTreeMap<i64, u64> = BTreeMap::new();
    let mut categories: HashMap<String, u64> = HashMap::new();
    for (c, category) in &rows {
        *cases_per.entry(*c).or_default() += 1;
        *categories.entry(category.clone()).or_default() += 1;
    }
    let rate = |cases: u64, seniors: u64| (seniors > 0).then(|| round(cases as f64 * 100.0 / seniors as f64, 2));
    let ids: HashSet<i64> = seniors_per.keys().chain(cases_per.keys()).copied().collect();
    let names = community_names(state, Some(&ids.iter().copied().collect::<Vec<_>>())).await?;
    let mut by_community: Vec<CommunityComplaints> = ids
        .into_iter()
        .map(|id| {
            let cases = cases_per.get(&id).copied().unwrap_or(0);
            let seniors = seniors_per.get(&id).copied().unwrap_or(0);
            CommunityComplaints {
                community_id: id,
                name: names.get(&id).cloned().unwrap_or_default(),
                cases,
                seniors,
                per_100_seniors: rate(cases, seniors),
            }
        })
        .collect();
    by_community.sort_by_key(|c| c.community_id);
    let cases_total = rows.len() as u64;
    let seniors_total: u64 = seniors_per.values().sum();
    let mut categories: Vec<Count> = categories.into_iter().map(|(term, count)| Count { term, count }).collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.term.cmp(&b.term)));
    Ok((
        Complaints {
            cases: cases_total,
            seniors: seniors_total,
            per_100_seniors: rate(cases_total, seniors_total),
            by_community,
        },
        categories,
    ))
}

fn jieba() -> &'static jieba_rs::Jieba {
    // Loading the dictionary takes a moment: once per process.
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Function words and fillers that say nothing about the service.
const STOP_WORDS: &[&str] = &[
    "的", "了", "和", "是", "就", "都", "而", "及", "与", "着", "或", "一个", "没有", "我们", "你们", "他们", "她们",
    "它们", "我", "你", "他", "她", "它", "这", "那", "这个", "那个", "这些", "那些", "还是", "还有", "就是", "不是",
    "也", "很", "非常", "比较", "有点", "一些", "一点", "什么", "怎么", "觉得", "感觉", "可以", "因为", "所以", "但是",
    "而且", "然后", "如果", "虽然", "已经", "还", "又", "再", "在", "有", "被", "把", "让", "给", "对", "从", "到",
    "向", "吧", "吗", "呢", "啊", "哦", "嗯", "呀", "么", "挺", "太", "真", "每次", "时候", "一下", "希望", "谢谢",
    "a", "an", "the", "and", "or", "but", "is", "are", "was", "were", "be", "been", "to", "of", "in", "on", "for",
    "with", "at", "by", "it", "this", "that", "very", "i", "we", "you", "he", "she", "they", "my", "our", "me", "so",
    "too", "not", "no", "do", "did", "have", "has", "had",
];

/// Content words of one answer, in order: segmented, lower-cased, without stop words,
/// punctuation or single characters.
pub fn content_words(text: &str) -> Vec<String> {
    jieba()
        .cut(text, true)
        .into_iter()
        .map(|t| t.word.trim().to_lowercase())
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// The commonest words, and the commonest adjacent pairs of content words seen at
/// least twice. Ties go alphabetically.
pub fn top_terms(texts: &[&str], words_max: usize, phrases_max: usize) -> (Vec<Count>, Vec<Count>) {
    let mut words: HashMap<String, u64> = HashMap::new();
    let mut phrases: HashMap<String, u64> = HashMap::new();
    for text in texts {
        let w = content_words(text);
        for word in &w {
            *words.entry(word.clone()).or_default() += 1;
        }
        for pair in w.windows(2) {
            let latin = pair.iter().all(|p| p.is_ascii());
            let phrase = if latin { format!("{} {}", pair[0], pair[1]) } else { format!("{}{}", pair[0], pair[1]) };
            *phrases.entry(phrase).or_default() += 1;
        }
    }
    let top = |m: HashMap<String, u64>, max: usize, at_least: u64| {
        let mut v: Vec<Count> =
            m.into_iter().filter(|(_, c)| *c >= at_least).map(|(term, count)| Count { term, count }).collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.term.cmp(&b.term)));
        v.truncate(max);
        v
    };
    (top(words, words_max, 1), top(phrases, phrases_max, 2))
}

/// The analysis as CSV (UTF-8 with a BOM, for Excel): the groups, then the total.
pub fn to_csv(a: &Analysis) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let header = [
            "分组 (group)",
            "名称 (label)",
            "调查数 (surveys)",
            "回复数 (responses)",
            "回复率 (response_rate)",
            "评分数 (rated)",
            "平均满意度 (mean_overall)",
        ];
        w.write_record(header).map_err(anyhow::Error::from)?;
        for g in a.groups.iter().chain([&a.total]) {
            w.write_record([
                g.key.clone(),
                g.label.clone(),
                g.surveys.to_string(),
                g.responses.to_string(),
                g.response_rate.map(|r| r.to_string()).unwrap_or_default(),
                g.rated.to_string(),
                match g.mean_overall {
                    Some(m) => m.to_string(),
                    None if g.insufficient => "样本不足 (insufficient)".to_owned(),
                    None => String::new(),
                },
            ])
            .map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    Ok(out)
}

/// The analysis as a workbook: satisfaction, complaints, categories, words.
pub fn to_xlsx(a: &Analysis) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name("满意度 satisfaction")?;
        for (c, h) in [
            "分组 group",
            "名称 label",
            "调查数 surveys",
            "回复数 responses",
            "回复率 response rate",
            "评分数 rated",
            "平均满意度 mean",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, g) in a.groups.iter().chain([&a.total]).enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, &g.key)?;
            sheet.write_string(r, 1, &g.label)?;
            sheet.write_number(r, 2, g.surveys as f64)?;
            sheet.write_number(r, 3, g.responses as f64)?;
            if let Some(rate) = g.response_rate {
                sheet.write_number(r, 4, rate)?;
            }
            sheet.write_number(r, 5, g.rated as f64)?;
            match g.mean_overall {
                Some(m) => sheet.write_number(r, 6, m)?,
                None if g.insufficient => sheet.write_string(r, 6, "样本不足 insufficient")?,
                None => sheet,
            };
        }
        let sheet = book.add_worksheet();
        sheet.set_name("投诉 complaints")?;
        for (c, h) in ["社区 community", "案件 cases", "老人 seniors", "每百名老人 per 100"].iter().enumerate()
        {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, c) in a.complaints.by_community.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, &c.name)?;
            sheet.write_number(r, 1, c.cases as f64)?;
            sheet.write_number(r, 2, c.seniors as f64)?;
            if let Some(p) = c.per_100_seniors {
                sheet.write_number(r, 3, p)?;
            }
        }
        for (name, list) in [("类别 categories", &a.categories), ("词语 words", &a.words), ("短语 phrases", &a.phrases)]
        {
            let sheet = book.add_worksheet();
            sheet.set_name(name)?;
            sheet.write_string_with_format(0, 0, "词 term", &bold)?;
            sheet.write_string_with_format(0, 1, "次数 count", &bold)?;
            for (i, c) in list.iter().enumerate() {
                sheet.write_string(i as u32 + 1, 0, &c.term)?;
                sheet.write_number(i as u32 + 1, 1, c.count as f64)?;
            }
        }
        book.save_to_buffer()
    };
    build().map_err(|e| ApiError::Internal(anyhow::anyhow!("building the analysis workbook: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_free_text_is_segmented_without_stop_words() {
        let words = content_words("服务人员态度很好，就是来得有点晚。");
        assert!(words.contains(&"态度".to_owned()), "{words:?}");
        assert!(!words.iter().any(|w| w == "就是" || w == "有点" || w == "很"), "{words:?}");
    }

    #[test]
    fn phrases_need_two_sightings() {
        let (words, phrases) = top_terms(&["送餐 太晚 饭菜 凉了", "送餐太晚", "饭菜很香"], 5, 5);
        assert_eq!(words.first().map(|c| c.count), Some(2));
        assert!(phrases.iter().all(|p| p.count >= 2), "{phrases:?}");
    }

    #[test]
    fn small_groups_are_insufficient() {
        let t = Tally { surveys: 10, responses: 4, rated: 4, score_sum: 16 };
        let g = t.group("k".into(), "k".into());
        assert!(g.insufficient);
        assert_eq!(g.mean_overall, None);
        assert_eq!(g.response_rate, Some(0.4));
    }
}
