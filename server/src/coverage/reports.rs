//! The coverage reports: cells (GeoJSON), communities, streets, gaps and the
//! balanced scorecard, all read from the roll-ups; and the audited drill-down to the
//! seniors behind a figure.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::{communities, coverage_cells, coverage_communities, coverage_months, seniors, tasks};
use h3o::CellIndex;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::export::Table;
use super::{Counts, Month, Privacy, figures, round};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;
use crate::grid;
use crate::state::AppState;

/// Who may read coverage reports.
pub const READERS: &[Role] = &[Role::Admin, Role::Bureau, Role::Worker];

/// The privacy rule for the caller: the bureau sees suppressed small numbers.
pub fn privacy(state: &AppState, caller: &Caller) -> Privacy {
    match caller.role {
        Role::Bureau => Privacy::Suppressed { threshold: state.settings.coverage.suppress_below },
        _ => Privacy::Exact,
    }
}

/// The communities a report covers: the caller's (all for admin and bureau),
/// narrowed to `community_id` when given (404 outside the caller's).
async fn scope(
    state: &AppState,
    caller: &Caller,
    community_id: Option<i64>,
) -> Result<Vec<communities::Model>, ApiError> {
    if let Some(id) = community_id {
        caller.scope(CommunityId(id))?;
    }
    let mut q = communities::Entity::find().order_by_asc(communities::Column::Id);
    if let Some(ids) = caller.community_filter() {
        q = q.filter(communities::Column::Id.is_in(ids));
    }
    if let Some(id) = community_id {
        q = q.filter(communities::Column::Id.eq(id));
    }
    let found = q.all(&state.db).await?;
    if community_id.is_some() && found.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(found)
}

/// When the month's figures were computed (none: not refreshed yet).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Watermark {
    pub month: String,
    pub as_of: Option<DateTime<Utc>>,
    pub refreshed_at: Option<DateTime<Utc>>,
    /// The month is over and its figures no longer change.
    pub is_final: bool,
}

async fn watermark(state: &AppState, month: Month) -> Result<Watermark, ApiError> {
    let row = coverage_months::Entity::find_by_id(month.to_string()).one(&state.db).await?;
    Ok(Watermark {
        month: month.to_string(),
        as_of: row.as_ref().map(|r| r.as_of),
        refreshed_at: row.as_ref().map(|r| r.refreshed_at),
        is_final: row.is_some_and(|r| r.is_final),
    })
}

fn counts_of(v: Value) -> Counts {
    serde_json::from_value(v).unwrap_or_default()
}

/// One merged cell of the map.
pub struct CellFigures {
    pub cell: i64,
    pub communities: Vec<i64>,
    pub counts: Counts,
}

/// The cells of a month at one resolution, each community's part merged.
pub async fn cells(
    state: &AppState,
    caller: &Caller,
    month: Month,
    resolution: u8,
    community_id: Option<i64>,
) -> Result<(Watermark, Vec<CellFigures>), ApiError> {
    let visible = scope(state, caller, community_id).await?;
    let narrowed = caller.community_filter().is_some() || community_id.is_some();
    let rows = cells_in(state, &visible, narrowed, month, resolution).await?;
    Ok((watermark(state, month).await?, rows))
}

/// The merged cells of the `visible` communities (all cells when not `narrowed`).
async fn cells_in(
    state: &AppState,
    visible: &[communities::Model],
    narrowed: bool,
    month: Month,
    resolution: u8,
) -> Result<Vec<CellFigures>, ApiError> {
    let mut q = coverage_cells::Entity::find()
        .filter(coverage_cells::Column::Month.eq(month.to_string()))
        .filter(coverage_cells::Column::Resolution.eq(i16::from(resolution)));
    if narrowed {
        q = q.filter(coverage_cells::Column::CommunityId.is_in(visible.iter().map(|c| c.id)));
    }
    let mut merged: BTreeMap<i64, CellFigures> = BTreeMap::new();
    for row in q.all(&state.db).await? {
        let entry = merged.entry(row.cell).or_insert_with(|| CellFigures {
            cell: row.cell,
            communities: Vec::new(),
            counts: Counts::default(),
        });
        entry.communities.push(row.community_id);
        entry.counts.add(&counts_of(row.metrics));
    }
    Ok(merged.into_values().collect())
}

