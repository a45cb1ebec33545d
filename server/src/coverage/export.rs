//! Every coverage report as a table, written as CSV (UTF-8 with a BOM, for Excel) or
//! as a one-sheet workbook. Suppressed counts stay the text `<10`; suppressed rates
//! stay empty.

use serde_json::Value;

use crate::error::ApiError;

/// A report flattened to columns.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file and sheet name (ASCII).
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn to_csv(t: &Table) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(&t.headers).map_err(anyhow::Error::from)?;
        for row in &t.rows {
            w.write_record(row.iter().map(text)).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    Ok(out)
}

pub fn to_xlsx(t: &Table) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name(t.name.chars().take(31).collect::<String>())?;
        for (c, h) in t.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Value::Null => {}
                    Value::Number(n) => {
                        sheet.write_number(r, c, n.as_f64().unwrap_or_default())?;
                    }
                    other => {
                        sheet.write_string(r, c, text(other))?;
                    }
                }
            }
        }
        book.save_to_buffer()
    };
    build().map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_keeps_suppressed_text_and_empties_nulls() {
        let t = Table {
            name: "gaps".into(),
            headers: vec!["cell".into(), "seniors_total".into(), "rate".into()],
            rows: vec![vec![json!("88283082803ffff"), json!("<10"), Value::Null]],
        };
        let out = String::from_utf8(to_csv(&t).unwrap()).unwrap();
        assert_eq!(out, "\u{feff}cell,seniors_total,rate\n88283082803ffff,<10,\n");
        assert!(to_xlsx(&t).unwrap().starts_with(b"PK"));
    }
}
