//! Importing seniors from a spreadsheet: CSV (UTF-8 with or without BOM, or GBK as
//! Excel writes it on Chinese Windows) or XLSX.
//!
//! Every row goes through [`NewSenior::parse`], the same checks as the API, plus the
//! caller's community scope and duplicate ID numbers (within the file and against the
//! registry). The file is read once, streaming: a blocking reader thread parses and
//! checks rows and hands them over a bounded channel to the async side, which checks
//! the registry for duplicates and inserts in batches inside ONE write transaction.
//! The first bad row stops the inserting (reading goes on, to report every bad row);
//! the transaction is then rolled back, so an import stores all rows or none.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{communities, contacts, seniors};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, TryInsertResult,
};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use validator::Validate;

use super::service::{ContactInput, NewSenior, SeniorInput, contact_row, senior_row};
use super::{EconomicStatus, Gender, LivingArrangement, Phone, ResidentId};
use crate::audit;
use crate::auth::{Caller, CommunityId};
use crate::error::{ApiError, FieldError};
use crate::grid;
use crate::state::AppState;

/// Re-exported for callers (and tests) that build or decode the files themselves.
pub use calamine;
pub use encoding_rs;

/// The most errors a report lists; `error_count` counts them all.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// Rows per `INSERT`. 26 bound values a row keep SQLite far under its 32,766
/// parameters. PostgreSQL batches stay small for another reason: sqlx 0.9 no longer
/// sets TCP_NODELAY, and a request past ~16 KB then waits ~40 ms for a delayed ACK
/// (measured: 32 rows a batch ran at 8,600 rows/s, 50 rows at 1,000). 20 rows of
/// ordinary length stay near 10 KB.
const SQLITE_BATCH: usize = 500;
const POSTGRES_BATCH: usize = 20;
/// A dry run only looks the batch's lookup hashes up: 100 of them stay under 8 KB.
const POSTGRES_CHECK_BATCH: usize = 100;