/// The cells as a GeoJSON FeatureCollection, with the watermark as foreign members.
pub fn cells_geojson(mark: &Watermark, resolution: u8, cells: &[CellFigures], privacy: Privacy) -> Value {
    let features: Vec<Value> = cells
        .iter()
        .filter_map(|c| {
            let index = grid::from_db(c.cell)?;
            let mut props = Map::new();
            props.insert("cell".into(), json!(index.to_string()));
            props.insert("community_ids".into(), json!(c.communities));
            props.extend(figures(&c.counts, privacy, false));
            Some(json!({ "type": "Feature", "id": index.to_string(), "geometry": grid::cell_geojson(index), "properties": props }))
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "month": mark.month,
        "resolution": resolution,
        "as_of": mark.as_of,
        "refreshed_at": mark.refreshed_at,
        "is_final": mark.is_final,
        "features": features,
    })
}

pub fn cells_table(cells: &[CellFigures], privacy: Privacy) -> Table {
    let rows: Vec<Map<String, Value>> = cells
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("cell".into(), json!(grid::cell_string(c.cell)));
            m.insert(
                "community_ids".into(),
                json!(c.communities.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")),
            );
            m.extend(figures(&c.counts, privacy, false));
            m
        })
        .collect();
    table_of("coverage-cells", rows, &figures(&Counts::default(), Privacy::Exact, false), &["cell", "community_ids"])
}

/// Rows to a table: the leading columns, then every figure (objects flattened as
/// `name.key`).
fn table_of(name: &str, rows: Vec<Map<String, Value>>, sample: &Map<String, Value>, leading: &[&str]) -> Table {
    let mut headers: Vec<String> = leading.iter().map(|s| (*s).to_owned()).collect();
    headers.extend(sample.iter().filter(|(_, v)| !v.is_object()).map(|(k, _)| k.clone()));
    // Object-valued figures (the subsidy by status) become one column per key seen.
    let mut extra: Vec<String> = Vec::new();
    for r in &rows {
        for (k, v) in r {
            if let Value::Object(o) = v {
                for key in o.keys() {
                    let col = format!("{k}.{key}");
                    if !extra.contains(&col) {
                        extra.push(col);
                    }
                }
            }
        }
    }
    extra.sort();
    headers.extend(extra);
    let out = rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| match h.split_once('.') {
                    Some((k, key)) => r.get(k).and_then(|o| o.get(key)).cloned().unwrap_or(json!(0)),
                    None => r.get(h).cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .collect();
    Table { name: name.to_owned(), headers, rows: out }
}

/// One community's row of the communities report.
pub struct CommunityFigures {
    pub community: communities::Model,
    pub counts: Counts,
}

pub async fn communities(
    state: &AppState,
    caller: &Caller,
    month: Month,
    community_id: Option<i64>,
) -> Result<(Watermark, Vec<CommunityFigures>), ApiError> {
    let visible = scope(state, caller, community_id).await?;
    let rows = communities_in(state, visible, month).await?;
    Ok((watermark(state, month).await?, rows))
}

/// The `visible` communities' figures (zero for a community without a row).
async fn communities_in(
    state: &AppState,
    visible: Vec<communities::Model>,
    month: Month,
) -> Result<Vec<CommunityFigures>, ApiError> {
    let ids: Vec<i64> = visible.iter().map(|c| c.id).collect();
    let mut rows: HashMap<i64, Counts> = coverage_communities::Entity::find()
        .filter(coverage_communities::Column::Month.eq(month.to_string()))
        .filter(coverage_communities::Column::CommunityId.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.community_id, counts_of(r.metrics)))
        .collect();
    let out = visible
        .into_iter()
        .map(|c| CommunityFigures { counts: rows.remove(&c.id).unwrap_or_default(), community: c })
        .collect();
    Ok(out)
}

pub fn community_row(c: &CommunityFigures, privacy: Privacy) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("community_id".into(), json!(c.community.id));
    m.insert("name".into(), json!(c.community.name));
    m.insert("street".into(), json!(c.community.street));
    m.extend(figures(&c.counts, privacy, true));
    m
}

pub fn communities_table(rows: &[CommunityFigures], privacy: Privacy) -> Table {
    let maps = rows.iter().map(|c| community_row(c, privacy)).collect();
    table_of(
        "coverage-communities",
        maps,
        &figures(&Counts::default(), Privacy::Exact, true),
        &["community_id", "name", "street"],
    )
}

