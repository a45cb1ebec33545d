//! Account statements: every entry, oldest first, with the running balance after
//! it, as CSV (UTF-8 with a BOM, for Excel) or XLSX.

use chrono::{DateTime, Utc};
use entity::{timebank_entries as entries, timebank_transactions as transactions};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

use crate::error::ApiError;

const HEADER: [&str; 8] = [
    "日期 (date)",
    "交易 (transaction_id)",
    "类型 (kind)",
    "分钟 (minutes)",
    "余额 (running_balance_minutes)",
    "事由 (reason)",
    "任务 (task_id)",
    "冲正 (reverses_id)",
];

pub struct Line {
    pub at: DateTime<Utc>,
    pub transaction_id: i64,
    pub kind: String,
    pub minutes: i64,
    pub running: i64,
    pub reason: String,
    pub task_id: Option<i64>,
    pub reverses_id: Option<i64>,
}

/// The account's lines, oldest first, with the running balance.
pub async fn lines(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<Line>, ApiError> {
    let rows = entries::Entity::find()
        .filter(entries::Column::AccountId.eq(account_id))
        .order_by_asc(entries::Column::Id)
        .all(db)
        .await?;
    let mut txs: HashMap<i64, transactions::Model> = HashMap::new();
    let ids: Vec<i64> = rows.iter().map(|e| e.transaction_id).collect();
    for chunk in ids.chunks(1000) {
        for t in
            transactions::Entity::find().filter(transactions::Column::Id.is_in(chunk.iter().copied())).all(db).await?
        {
            txs.insert(t.id, t);
        }
    }
    let mut running = 0;
    Ok(rows
        .into_iter()
        .map(|e| {
            running += e.minutes;
            let tx = txs.get(&e.transaction_id);
            Line {
                at: e.created_at,
                transaction_id: e.transaction_id,
                kind: tx.map(|t| t.kind.clone()).unwrap_or_default(),
                minutes: e.minutes,
                running,
                reason: tx.and_then(|t| t.reason.clone()).unwrap_or_default(),
                task_id: tx.and_then(|t| t.task_id),
                reverses_id: tx.and_then(|t| t.reverses_id),
            }
        })
        .collect())
}

/// Text a spreadsheet would run as a formula is prefixed with an apostrophe.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn cells(l: &Line, tz: chrono_tz::Tz) -> [String; 8] {
    [
        l.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        l.transaction_id.to_string(),
        l.kind.clone(),
        l.minutes.to_string(),
        l.running.to_string(),
        defuse(&l.reason),
        l.task_id.map(|t| t.to_string()).unwrap_or_default(),
        l.reverses_id.map(|t| t.to_string()).unwrap_or_default(),
    ]
}

pub fn csv(lines: &[Line], tz: chrono_tz::Tz) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("writing a statement"));
        w.write_record(HEADER).map_err(fail)?;
        for l in lines {
            w.write_record(cells(l, tz)).map_err(fail)?;
        }
        w.flush().map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing a statement")))?;
    }
    Ok(out)
}

pub fn xlsx(lines: &[Line], tz: chrono_tz::Tz) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet();
        sheet.set_name("statement")?;
        sheet.set_freeze_panes(1, 0)?;
        for (col, text) in HEADER.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *text, &bold)?;
        }
        for (i, l) in lines.iter().enumerate() {
            let row = i as u32 + 1;
            let c = cells(l, tz);
            sheet.write_string(row, 0, &c[0])?;
            sheet.write_number(row, 1, l.transaction_id as f64)?;
            sheet.write_string(row, 2, &c[2])?;
            sheet.write_number(row, 3, l.minutes as f64)?;
            sheet.write_number(row, 4, l.running as f64)?;
            sheet.write_string(row, 5, &c[5])?;
            if let Some(t) = l.task_id {
                sheet.write_number(row, 6, t as f64)?;
            }
            if let Some(t) = l.reverses_id {
                sheet.write_number(row, 7, t as f64)?;
            }
        }
        workbook.save_to_buffer()
    };
    build().map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing an XLSX statement")))
}