/// The columns an import understands: the API field name and the Chinese header.
/// Exports use the same names.
pub const COLUMNS: [(&str, &str); 14] = [
    ("name", "姓名"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("id_number", "身份证号"),
    ("phone", "电话"),
    ("address", "地址"),
    ("latitude", "纬度"),
    ("longitude", "经度"),
    ("community_id", "社区ID"),
    ("living_arrangement", "居住情况"),
    ("economic_status", "经济状况"),
    ("contact_name", "联系人"),
    ("contact_relation", "联系人关系"),
    ("contact_phone", "联系人电话"),
];
const NAME: usize = 0;
const GENDER: usize = 1;
const BIRTH_DATE: usize = 2;
const ID_NUMBER: usize = 3;
const PHONE: usize = 4;
const ADDRESS: usize = 5;
const LATITUDE: usize = 6;
const LONGITUDE: usize = 7;
const COMMUNITY_ID: usize = 8;
const LIVING_ARRANGEMENT: usize = 9;
const ECONOMIC_STATUS: usize = 10;
const CONTACT_NAME: usize = 11;
const CONTACT_RELATION: usize = 12;
const CONTACT_PHONE: usize = 13;

/// Other headers seen in the wild for the same columns.
const ALIASES: [(&str, usize); 1] = [("身份证号码", ID_NUMBER)];

/// The Chinese words spreadsheets use for the registry's vocabularies.
pub const GENDER_WORDS: [(Gender, &str); 2] = [(Gender::Male, "男"), (Gender::Female, "女")];
pub const LIVING_WORDS: [(LivingArrangement, &str); 4] = [
    (LivingArrangement::Alone, "独居"),
    (LivingArrangement::Couple, "空巢"),
    (LivingArrangement::WithFamily, "与家人同住"),
    (LivingArrangement::Institution, "机构"),
];
pub const ECONOMIC_WORDS: [(EconomicStatus, &str); 4] = [
    (EconomicStatus::Destitute, "特困"),
    (EconomicStatus::Subsistence, "低保"),
    (EconomicStatus::LowIncome, "低收入"),
    (EconomicStatus::Ordinary, "普通"),
];

/// The Chinese word for a vocabulary value, if the table has one.
pub fn word_for<T: Copy + PartialEq>(words: &[(T, &'static str)], value: T) -> Option<&'static str> {
    words.iter().find(|(v, _)| *v == value).map(|(_, w)| *w)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

pub const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Format {
    /// XLSX files are ZIP archives (`PK\x03\x04`); anything else is read as CSV.
    pub fn sniff(file: &mut File) -> io::Result<Format> {
        let mut magic = [0u8; 4];
        let n = read_up_to(file, &mut magic)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(if n == 4 && magic == *b"PK\x03\x04" { Format::Xlsx } else { Format::Csv })
    }

    /// From a request's `Content-Type` (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" | "text/plain" => Some(Format::Csv),
            XLSX_CONTENT_TYPE => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// One problem in the file: the line (CSV) or row (XLSX) number, header = 1.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    /// The column, by its API name (`birth_date`, `contact_phone`).
    pub field: String,
    /// A stable code (`required`, `invalid`, `duplicate`, ...).
    pub code: String,
    pub message: String,
}

impl RowError {
    fn new(line: u64, error: FieldError) -> Self {
        Self { line, field: error.field, code: error.code, message: error.message }
    }
}

/// What an import found and did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read (blank rows are skipped).
    pub rows: u64,
    /// Seniors stored: every row, or none.
    pub stored: u64,
    pub dry_run: bool,
    /// Rows with at least one error.
    pub bad_rows: u64,
    /// Errors found; `errors` lists at most the first 1,000.
    pub error_count: u64,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn is_clean(&self) -> bool {
        self.error_count == 0
    }
}

/// Called with the number of rows read so far.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Check every row, store nothing.
    pub dry_run: bool,
    /// The community of rows that leave `community_id` empty (the column may then be absent).
    pub community_default: Option<i64>,
    pub progress: Option<Progress>,
}

/// A checked row, ready to insert (`model` is `None` in a dry run).
struct Prepared {
    line: u64,
    lookup_hash: String,
    model: Option<seniors::ActiveModel>,
    contact: Option<(ContactInput, Phone)>,
}

enum Item {
    Good(Box<Prepared>),
    Bad(Vec<RowError>),
    /// A problem with the file itself (header, syntax): reading stops.
    File(Vec<RowError>),
}

/// Imports seniors from `file` as `caller`. Returns the report whether or not rows
/// were bad; errors are only for failures of the import itself (unreadable file, database).
#[tracing::instrument(skip_all, fields(format = format.as_str(), dry_run = options.dry_run))]
pub async fn import_seniors(
    state: &AppState,
    caller: &Caller,
    file: File,
    format: Format,
    options: ImportOptions,
) -> Result<ImportReport, ApiError> {
    let db = &state.db;
    let now = state.clock.now();
    let today = now.with_timezone(&state.settings.tz()).date_naive();
    let checker = RowChecker {
        state: state.clone(),
        communities: visible_communities(db, caller).await?,
        community_default: options.community_default,
        protect: !options.dry_run,
        seen: HashMap::new(),
        created_by: caller.user_id.map(|u| u.0),
        now,
        today,
    };
    let (tx, mut rx) = mpsc::channel::<Item>(1024);
    let reader = tokio::task::spawn_blocking(move || read_file(file, format, checker, &tx));

    let batch_size = match (crate::db::is_postgres(db), options.dry_run) {
        (false, _) => SQLITE_BATCH,
        (true, false) => POSTGRES_BATCH,
        (true, true) => POSTGRES_CHECK_BATCH,
    };
    let txn = if options.dry_run { None } else { Some(crate::db::begin_write(db).await?) };
    let mut run = Run { report: empty_report(options.dry_run), batch: Vec::with_capacity(batch_size), now };
    while let Some(item) = rx.recv().await {
        match item {
            Item::Good(row) => {
                run.report.rows += 1;
                run.batch.push(*row);
                if run.batch.len() >= batch_size {
                    run.flush(state, txn.as_ref()).await?;
                }
            }
            Item::Bad(errors) => {
                run.report.rows += 1;
                run.add_bad_row(errors);
            }
            Item::File(errors) => run.add_errors(errors),
        }
        if let Some(progress) = &options.progress
            && run.report.rows.is_multiple_of(256)
        {
            progress(run.report.rows);
        }
    }
    reader.await.map_err(|e| ApiError::Internal(anyhow::anyhow!("import reader: {e}")))??;
    run.flush(state, txn.as_ref()).await?;
    if let Some(progress) = &options.progress {
        progress(run.report.rows);
    }

    let mut report = run.report;
    report.errors.sort_by_key(|e| e.line);
    match txn {
        Some(txn) if report.is_clean() => {
            let mut entry = audit::Entry::new("senior.import", "senior", None);
            entry.details = serde_json::json!({ "rows": report.stored, "format": format.as_str() });
            audit::record(&txn, &state.clock, caller, entry).await?;
            txn.commit().await?;
            tracing::info!(rows = report.stored, "seniors imported");
        }
        Some(txn) => {
            txn.rollback().await?;
            report.stored = 0;
        }
        None => {}
    }
    Ok(report)
}

fn empty_report(dry_run: bool) -> ImportReport {
    ImportReport { rows: 0, stored: 0, dry_run, bad_rows: 0, error_count: 0, errors: Vec::new() }
}

/// The async side of an import: the report so far and the rows waiting for their batch.
struct Run {
    report: ImportReport,
    batch: Vec<Prepared>,
    now: DateTime<Utc>,
}

impl Run {
    fn add_errors(&mut self, errors: Vec<RowError>) {
        self.report.error_count += errors.len() as u64;
        let room = MAX_LISTED_ERRORS.saturating_sub(self.report.errors.len());
        self.report.errors.extend(errors.into_iter().take(room));
    }

    fn add_bad_row(&mut self, errors: Vec<RowError>) {
        self.report.bad_rows += 1;
        self.add_errors(errors);
    }

    /// Stores the batch while every row so far is good (a row whose ID number is already
    /// registered is skipped by the database and reported); otherwise only checks it.
    async fn flush(&mut self, state: &AppState, txn: Option<&DatabaseTransaction>) -> Result<(), ApiError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.batch);
        if let Some(txn) = txn
            && self.report.is_clean()
        {
            self.report.stored += store(txn, &mut batch, self.now).await?;
            if batch.is_empty() {
                return Ok(());
            }
        }
        // What remains in the batch was not stored: name the rows already registered.
        let hashes: Vec<String> = batch.iter().map(|p| p.lookup_hash.clone()).collect();
        let existing = match txn {
            Some(txn) => registered(txn, hashes).await?,
            None => registered(&state.db, hashes).await?,
        };
        for row in &batch {
            if let Some(id) = existing.get(&row.lookup_hash) {
                self.add_bad_row(vec![RowError::new(
                    row.line,
                    FieldError::new("id_number", "duplicate", format!("is already registered (senior {id})")),
                )]);
            }
        }
        Ok(())
    }
}

/// Seniors already registered under these lookup hashes: hash -> id.
async fn registered(db: &impl ConnectionTrait, hashes: Vec<String>) -> Result<HashMap<String, i64>, ApiError> {
    let rows: Vec<(i64, String)> = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Id)
        .column(seniors::Column::IdNumberHash)
        .filter(seniors::Column::IdNumberHash.is_in(hashes))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, hash)| (hash, id)).collect())
}