/// The communities summed per street.
pub fn streets(rows: &[CommunityFigures], privacy: Privacy) -> Vec<Map<String, Value>> {
    let mut by_street: BTreeMap<String, (Vec<i64>, Counts)> = BTreeMap::new();
    for c in rows {
        let entry = by_street.entry(c.community.street.clone()).or_default();
        entry.0.push(c.community.id);
        entry.1.add(&c.counts);
    }
    by_street
        .into_iter()
        .map(|(street, (ids, counts))| {
            let mut m = Map::new();
            m.insert("street".into(), json!(street));
            m.insert("community_ids".into(), json!(ids));
            m.extend(figures(&counts, privacy, true));
            m
        })
        .collect()
}

pub fn streets_table(rows: &[CommunityFigures], privacy: Privacy) -> Table {
    let maps = streets(rows, privacy)
        .into_iter()
        .map(|mut m| {
            let ids = m.get("community_ids").and_then(Value::as_array).cloned().unwrap_or_default();
            m.insert("community_ids".into(), json!(ids.iter().map(Value::to_string).collect::<Vec<_>>().join(" ")));
            m
        })
        .collect();
    table_of("coverage-streets", maps, &figures(&Counts::default(), Privacy::Exact, true), &["street", "community_ids"])
}

// ---- Gaps

/// One reason a cell or community is a gap, with its weight in the ranking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Need {
    /// `tier_a_unserved`, `plan_unserved`, `slow_emergency`, `low_satisfaction`,
    /// `outside_circle`.
    pub code: String,
    /// The number behind it (a count, or the satisfaction mean); `"<10"` when suppressed.
    #[schema(value_type = Object)]
    pub value: Value,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Gap {
    pub rank: usize,
    /// `cell` or `community`.
    pub kind: String,
    /// The H3 cell (for cells).
    pub cell: Option<String>,
    pub community_id: Option<i64>,
    /// The community's name, or the names of the communities sharing the cell.
    pub name: String,
    /// Weighted unmet need: higher is worse.
    pub score: f64,
    /// Why, in Chinese.
    pub reason: String,
    /// Why, in English.
    pub reason_en: String,
    pub needs: Vec<Need>,
}

/// Weights of the gap ranking: an uncovered tier-A senior weighs most.
const W_TIER_A: f64 = 10.0;
const W_SLOW: f64 = 5.0;
const W_PLAN: f64 = 3.0;
const W_SATISFACTION: f64 = 10.0;
const W_OUTSIDE: f64 = 1.0;

fn needs_of(c: &Counts, privacy: Privacy, satisfaction_target: f64) -> Vec<(Need, String, String)> {
    let mut out = Vec::new();
    let mut push = |code: &str, value: Value, score: f64, zh: String, en: String| {
        if score > 0.0 {
            out.push((Need { code: code.to_owned(), value, score: round(score, 2) }, zh, en));
        }
    };
    let n = |v: i64| privacy.count_text(v);
    let num = |v: i64| match privacy.count_text(v) {
        s if s.starts_with('<') => json!(s),
        _ => json!(v),
    };
    let a = c.tier_a_unserved_30d;
    push(
        "tier_a_unserved",
        num(a),
        a as f64 * W_TIER_A,
        format!("{} 名A级老人30天内没有服务", n(a)),
        format!("{} tier-A seniors had no service in 30 days", n(a)),
    );
    let slow = c.alarms - c.accepted_180s;
    push(
        "slow_emergency",
        num(slow),
        slow as f64 * W_SLOW,
        format!("{} 次呼叫3分钟内无人接单", n(slow)),
        format!("{} alarms not accepted within 3 minutes", n(slow)),
    );
    let p = c.plan_unserved_30d;
    push(
        "plan_unserved",
        num(p),
        p as f64 * W_PLAN,
        format!("{} 名有服务计划的老人30天内没有服务", n(p)),
        format!("{} seniors with a plan had no service in 30 days", n(p)),
    );
    if privacy.rates_shown(c.seniors_total)
        && let Some(mean) = c.satisfaction_mean()
        && mean < satisfaction_target
    {
        push(
            "low_satisfaction",
            json!(mean),
            (satisfaction_target - mean) * W_SATISFACTION,
            format!("满意度 {mean:.2} 低于目标 {satisfaction_target:.1}"),
            format!("satisfaction {mean:.2} below the target {satisfaction_target:.1}"),
        );
    }
    let outside = c.seniors_total - c.covered_15min;
    push(
        "outside_circle",
        num(outside),
        outside as f64 * W_OUTSIDE,
        format!("{} 名老人不在15分钟服务圈内", n(outside)),
        format!("{} seniors outside the 15-minute service circle", n(outside)),
    );
    out
}

