//! Exporting the registry as a spreadsheet: CSV (UTF-8 with a BOM, so Excel reads the
//! Chinese correctly) or XLSX. Rows are read in pages keyed on id, never all at once;
//! ID numbers are only ever written masked.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web::Bytes;
use entity::{communities, seniors};
use futures_util::Stream;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::import::{COLUMNS, ECONOMIC_WORDS, GENDER_WORDS, LIVING_WORDS, word_for};
use super::{EconomicStatus, Gender, LivingArrangement};
use crate::audit;
use crate::auth::{Caller, CommunityId};
use crate::error::ApiError;
use crate::grid::cell_string;
use crate::state::AppState;

/// Re-exported for callers (and tests) that write or read workbooks themselves.
pub use rust_xlsxwriter;

/// Rows read from the database at a time.
pub const PAGE_SIZE: u64 = 1000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// The list's filters (shared by the list and the export).
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub community_id: Option<i64>,
    pub tier: Option<String>,
    /// Part of the name, or the start of the phone number.
    pub q: Option<String>,
    pub status: Option<String>,
    /// A flag key (`alone`, `oldest_old`, ...).
    pub flag: Option<String>,
    /// Only seniors whose reassessment fell due on or before this day.
    pub due_by: Option<chrono::NaiveDate>,
}

/// The seniors the caller may see, filtered (404 for a community outside their scope).
pub fn visible_seniors(caller: &Caller, filter: &ExportFilter) -> Result<Select<seniors::Entity>, ApiError> {
    let mut select = seniors::Entity::find();
    if let Some(ids) = caller.community_filter() {
        select = select.filter(seniors::Column::CommunityId.is_in(ids));
    }
    if let Some(c) = filter.community_id {
        caller.scope(CommunityId(c))?;
        select = select.filter(seniors::Column::CommunityId.eq(c));
    }
    if let Some(tier) = &filter.tier {
        select = select.filter(seniors::Column::Tier.eq(tier.clone()));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q: String = q.chars().filter(|c| !matches!(c, '%' | '_' | '\\')).collect();
        select = select
            .filter(seniors::Column::Name.like(format!("%{q}%")).or(seniors::Column::Phone.like(format!("{q}%"))));
    }
    if let Some(status) = &filter.status {
        select = select.filter(seniors::Column::Status.eq(status.clone()));
    }
    if let Some(flag) = &filter.flag {
        // Flags are a JSON array of keys: match the quoted key in its text form.
        let key: String = flag.chars().filter(|c| c.is_ascii_lowercase() || *c == '_').collect();
        select = select.filter(
            sea_orm::sea_query::Expr::col(seniors::Column::Flags)
                .cast_as(sea_orm::sea_query::Alias::new("TEXT"))
                .like(format!("%\"{key}\"%")),
        );
    }
    if let Some(day) = filter.due_by {
        select = select.filter(seniors::Column::ReassessmentDueOn.lte(day));
    }
    Ok(select)
}

/// The columns, English name and Chinese header; the shared ones as the import names them.
pub const HEADER: [(&str, &str); 17] = [
    ("id", "编号"),
    COLUMNS[0],
    COLUMNS[1],
    COLUMNS[2],
    COLUMNS[3],
    COLUMNS[4],
    COLUMNS[5],
    COLUMNS[6],
    COLUMNS[7],
    COLUMNS[8],
    ("community", "社区"),
    COLUMNS[9],
    COLUMNS[10],
    ("status", "状态"),
    ("tier", "照护等级"),
    ("cell", "网格"),
    ("outside_boundary", "边界外"),
];

/// `姓名 (name)`: both languages in one header row, which the import also reads.
pub fn header_cells() -> impl Iterator<Item = String> {
    HEADER.iter().map(|(en, zh)| format!("{zh} ({en})"))
}

/// One exported cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
}

/// A senior as a spreadsheet row, in [`HEADER`] order.
pub fn row(s: &seniors::Model, community: &str) -> Vec<Value> {
    let gender = Gender::parse(&s.gender).and_then(|g| word_for(&GENDER_WORDS, g));
    let living = LivingArrangement::parse(&s.living_arrangement).and_then(|l| word_for(&LIVING_WORDS, l));
    let economic = EconomicStatus::parse(&s.economic_status).and_then(|e| word_for(&ECONOMIC_WORDS, e));
    let text = |v: &str| Value::Text(v.to_owned());
    vec![
        Value::Number(s.id as f64),
        text(&s.name),
        text(gender.unwrap_or(&s.gender)),
        Value::Text(s.birth_date.to_string()),
        text(&s.id_number_masked),
        text(&s.phone),
        text(&s.address),
        Value::Number(s.latitude),
        Value::Number(s.longitude),
        Value::Number(s.community_id as f64),
        text(community),
        text(living.unwrap_or(&s.living_arrangement)),
        text(economic.unwrap_or(&s.economic_status)),
        text(&s.status),
        text(s.tier.as_deref().unwrap_or_default()),
        Value::Text(cell_string(s.cell)),
        text(if s.outside_boundary { "是" } else { "否" }),
    ]
}