/// Inserts a batch of seniors and their contacts in one statement each, skipping ID
/// numbers already registered (`ON CONFLICT DO NOTHING`). The stored rows leave
/// `batch`; the skipped ones stay. Returns the number stored.
async fn store(txn: &DatabaseTransaction, batch: &mut Vec<Prepared>, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let models: Vec<seniors::ActiveModel> = batch.iter_mut().filter_map(|row| row.model.take()).collect();
    let stored = match seniors::Entity::insert_many(models)
        .on_conflict_do_nothing_on([seniors::Column::IdNumberHash])
        .exec_with_returning_many(txn)
        .await?
    {
        TryInsertResult::Inserted(stored) => stored,
        TryInsertResult::Conflicted | TryInsertResult::Empty => Vec::new(),
    };
    // RETURNING order is not guaranteed: match rows by their hash.
    let ids: HashMap<&str, i64> = stored.iter().map(|s| (s.id_number_hash.as_str(), s.id)).collect();
    let mut contacts = Vec::new();
    batch.retain_mut(|row| match ids.get(row.lookup_hash.as_str()) {
        Some(&id) => {
            if let Some((contact, phone)) = row.contact.take() {
                contacts.push(contact_row(id, &contact, &phone, now));
            }
            false
        }
        None => true,
    });
    if !contacts.is_empty() {
        contacts::Entity::insert_many(contacts).exec_without_returning(txn).await?;
    }
    Ok(stored.len() as u64)
}