fn gap(
    kind: &str,
    cell: Option<String>,
    community_id: Option<i64>,
    name: String,
    needs: Vec<(Need, String, String)>,
) -> Gap {
    let score = round(needs.iter().map(|(n, ..)| n.score).sum(), 2);
    let reason = needs.iter().map(|(_, zh, _)| zh.as_str()).collect::<Vec<_>>().join("；");
    let reason_en = needs.iter().map(|(_, _, en)| en.as_str()).collect::<Vec<_>>().join("; ");
    Gap {
        rank: 0,
        kind: kind.to_owned(),
        cell,
        community_id,
        name,
        score,
        reason,
        reason_en,
        needs: needs.into_iter().map(|(n, ..)| n).collect(),
    }
}

/// Cells (at `resolution`) and communities ranked by unmet need, worst first; only
/// those with a need.
pub async fn gaps(
    state: &AppState,
    caller: &Caller,
    month: Month,
    resolution: u8,
    community_id: Option<i64>,
    privacy: Privacy,
) -> Result<(Watermark, Vec<Gap>), ApiError> {
    let target = state.settings.coverage.target("satisfaction_mean");
    let visible = scope(state, caller, community_id).await?;
    let narrowed = caller.community_filter().is_some() || community_id.is_some();
    let cells = cells_in(state, &visible, narrowed, month, resolution).await?;
    let communities = communities_in(state, visible, month).await?;
    let mark = watermark(state, month).await?;
    let names: HashMap<i64, String> = communities.iter().map(|c| (c.community.id, c.community.name.clone())).collect();
    let mut out: Vec<Gap> = Vec::new();
    for c in &communities {
        let needs = needs_of(&c.counts, privacy, target);
        if !needs.is_empty() {
            out.push(gap("community", None, Some(c.community.id), c.community.name.clone(), needs));
        }
    }
    for c in &cells {
        let needs = needs_of(&c.counts, privacy, target);
        if !needs.is_empty() {
            let name = c.communities.iter().filter_map(|id| names.get(id).cloned()).collect::<Vec<_>>().join("、");
            let only = (c.communities.len() == 1).then(|| c.communities[0]);
            out.push(gap("cell", Some(grid::cell_string(c.cell)), only, name, needs));
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.kind.cmp(&b.kind)).then_with(|| a.cell.cmp(&b.cell)));
    for (i, g) in out.iter_mut().enumerate() {
        g.rank = i + 1;
    }
    Ok((mark, out))
}

pub fn gaps_table(rows: &[Gap]) -> Table {
    Table {
        name: "coverage-gaps".into(),
        headers: ["rank", "kind", "cell", "community_id", "name", "score", "reason", "reason_en"]
            .map(str::to_owned)
            .to_vec(),
        rows: rows
            .iter()
            .map(|g| {
                vec![
                    json!(g.rank),
                    json!(g.kind),
                    json!(g.cell),
                    json!(g.community_id),
                    json!(g.name),
                    json!(g.score),
                    json!(g.reason),
                    json!(g.reason_en),
                ]
            })
            .collect(),
    }
}

// ---- Scorecard

/// Whether a higher or a lower value is better.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
}