/// Community id -> name, for the export's community column.
pub async fn community_names(db: &DatabaseConnection) -> Result<Arc<HashMap<i64, String>>, ApiError> {
    let rows: Vec<(i64, String)> = communities::Entity::find()
        .select_only()
        .column(communities::Column::Id)
        .column(communities::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    Ok(Arc::new(rows.into_iter().collect()))
}

/// The next page after `after` (ids ascending).
async fn page(
    db: &DatabaseConnection,
    base: &Select<seniors::Entity>,
    after: i64,
) -> Result<Vec<seniors::Model>, ApiError> {
    Ok(base
        .clone()
        .filter(seniors::Column::Id.gt(after))
        .order_by_asc(seniors::Column::Id)
        .limit(PAGE_SIZE)
        .all(db)
        .await?)
}

/// Records who exported what; the rows hold names, phones and addresses.
pub async fn audit_export(
    state: &AppState,
    caller: &Caller,
    format: ExportFormat,
    filter: &ExportFilter,
) -> Result<(), ApiError> {
    let mut entry = audit::Entry::new("senior.export", "senior", None);
    entry.details = serde_json::json!({
        "format": format.as_str(),
        "community_id": filter.community_id,
        "tier": filter.tier,
    });
    audit::record(&state.db, &state.clock, caller, entry).await
}

enum Cursor {
    Header,
    After(i64),
    Done,
}

/// The CSV, page by page: a BOM and the header first, then one chunk per page.
pub fn csv_stream(
    db: DatabaseConnection,
    base: Select<seniors::Entity>,
    names: Arc<HashMap<i64, String>>,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    futures_util::stream::try_unfold(Cursor::Header, move |cursor| {
        let (db, base, names) = (db.clone(), base.clone(), names.clone());
        async move {
            match cursor {
                Cursor::Header => {
                    let mut bytes = "\u{feff}".as_bytes().to_vec();
                    bytes.extend(csv_records([header_cells().map(Value::Text).collect()])?);
                    Ok(Some((Bytes::from(bytes), Cursor::After(0))))
                }
                Cursor::After(after) => {
                    let seniors = page(&db, &base, after).await?;
                    let Some(last) = seniors.last().map(|s| s.id) else { return Ok(None) };
                    let next = if (seniors.len() as u64) < PAGE_SIZE { Cursor::Done } else { Cursor::After(last) };
                    let rows = seniors.iter().map(|s| row(s, names.get(&s.community_id).map_or("", String::as_str)));
                    Ok(Some((Bytes::from(csv_records(rows)?), next)))
                }
                Cursor::Done => Ok(None),
            }
        }
    })
}

fn csv_records(rows: impl IntoIterator<Item = Vec<Value>>) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row.iter().map(|v| match v {
                Value::Text(t) => defuse(t),
                Value::Number(n) => n.to_string(),
            }))
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing CSV")))?;
    }
    writer.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("writing CSV: {e}")))
}

/// Text that a spreadsheet would run as a formula gets a leading apostrophe.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// The XLSX workbook: pages are read here and written on a blocking thread
/// (rust_xlsxwriter's constant-memory mode keeps rows on disk until the file is built).
pub async fn xlsx(
    db: &DatabaseConnection,
    base: &Select<seniors::Entity>,
    names: &HashMap<i64, String>,
) -> Result<Vec<u8>, ApiError> {
    let (tx, rx) = mpsc::channel::<Vec<Vec<Value>>>(2);
    let writer = tokio::task::spawn_blocking(move || write_xlsx(rx));
    let mut after = 0;
    loop {
        let seniors = page(db, base, after).await?;
        let Some(last) = seniors.last().map(|s| s.id) else { break };
        after = last;
        let full = seniors.len() as u64 == PAGE_SIZE;
        let rows = seniors.iter().map(|s| row(s, names.get(&s.community_id).map_or("", String::as_str))).collect();
        if tx.send(rows).await.is_err() || !full {
            break;
        }
    }
    drop(tx);
    writer
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("XLSX writer: {e}")))?
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing XLSX")))
}

fn write_xlsx(mut pages: mpsc::Receiver<Vec<Vec<Value>>>) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("seniors")?;
    sheet.set_freeze_panes(1, 0)?;
    for (col, text) in header_cells().enumerate() {
        sheet.write_string_with_format(0, col as u16, text, &bold)?;
    }
    let mut line: u32 = 0;
    while let Some(rows) = pages.blocking_recv() {
        for row in rows {
            line += 1;
            for (col, value) in row.into_iter().enumerate() {
                match value {
                    Value::Text(t) => sheet.write_string(line, col as u16, t)?,
                    Value::Number(n) => sheet.write_number(line, col as u16, n)?,
                };
            }
        }
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("王秀英"), "王秀英");
    }

    #[test]
    fn the_header_reads_back_as_import_columns() {
        let header: Vec<String> = header_cells().collect();
        assert_eq!(header[1], "姓名 (name)");
        assert_eq!(header.len(), HEADER.len());
    }

    #[test]
    fn the_csv_has_one_line_per_row() {
        let bytes = csv_records([vec![Value::Number(1.0), Value::Text("a,b".into())]]).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&bytes), "1,\"a,b\"\r\n");
    }
}