/// The communities the caller may import into, with their parsed boundaries.
async fn visible_communities(
    db: &impl ConnectionTrait,
    caller: &Caller,
) -> Result<HashMap<i64, Option<geo::MultiPolygon<f64>>>, ApiError> {
    let mut select = communities::Entity::find();
    if let Some(ids) = caller.community_filter() {
        select = select.filter(communities::Column::Id.is_in(ids));
    }
    Ok(select
        .all(db)
        .await?
        .into_iter()
        .filter(|c| caller.sees_community(CommunityId(c.id)))
        .map(|c| (c.id, grid::parse_boundary(&c.boundary_geojson).ok()))
        .collect())
}

// --- Reading (on a blocking thread) -------------------------------------------------

/// Reads every row and sends it, checked, to the async side. A send fails only when
/// the async side has given up (a database error), so reading stops quietly then.
fn read_file(mut file: File, format: Format, checker: RowChecker, tx: &mpsc::Sender<Item>) -> Result<(), ApiError> {
    // The file may have just been written (an upload): read it from the start.
    file.seek(SeekFrom::Start(0)).map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rewinding")))?;
    let mut sink = Sink { checker, columns: None, failed: false, tx };
    let outcome = match format {
        Format::Csv => read_csv(file, &mut sink),
        Format::Xlsx => read_xlsx(file, &mut sink),
    };
    match outcome {
        Ok(()) | Err(Stop::Closed) => {}
        Err(Stop::Unreadable(message)) => return Err(ApiError::BadRequest(message)),
    }
    if sink.columns.is_none() && !sink.failed {
        let _ = tx.blocking_send(Item::File(vec![RowError::new(
            1,
            FieldError::new("header", "missing", "the file has no header row"),
        )]));
    }
    Ok(())
}

enum Stop {
    /// The receiver is gone.
    Closed,
    Unreadable(String),
}

/// Where the readers put rows: the first non-blank row is the header.
struct Sink<'a> {
    checker: RowChecker,
    columns: Option<Columns>,
    /// A problem with the file was reported and reading stopped.
    failed: bool,
    tx: &'a mpsc::Sender<Item>,
}

impl Sink<'_> {
    /// Takes one row; `Ok(false)` means reading should stop (a bad header).
    fn row(&mut self, line: u64, cells: &[String]) -> Result<bool, Stop> {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return Ok(true);
        }
        let item = match &self.columns {
            Some(columns) => self.checker.check(line, cells, columns),
            None => match Columns::from_header(line, cells, self.checker.community_default.is_some()) {
                Ok(columns) => {
                    self.columns = Some(columns);
                    return Ok(true);
                }
                Err(errors) => {
                    self.fail(errors)?;
                    return Ok(false);
                }
            },
        };
        self.send(item)?;
        Ok(true)
    }

    fn send(&self, item: Item) -> Result<(), Stop> {
        self.tx.blocking_send(item).map_err(|_| Stop::Closed)
    }

    /// Reports a problem with the file itself; the caller stops reading.
    fn fail(&mut self, errors: Vec<RowError>) -> Result<(), Stop> {
        self.failed = true;
        self.send(Item::File(errors))
    }
}

fn read_csv(mut file: File, sink: &mut Sink<'_>) -> Result<(), Stop> {
    let unreadable = |e: io::Error| Stop::Unreadable(format!("the file could not be read: {e}"));
    let (encoding, bom) = detect_encoding(&mut file).map_err(unreadable)?;
    file.seek(SeekFrom::Start(if bom { 3 } else { 0 })).map_err(unreadable)?;
    let source: Box<dyn Read> = if encoding == encoding_rs::UTF_8 {
        Box::new(BufReader::with_capacity(64 * 1024, file))
    } else {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build(BufReader::with_capacity(64 * 1024, file)),
        )
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(source);
    let mut record = csv::StringRecord::new();
    let mut cells: Vec<String> = Vec::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                cells.clear();
                cells.extend(record.iter().map(str::to_owned));
                if !sink.row(line, &cells)? {
                    return Ok(());
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not valid text (save the file as UTF-8 or GBK CSV)".to_owned(),
                    _ => format!("could not be read: {e}"),
                };
                sink.fail(vec![RowError::new(line, FieldError::new("row", "unreadable", message))])?;
                return Ok(());
            }
        }
    }
}