struct Indicator {
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    unit: &'static str,
    direction: Direction,
    /// The value, given the month's counters (None: no base, or suppressed).
    value: fn(&Counts) -> Option<f64>,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

fn hundred(part: f64, seniors: i64) -> Option<f64> {
    (seniors > 0).then(|| round(part * 100.0 / seniors as f64, 2))
}

const PERSPECTIVES: [(&str, &str, &str, &[Indicator]); 4] = [
    (
        "financial",
        "财务",
        "Financial",
        &[
            Indicator {
                code: "subsidy_per_senior_yuan",
                zh: "人均补贴（元/月）",
                en: "Subsidy per senior (yuan a month)",
                unit: "yuan",
                direction: Direction::Lower,
                value: |c| {
                    (c.seniors_total > 0)
                        .then(|| round(c.subsidy_total_fen() as f64 / 100.0 / c.seniors_total as f64, 2))
                },
            },
            Indicator {
                code: "volunteer_task_share",
                zh: "志愿者服务占比",
                en: "Share of services by volunteers",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.tasks_by_volunteers, c.tasks_completed),
            },
        ],
    ),
    (
        "satisfaction",
        "老人满意",
        "Senior satisfaction",
        &[
            Indicator {
                code: "satisfaction_mean",
                zh: "满意度均分",
                en: "Mean satisfaction",
                unit: "score",
                direction: Direction::Higher,
                value: Counts::satisfaction_mean,
            },
            Indicator {
                code: "complaints_per_100",
                zh: "每百名老人投诉数",
                en: "Complaints per 100 seniors",
                unit: "per_100",
                direction: Direction::Lower,
                value: |c| hundred(c.complaints as f64, c.seniors_total),
            },
            Indicator {
                code: "cases_in_deadline_rate",
                zh: "工单按期办结率",
                en: "Cases resolved by their deadline",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.cases_resolved_in_time, c.cases_resolved),
            },
        ],
    ),
    (
        "internal_process",
        "内部流程",
        "Internal process",
        &[
            Indicator {
                code: "accepted_60s_share",
                zh: "呼叫60秒内接单率",
                en: "Alarms accepted within 60 s",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.accepted_60s, c.alarms),
            },
            Indicator {
                code: "on_site_30m_share",
                zh: "30分钟内到场率",
                en: "Alarms with a responder on site within 30 min",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.on_site_30m, c.alarms),
            },
            Indicator {
                code: "meals_on_time_rate",
                zh: "助餐准时率",
                en: "Meals delivered inside the window",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.meals_on_time, c.meals),
            },
            Indicator {
                code: "tier_a_served_share",
                zh: "A级老人30天服务覆盖率",
                en: "Tier-A seniors served in 30 days",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.tier_a - c.tier_a_unserved_30d, c.tier_a),
            },
            Indicator {
                code: "covered_15min_share",
                zh: "15分钟服务圈覆盖率",
                en: "Seniors inside the 15-minute service circle",
                unit: "share",
                direction: Direction::Higher,
                value: |c| ratio(c.covered_15min, c.seniors_total),
            },
        ],
    ),
    (
        "learning_growth",
        "学习与成长",
        "Learning and growth",
        &[
            Indicator {
                code: "responders_per_100",
                zh: "每百名老人服务人员数",
                en: "Caregivers and volunteers per 100 seniors",
                unit: "per_100",
                direction: Direction::Higher,
                value: |c| hundred((c.caregivers + c.volunteers) as f64, c.seniors_total),
            },
            Indicator {
                code: "certified_nurses_per_100",
                zh: "每百名老人持证护士数",
                en: "Certified nurses per 100 seniors",
                unit: "per_100",
                direction: Direction::Higher,
                value: |c| hundred(c.certified_nurses as f64, c.seniors_total),
            },
            Indicator {
                code: "volunteer_hours_per_100",
                zh: "每百名老人志愿服务时长（小时）",
                en: "Volunteer hours earned per 100 seniors",
                unit: "hours_per_100",
                direction: Direction::Higher,
                value: |c| hundred(c.volunteer_minutes_earned as f64 / 60.0, c.seniors_total),
            },
        ],
    ),
];

/// Every indicator code of the scorecard (the settings' targets are keyed by them).
pub fn indicator_codes() -> Vec<&'static str> {
    PERSPECTIVES.iter().flat_map(|(_, _, _, list)| list.iter().map(|i| i.code)).collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    pub month: String,
    pub actual: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// `share` (0..1), `score` (1..5), `per_100`, `yuan`, `hours_per_100`.
    pub unit: String,
    pub direction: Direction,
    pub target: f64,
    /// The month's value; null when there is nothing to measure or it is suppressed.
    pub actual: Option<f64>,
    /// Whether the actual meets the target (null without an actual).
    pub met: Option<bool>,
    /// The twelve months ending with this one, oldest first.
    pub trend: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PerspectiveView {
    /// `financial`, `satisfaction`, `internal_process`, `learning_growth`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub indicators: Vec<IndicatorView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Scorecard {
    /// The community, or none for every community the caller sees (the district).
    pub community_id: Option<i64>,
    pub name: String,
    pub month: String,
    pub as_of: Option<DateTime<Utc>>,
    pub seniors_total: Value,
    pub perspectives: Vec<PerspectiveView>,
}

