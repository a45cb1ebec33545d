//! `/api/v1/grid`: seniors per H3 cell, for maps.

use std::collections::BTreeMap;

use actix_web::{get, web};
use entity::seniors;
use sea_orm::sea_query::{Asterisk, Expr};
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, FromQueryResult, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::grid;
use crate::http::extract::Query;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(cells);
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CellQuery {
    /// 7, 8 or 9 (the stored resolution); coarser cells are roll-ups by `parent()`.
    #[validate(range(min = 7, max = 9))]
    #[param(minimum = 7, maximum = 9)]
    pub resolution: u8,
    /// `min_longitude,min_latitude,max_longitude,max_latitude`; all of the caller's area when absent.
    #[param(pattern = r"^\s*-?[0-9]+(\.[0-9]+)?(\s*,\s*-?[0-9]+(\.[0-9]+)?){3}\s*$")]
    pub bbox: Option<String>,
}

/// A GeoJSON FeatureCollection: one feature per cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellCollection {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<serde_json::Value>,
}

#[derive(Debug, FromQueryResult)]
struct CellCount {
    cell: i64,
    tier: Option<String>,
    seniors: i64,
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = text.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
        ApiError::field(
            "bbox",
            "invalid",
            "must be four numbers: min_longitude,min_latitude,max_longitude,max_latitude",
        )
    })?;
    match parts[..] {
        [a, b, c, d] if a < c && b < d => Ok([a, b, c, d]),
        _ => Err(ApiError::field(
            "bbox",
            "invalid",
            "must be min_longitude,min_latitude,max_longitude,max_latitude with min < max",
        )),
    }
}

/// Seniors per cell with counts by tier (workers see only their communities).
#[utoipa::path(
    tag = "grid",
    params(CellQuery),
    responses((status = 200, body = CellCollection), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/grid/cells")]
async fn cells(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CellQuery>,
) -> Result<web::Json<CellCollection>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let q = query.0;
    let resolution = h3o::Resolution::try_from(q.resolution)
        .map_err(|_| ApiError::field("resolution", "range", "must be 7, 8 or 9"))?;
    // Counted live over every senior in scope: a city-wide read must not take the
    // connections alarms need.
    let _turn = state.report_turn().await?;
    let mut select = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Cell)
        .column(seniors::Column::Tier)
        // COUNT(*), not COUNT(id): the count then needs only the columns of
        // idx_seniors_status_cell_tier, and PostgreSQL reads the index alone.
        .column_as(Expr::col(Asterisk).count(), "seniors")
        .filter(seniors::Column::Status.eq("active"))
        .group_by(seniors::Column::Cell)
        .group_by(seniors::Column::Tier);
    if let Some(ids) = caller.community_filter() {
        select = select.filter(seniors::Column::CommunityId.is_in(ids));
    }
    if let Some(bbox) = q.bbox.as_deref() {
        let [min_lng, min_lat, max_lng, max_lat] = parse_bbox(bbox)?;
        select = select
            .filter(seniors::Column::Longitude.between(min_lng, max_lng))
            .filter(seniors::Column::Latitude.between(min_lat, max_lat));
    }
    let rows = select.into_model::<CellCount>().all(&state.db).await?;
    // Roll up to the requested resolution: cell -> tier -> count.
    let mut rolled: BTreeMap<u64, BTreeMap<String, i64>> = BTreeMap::new();
    for row in rows {
        let Some(cell) = grid::from_db(row.cell) else { continue };
        let Some(parent) = cell.parent(resolution) else { continue };
        let tier = row.tier.unwrap_or_else(|| "unassessed".to_owned());
        *rolled.entry(u64::from(parent)).or_default().entry(tier).or_default() += row.seniors;
    }
    let features = rolled
        .into_iter()
        .filter_map(|(cell, tiers)| {
            let cell = h3o::CellIndex::try_from(cell).ok()?;
            let total: i64 = tiers.values().sum();
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": grid::cell_geojson(cell),
                "properties": { "cell": cell.to_string(), "resolution": q.resolution, "seniors_total": total, "by_tier": tiers },
            }))
        })
        .collect();
    Ok(web::Json(CellCollection { kind: "FeatureCollection", features }))
}