/// BOM -> UTF-8; else valid UTF-8 throughout -> UTF-8; else GBK. Reads the whole file
/// in chunks (nothing is kept). Returns the encoding and whether a UTF-8 BOM leads.
pub fn detect_encoding(reader: &mut impl Read) -> io::Result<(&'static encoding_rs::Encoding, bool)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carried = 0usize;
    let mut first = true;
    loop {
        let n = read_up_to(reader, &mut buf[carried..])?;
        let filled = carried + n;
        if first {
            first = false;
            if buf[..filled].starts_with(b"\xEF\xBB\xBF") {
                return Ok((encoding_rs::UTF_8, true));
            }
        }
        if filled == 0 {
            return Ok((encoding_rs::UTF_8, false));
        }
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carried = 0,
            // A sequence cut by the chunk's end: carry its bytes into the next chunk.
            Err(e) if e.error_len().is_none() && n > 0 => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carried = filled - valid;
            }
            Err(_) => return Ok((encoding_rs::GBK, false)),
        }
        if n == 0 {
            return Ok((encoding_rs::UTF_8, false));
        }
    }
}

/// Fills `buf` as far as the reader allows; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match reader.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// The first sheet, cell by cell (calamine's streaming reader), gathered into rows.
fn read_xlsx(file: File, sink: &mut Sink<'_>) -> Result<(), Stop> {
    use calamine::Reader;
    let unreadable = |e: calamine::XlsxError| Stop::Unreadable(format!("not a readable XLSX file: {e}"));
    let mut workbook: calamine::Xlsx<_> =
        calamine::Xlsx::new(BufReader::with_capacity(64 * 1024, file)).map_err(unreadable)?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Ok(());
    };
    let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(unreadable)?;
    let mut row: Vec<String> = Vec::new();
    let mut row_index: Option<u32> = None;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (r, c) = cell.get_position();
        if row_index != Some(r) {
            if let Some(done) = row_index
                && !sink.row(u64::from(done) + 1, &row)?
            {
                return Ok(());
            }
            row.clear();
            row_index = Some(r);
        }
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = cell_text(cell.get_value());
    }
    if let Some(done) = row_index {
        sink.row(u64::from(done) + 1, &row)?;
    }
    Ok(())
}