pub async fn scorecard(
    state: &AppState,
    caller: &Caller,
    month: Month,
    community_id: Option<i64>,
    privacy: Privacy,
) -> Result<Scorecard, ApiError> {
    let visible = scope(state, caller, community_id).await?;
    let months = month.last_twelve();
    let keys: Vec<String> = months.iter().map(Month::to_string).collect();
    let mut by_month: HashMap<String, Counts> = HashMap::new();
    let ids: Vec<i64> = visible.iter().map(|c| c.id).collect();
    for row in coverage_communities::Entity::find()
        .filter(coverage_communities::Column::Month.is_in(keys.clone()))
        .filter(coverage_communities::Column::CommunityId.is_in(ids))
        .all(&state.db)
        .await?
    {
        by_month.entry(row.month).or_default().add(&counts_of(row.metrics));
    }
    let empty = Counts::default();
    let shown = |c: &Counts, v: Option<f64>| if privacy.rates_shown(c.seniors_total) { v } else { None };
    let current = by_month.get(&month.to_string()).unwrap_or(&empty);
    let perspectives = PERSPECTIVES
        .iter()
        .map(|(code, zh, en, list)| PerspectiveView {
            code: (*code).to_owned(),
            name_zh: (*zh).to_owned(),
            name_en: (*en).to_owned(),
            indicators: list
                .iter()
                .map(|i| {
                    let target = state.settings.coverage.target(i.code);
                    let actual = shown(current, (i.value)(current));
                    let met = actual.map(|a| match i.direction {
                        Direction::Higher => a >= target,
                        Direction::Lower => a <= target,
                    });
                    let trend = keys
                        .iter()
                        .map(|k| {
                            let c = by_month.get(k).unwrap_or(&empty);
                            TrendPoint { month: k.clone(), actual: shown(c, (i.value)(c)) }
                        })
                        .collect();
                    IndicatorView {
                        code: i.code.to_owned(),
                        name_zh: i.zh.to_owned(),
                        name_en: i.en.to_owned(),
                        unit: i.unit.to_owned(),
                        direction: i.direction,
                        target,
                        actual,
                        met,
                        trend,
                    }
                })
                .collect(),
        })
        .collect();
    let name = match (community_id, visible.first()) {
        (Some(_), Some(c)) => c.name.clone(),
        _ => "全部社区 (all communities)".to_owned(),
    };
    Ok(Scorecard {
        community_id,
        name,
        month: month.to_string(),
        as_of: watermark(state, month).await?.as_of,
        seniors_total: figures(current, privacy, false).remove("seniors_total").unwrap_or(Value::Null),
        perspectives,
    })
}

pub fn scorecard_table(s: &Scorecard) -> Table {
    let months: Vec<String> = s
        .perspectives
        .first()
        .and_then(|p| p.indicators.first())
        .map(|i| i.trend.iter().map(|t| t.month.clone()).collect())
        .unwrap_or_default();
    let mut headers: Vec<String> =
        ["perspective", "indicator", "name_zh", "name_en", "direction", "target", "actual", "met"]
            .map(str::to_owned)
            .to_vec();
    headers.extend(months);
    let rows = s
        .perspectives
        .iter()
        .flat_map(|p| {
            p.indicators.iter().map(move |i| {
                let mut row = vec![
                    json!(p.code),
                    json!(i.code),
                    json!(i.name_zh),
                    json!(i.name_en),
                    json!(i.direction),
                    json!(i.target),
                    json!(i.actual),
                    json!(i.met),
                ];
                row.extend(i.trend.iter().map(|t| json!(t.actual)));
                row
            })
        })
        .collect();
    Table { name: "coverage-scorecard".into(), headers, rows }
}

// ---- Drill-down

/// A senior behind a figure, with identifiers masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaskedSenior {
    pub id: i64,
    pub community_id: i64,
    /// The family name kept, the rest masked (`赵*兰`).
    pub name_masked: String,
    pub id_number_masked: String,
    pub age: i32,
    pub tier: Option<String>,
    pub living_alone: bool,
    pub served_30d: bool,
}

pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// The seniors of a cell or community, for a stated reason that the audit log keeps
/// with who asked (bureau, worker in scope, admin).
pub async fn drill_down(
    state: &AppState,
    caller: &Caller,
    cell: Option<CellIndex>,
    community_id: Option<i64>,
    reason: &str,
    page: u64,
    per_page: u64,
) -> Result<(Vec<MaskedSenior>, u64), ApiError> {
    let visible: Vec<i64> = scope(state, caller, community_id).await?.iter().map(|c| c.id).collect();
    let mut q = seniors::Entity::find()
        .filter(seniors::Column::Status.eq("active"))
        .filter(seniors::Column::CommunityId.is_in(visible))
        .order_by_asc(seniors::Column::Id);
    if let Some(cell) = cell {
        let stored = state.settings.resolution();
        let cells: Vec<i64> = if cell.resolution() >= stored {
            vec![grid::to_db(cell.parent(stored).unwrap_or(cell))]
        } else {
            cell.children(stored).map(grid::to_db).collect()
        };
        q = q.filter(seniors::Column::Cell.is_in(cells));
        if cell.resolution() > stored {
            // Finer than stored: keep only those whose position falls in the cell.
            let rows = q.all(&state.db).await?;
            let kept: Vec<i64> = rows
                .iter()
                .filter(|s| grid::cell_of(s.latitude, s.longitude, cell.resolution()) == Some(cell))
                .map(|s| s.id)
                .collect();
            q = seniors::Entity::find().filter(seniors::Column::Id.is_in(kept)).order_by_asc(seniors::Column::Id);
        }
    }
    let paginator = q.paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let now = state.clock.now();
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let served: HashSet<i64> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::SeniorId)
        .filter(tasks::Column::SeniorId.is_in(ids.clone()))
        .filter(tasks::Column::Status.eq("completed"))
        .filter(tasks::Column::CompletedAt.gt(now - Duration::days(30)))
        .into_tuple::<i64>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let today = now.with_timezone(&state.settings.tz()).date_naive();
    let object = match (cell, community_id) {
        (Some(c), _) => ("coverage_cell", c.to_string()),
        (None, Some(id)) => ("community", id.to_string()),
        (None, None) => ("community", "all".to_owned()),
    };
    let mut entry = audit::Entry::new("coverage.drill_down", object.0, Some(object.1)).reason(reason);
    entry.details = json!({ "page": page, "seniors_listed": ids.len(), "total": total });
    audit::record(&state.db, &state.clock, caller, entry).await?;
    let out = rows
        .into_iter()
        .map(|s| MaskedSenior {
            id: s.id,
            community_id: s.community_id,
            name_masked: mask_name(&s.name),
            id_number_masked: s.id_number_masked,
            age: super::refresh::years_between(s.birth_date, today),
            tier: s.tier,
            living_alone: s.living_arrangement == "alone",
            served_30d: served.contains(&s.id),
        })
        .collect();
    Ok((out, total))
}

/// A cell given as its H3 string: 422 naming `cell` when it is not one.
pub fn parse_cell(text: &str) -> Result<CellIndex, ApiError> {
    text.trim()
        .parse::<CellIndex>()
        .map_err(|_| ApiError::field("cell", "format", "an H3 cell index, e.g. 89283082803ffff"))
}

/// The resolution parameter: 7, 8 or 9 (default 8).
pub fn parse_resolution(r: Option<u8>) -> Result<u8, ApiError> {
    match r {
        None => Ok(8),
        Some(r) if super::RESOLUTIONS.contains(&r) => Ok(r),
        Some(_) => Err(ApiError::field("resolution", "range", "one of 7, 8 or 9")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_family_name() {
        assert_eq!(mask_name("赵桂兰"), "赵*兰");
        assert_eq!(mask_name("王强"), "王*");
        assert_eq!(mask_name("欧阳春花"), "欧**花");
    }

    #[test]
    fn every_indicator_has_a_target_by_default() {
        let settings = crate::config::CoverageSettings::default();
        for code in indicator_codes() {
            assert!(settings.targets.contains_key(code), "{code}");
        }
    }
}