/// A cell as the text a CSV would hold: whole numbers without `.0`, dates as YYYY-MM-DD.
fn cell_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match value {
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.as_datetime().map_or_else(|| d.as_f64().to_string(), |d| d.date().to_string()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

// --- Checking ------------------------------------------------------------------------

/// Which cell holds which column.
struct Columns {
    index: [Option<usize>; COLUMNS.len()],
}

impl Columns {
    fn from_header(line: u64, cells: &[String], has_default_community: bool) -> Result<Self, Vec<RowError>> {
        let mut index = [None; COLUMNS.len()];
        let mut errors = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let text = cell.trim().trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            match column_of(text) {
                Some(col) if index[col].is_some() => errors.push(RowError::new(
                    line,
                    FieldError::new(COLUMNS[col].0, "duplicate_column", format!("the column `{text}` appears twice")),
                )),
                Some(col) => index[col] = Some(i),
                None => errors.push(RowError::new(
                    line,
                    FieldError::new(
                        text,
                        "unknown_column",
                        format!(
                            "is not a known column; use {}",
                            COLUMNS.iter().map(|(en, zh)| format!("{zh}/{en}")).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                )),
            }
        }
        for (col, (field, chinese)) in COLUMNS.iter().enumerate() {
            let optional = col >= CONTACT_NAME || (col == COMMUNITY_ID && has_default_community);
            if index[col].is_none() && !optional {
                errors.push(RowError::new(
                    line,
                    FieldError::new(*field, "missing_column", format!("the column {chinese} ({field}) is missing")),
                ));
            }
        }
        if errors.is_empty() { Ok(Self { index }) } else { Err(errors) }
    }
}

/// `name`, `姓名`, `Name`, or the export's `姓名 (name)`.
fn column_of(header: &str) -> Option<usize> {
    let find = |text: &str| {
        let text = text.trim().to_lowercase();
        COLUMNS
            .iter()
            .position(|(en, zh)| text == *en || text == zh.to_lowercase())
            .or_else(|| ALIASES.iter().find(|(alias, _)| text == *alias).map(|(_, col)| *col))
    };
    find(header).or_else(|| {
        let (before, inside) = header.split_once(['(', '（'])?;
        find(inside.trim_end_matches([')', '）'])).or_else(|| find(before))
    })
}

/// Turns rows into prepared seniors; owns what must outlive a row (IDs seen so far).
struct RowChecker {
    state: AppState,
    communities: HashMap<i64, Option<geo::MultiPolygon<f64>>>,
    community_default: Option<i64>,
    /// Encrypt ID numbers (a real import, while no row has been bad).
    protect: bool,
    /// ID numbers seen (the 17 digits before the check character) -> line.
    seen: HashMap<u64, u64>,
    created_by: Option<i64>,
    now: DateTime<Utc>,
    today: NaiveDate,
}

impl RowChecker {
    fn check(&mut self, line: u64, cells: &[String], columns: &Columns) -> Item {
        let cell = |col: usize| columns.index[col].and_then(|i| cells.get(i)).map_or("", |c| c.trim());
        let (input, mut errors) = to_input(&cell, self.community_default);

        if let Ok(id) = ResidentId::parse(&input.id_number) {
            let key = id.as_str()[..17].parse::<u64>().unwrap_or_default();
            if let Some(first) = self.seen.get(&key) {
                errors.push(FieldError::new(
                    "id_number",
                    "duplicate",
                    format!("repeats the ID number on line {first}"),
                ));
            } else {
                self.seen.insert(key, line);
            }
        }
        let community = self.communities.get(&input.community_id);
        if community.is_none() && !errors.iter().any(|e| e.field == "community_id") {
            errors.push(FieldError::new("community_id", "unknown", "is not one of your communities"));
        }
        let outside_boundary = match community {
            Some(Some(boundary)) => !grid::contains(boundary, input.latitude, input.longitude),
            _ => false,
        };

        let mut checked: Vec<FieldError> = Vec::new();
        if let Err(e) = input.validate()
            && let ApiError::Validation(list) = ApiError::from(e)
        {
            checked.extend(list);
        }
        let parsed = NewSenior::parse(input, &self.state);
        if let Err(ApiError::Validation(list)) = &parsed {
            checked.extend(list.iter().cloned());
        }
        // A cell that did not parse stood in with a placeholder: drop what follows from it.
        let unparsed: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        for e in checked {
            let field = column_name(&e.field);
            let follows = unparsed.contains(&field)
                || (e.code == "birth_date_mismatch" && unparsed.iter().any(|f| f == "birth_date"));
            if !follows {
                errors.push(FieldError { field, ..e });
            }
        }

        match parsed {
            Ok(new) if errors.is_empty() => self.prepare(line, new, outside_boundary),
            _ => {
                self.protect = false;
                Item::Bad(errors.into_iter().map(|e| RowError::new(line, e)).collect())
            }
        }
    }

    fn prepare(&self, line: u64, mut new: NewSenior, outside_boundary: bool) -> Item {
        let key = &self.state.data_key;
        let (lookup_hash, model) = if self.protect {
            match key.protect_id_number(new.id_number.as_str()) {
                Ok(protected) => {
                    let hash = protected.lookup_hash.clone();
                    (hash, Some(senior_row(&new, protected, outside_boundary, self.created_by, self.now, self.today)))
                }
                Err(e) => {
                    return Item::File(vec![RowError::new(
                        line,
                        FieldError::new("id_number", "internal", format!("could not be protected: {e}")),
                    )]);
                }
            }
        } else {
            (key.lookup_hash(new.id_number.as_str()), None)
        };
        let contact = new.input.contacts.pop().zip(new.contact_phones.pop());
        Item::Good(Box::new(Prepared { line, lookup_hash, model, contact }))
    }
}

/// `contacts[0].phone` -> `contact_phone`: errors name the spreadsheet's columns.
fn column_name(field: &str) -> String {
    match field.strip_prefix("contacts[0].") {
        Some(rest) => format!("contact_{rest}"),
        None => field.to_owned(),
    }
}

/// The row as a [`SeniorInput`]. Cells that do not parse are reported and replaced by
/// placeholders, so the remaining checks still run.
fn to_input<'a>(cell: &impl Fn(usize) -> &'a str, community_default: Option<i64>) -> (SeniorInput, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut required = |col: usize| {
        let text = cell(col);
        if text.is_empty() {
            errors.push(FieldError::new(COLUMNS[col].0, "required", "is required"));
            None
        } else {
            Some(text)
        }
    };
    let name = required(NAME).unwrap_or_default().to_owned();
    let id_number = required(ID_NUMBER).unwrap_or_default().to_owned();
    let phone = required(PHONE).unwrap_or_default().to_owned();
    let address = required(ADDRESS).unwrap_or_default().to_owned();
    let gender = required(GENDER).map(|t| (t, word(t, &GENDER_WORDS, Gender::parse)));
    let living = required(LIVING_ARRANGEMENT).map(|t| (t, word(t, &LIVING_WORDS, LivingArrangement::parse)));
    let economic = required(ECONOMIC_STATUS).map(|t| (t, word(t, &ECONOMIC_WORDS, EconomicStatus::parse)));
    let birth = required(BIRTH_DATE).map(|t| (t, parse_date(t)));
    let latitude = required(LATITUDE).map(|t| (t, t.parse::<f64>().ok().filter(|v| v.is_finite())));
    let longitude = required(LONGITUDE).map(|t| (t, t.parse::<f64>().ok().filter(|v| v.is_finite())));
    let community = match (cell(COMMUNITY_ID), community_default) {
        ("", Some(default)) => Some(("", Some(default))),
        ("", None) => required(COMMUNITY_ID).map(|t| (t, None)),
        (t, _) => Some((t, t.parse::<i64>().ok())),
    };

    let mut invalid = |col: usize, message: String| errors.push(FieldError::new(COLUMNS[col].0, "invalid", message));
    let gender = unwrap_or_report(gender, GENDER, &mut invalid, || choices(&GENDER_WORDS, Gender::choices()));
    let living_arrangement = unwrap_or_report(living, LIVING_ARRANGEMENT, &mut invalid, || {
        choices(&LIVING_WORDS, LivingArrangement::choices())
    });
    let economic_status = unwrap_or_report(economic, ECONOMIC_STATUS, &mut invalid, || {
        choices(&ECONOMIC_WORDS, EconomicStatus::choices())
    });
    let birth_date = unwrap_or_report(birth, BIRTH_DATE, &mut invalid, || "must be a date (YYYY-MM-DD)".into());
    let latitude = unwrap_or_report(latitude, LATITUDE, &mut invalid, || "must be a number".into());
    let longitude = unwrap_or_report(longitude, LONGITUDE, &mut invalid, || "must be a number".into());
    let community_id = unwrap_or_report(community, COMMUNITY_ID, &mut invalid, || "must be a community number".into());

    let contact = [cell(CONTACT_NAME), cell(CONTACT_RELATION), cell(CONTACT_PHONE)];
    let contacts = if contact.iter().all(|c| c.is_empty()) {
        Vec::new()
    } else {
        let [name, relation, phone] = contact.map(str::to_owned);
        vec![ContactInput { name, relation, phone, call_order: 1, is_keyholder: false }]
    };
    let input = SeniorInput {
        name,
        gender: gender.unwrap_or(Gender::Female),
        birth_date: birth_date.unwrap_or_default(),
        id_number,
        phone,
        address,
        latitude: latitude.unwrap_or_default(),
        longitude: longitude.unwrap_or_default(),
        community_id: community_id.unwrap_or_default(),
        living_arrangement: living_arrangement.unwrap_or(LivingArrangement::Alone),
        economic_status: economic_status.unwrap_or(EconomicStatus::Ordinary),
        medical_notes: Default::default(),
        contacts,
    };
    (input, errors)
}

/// A present cell that did not parse is reported as invalid; an absent one was
/// reported as required already.
fn unwrap_or_report<T>(
    cell: Option<(&str, Option<T>)>,
    col: usize,
    invalid: &mut impl FnMut(usize, String),
    message: impl FnOnce() -> String,
) -> Option<T> {
    match cell {
        Some((_, Some(value))) => Some(value),
        Some((_, None)) => {
            invalid(col, message());
            None
        }
        None => None,
    }
}

/// A vocabulary value from its Chinese word or its API code (any case).
fn word<T: Copy>(text: &str, words: &[(T, &str)], code: fn(&str) -> Option<T>) -> Option<T> {
    words.iter().find(|(_, w)| *w == text).map(|(v, _)| *v).or_else(|| code(&text.to_ascii_lowercase()))
}

fn choices<T>(words: &[(T, &str)], codes: String) -> String {
    let chinese: Vec<&str> = words.iter().map(|(_, w)| *w).collect();
    format!("must be one of {} (or {codes})", chinese.join(", "))
}

/// `1944-05-12`, `1944/5/12`, `1944.5.12`, `1944年5月12日`, `19440512`, or a date-time
/// whose date part is one of those.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let date = text.split([' ', 'T']).next().unwrap_or(text);
    if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]), "%Y-%m-%d").ok();
    }
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"].iter().find_map(|f| NaiveDate::parse_from_str(date, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_either_language() {
        for (header, col) in [
            ("name", NAME),
            ("Name", NAME),
            ("姓名", NAME),
            ("姓名 (name)", NAME),
            ("身份证号码", ID_NUMBER),
            ("社区id", COMMUNITY_ID),
            ("联系人电话", CONTACT_PHONE),
            ("\u{feff}姓名", NAME),
        ] {
            let text = header.trim_start_matches('\u{feff}');
            assert_eq!(column_of(text), Some(col), "{header}");
        }
        assert_eq!(column_of("备注"), None);
    }

    #[test]
    fn a_header_names_missing_and_unknown_columns() {
        let cells: Vec<String> = ["姓名", "性别", "备注"].iter().map(|s| (*s).to_owned()).collect();
        let errors = Columns::from_header(1, &cells, false).err().unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"备注"), "{fields:?}");
        assert!(fields.contains(&"birth_date"), "{fields:?}");
        assert!(!fields.contains(&"contact_name"), "contacts are optional: {fields:?}");
        assert!(errors.iter().all(|e| e.line == 1));
    }

    #[test]
    fn dates_in_spreadsheet_spellings() {
        let expected = NaiveDate::from_ymd_opt(1944, 5, 12);
        for text in ["1944-05-12", "1944/5/12", "1944.05.12", "1944年5月12日", "19440512", "1944-05-12 00:00:00"] {
            assert_eq!(parse_date(text), expected, "{text}");
        }
        assert_eq!(parse_date("12/05/1944"), None);
        assert_eq!(parse_date("1944-13-01"), None);
    }

    #[test]
    fn words_and_codes_both_parse() {
        assert_eq!(word("男", &GENDER_WORDS, Gender::parse), Some(Gender::Male));
        assert_eq!(word("Female", &GENDER_WORDS, Gender::parse), Some(Gender::Female));
        assert_eq!(word("与家人同住", &LIVING_WORDS, LivingArrangement::parse), Some(LivingArrangement::WithFamily));
        assert_eq!(word("低保", &ECONOMIC_WORDS, EconomicStatus::parse), Some(EconomicStatus::Subsistence));
        assert_eq!(word("富裕", &ECONOMIC_WORDS, EconomicStatus::parse), None);
    }

    #[test]
    fn encodings_are_detected() {
        let detect = |bytes: &[u8]| detect_encoding(&mut &bytes[..]).ok().map(|(e, bom)| (e.name(), bom));
        assert_eq!(detect(b"\xEF\xBB\xBFname\n"), Some(("UTF-8", true)));
        assert_eq!(detect("姓名,性别\n王,女\n".as_bytes()), Some(("UTF-8", false)));
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,性别\n王,女\n");
        assert_eq!(detect(&gbk), Some(("GBK", false)));
        assert_eq!(detect(b""), Some(("UTF-8", false)));
        // A multi-byte character cut by the 64 KiB chunk boundary is still UTF-8.
        let mut long = vec![b'a'; 64 * 1024 - 1];
        long.extend_from_slice("姓".as_bytes());
        assert_eq!(detect(&long), Some(("UTF-8", false)));
    }

    #[test]
    fn contact_errors_name_the_columns() {
        assert_eq!(column_name("contacts[0].phone"), "contact_phone");
        assert_eq!(column_name("birth_date"), "birth_date");
    }
}
