//! Writing a generated [`Demo`] into the database: batched multi-row inserts, one
//! transaction per phase, explicit ids (PostgreSQL sequences are moved past them at
//! the end).

use anyhow::Context;
use entity::prelude::*;
use entity::*;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, Iterable, PaginatorTrait, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
    Value,
};
use serde_json::json;

use crate::model::{Demo, IdBase, Visit};
use crate::{DemoOptions, SeedServices};

/// Bound parameters per statement: below SQLite's 32766 (and PostgreSQL's 65535).
const MAX_PARAMS: usize = 30_000;
/// Rows per statement at most.
const MAX_ROWS: usize = 500;
/// Estimated bytes per statement at most on PostgreSQL (see [`insert`]).
const PG_STATEMENT_BYTES: usize = 6 * 1024;

pub async fn is_empty(db: &DatabaseConnection) -> anyhow::Result<bool> {
    let users = Users::find().count(db).await.context("counting users")?;
    let communities = Communities::find().count(db).await.context("counting communities")?;
    Ok(users == 0 && communities == 0)
}

async fn max_id(db: &DatabaseConnection, table: &'static str) -> anyhow::Result<i64> {
    let stmt = Query::select().expr_as(Func::max(Expr::col("id")), "m").from(table).to_owned();
    let row = db.query_one(&stmt).await.with_context(|| format!("reading the highest id of {table}"))?;
    Ok(row.and_then(|r| r.try_get::<Option<i64>>("", "m").ok().flatten()).unwrap_or(0))
}

/// The tables with an `id` sequence that the seed writes, in insert order.
const ID_TABLES: [&str; 17] = [
    "users",
    "communities",
    "stations",
    "seniors",
    "assessments",
    "tier_changes",
    "contacts",
    "consents",
    "responders",
    "responder_shifts",
    "responder_absences",
    "devices",
    "service_plans",
    "tasks",
    "task_offers",
    "task_events",
    "alarms",
];

/// The highest id per table, so generated ids follow whatever is already there.
pub async fn id_base(db: &DatabaseConnection) -> anyhow::Result<IdBase> {
    Ok(IdBase {
        users: max_id(db, "users").await?,
        communities: max_id(db, "communities").await?,
        stations: max_id(db, "stations").await?,
        seniors: max_id(db, "seniors").await?,
        assessments: max_id(db, "assessments").await?,
        tier_changes: max_id(db, "tier_changes").await?,
        contacts: max_id(db, "contacts").await?,
        consents: max_id(db, "consents").await?,
        responders: max_id(db, "responders").await?,
        shifts: max_id(db, "responder_shifts").await?,
        absences: max_id(db, "responder_absences").await?,
        devices: max_id(db, "devices").await?,
        plans: max_id(db, "service_plans").await?,
        tasks: max_id(db, "tasks").await?,
        offers: max_id(db, "task_offers").await?,
        events: max_id(db, "task_events").await?,
        alarms: max_id(db, "alarms").await?,
    })
}

/// How to write: with a progress bar on stderr, and whether PostgreSQL statements
/// may be large (over a Unix socket there is no delayed ACK to wait for).
#[derive(Debug, Clone, Copy, Default)]
pub struct Writing {
    pub progress: bool,
    pub large_statements: bool,
}

struct Progress {
    bar: ProgressBar,
    /// The byte budget of one PostgreSQL statement, if any.
    pg_statement_bytes: Option<usize>,
}

impl Progress {
    fn new(how: Writing, total: u64) -> Self {
        let enabled = how.progress;
        let bar = ProgressBar::with_draw_target(
            Some(total),
            if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
        );
        if let Ok(style) = ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos:>7}/{len:7} rows ({elapsed})") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar, pg_statement_bytes: (!how.large_statements).then_some(PG_STATEMENT_BYTES) }
    }

    fn phase(&self, name: &'static str) {
        self.bar.set_message(name);
    }
}

async fn begin(db: &DatabaseConnection) -> anyhow::Result<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await.context("starting a seed transaction")
}

/// Roughly how many bytes a value takes in a PostgreSQL bind message.
fn wire_size(value: Option<Value>) -> usize {
    4 + match value {
        Some(Value::String(Some(s))) => s.len(),
        Some(Value::Json(Some(j))) => j.to_string().len() + 1,
        _ => 8,
    }
}

/// Inserts rows in multi-row statements that stay under the parameter limits.
///
/// On PostgreSQL statements are also kept small in bytes: sqlx 0.9.0 no longer sets
/// TCP_NODELAY, and a statement of more than about 10 KB then waits ~40 ms for a
/// delayed ACK, which made big batches several times slower than small ones.
async fn insert<A, M>(txn: &DatabaseTransaction, what: &str, rows: Vec<M>, progress: &Progress) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A>,
{
    let started = std::time::Instant::now();
    let count = rows.len();
    let columns: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let max_rows = (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_ROWS);
    let byte_budget =
        if txn.get_database_backend() == DbBackend::Postgres { progress.pg_statement_bytes } else { None };
    let mut rows = rows.into_iter().map(IntoActiveModel::into_active_model).peekable();
    while rows.peek().is_some() {
        let mut chunk: Vec<A> = Vec::new();
        let mut bytes = 0;
        while chunk.len() < max_rows {
            let Some(row) = rows.peek() else { break };
            if let Some(budget) = byte_budget {
                let size: usize = columns.iter().map(|c| wire_size(row.get(*c).into_value())).sum();
                if !chunk.is_empty() && bytes + size > budget {
                    break;
                }
                bytes += size;
            }
            chunk.extend(rows.next());
        }
        let n = chunk.len() as u64;
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await
            .with_context(|| format!("inserting {what}"))?;
        progress.bar.inc(n);
    }
    tracing::debug!(table = what, rows = count, elapsed_ms = started.elapsed().as_millis() as u64, "seeded");
    Ok(())
}

fn json_strs(items: &[&str]) -> serde_json::Value {
    json!(items)
}

fn visit_parts(v: &Option<Visit>) -> (Option<chrono::DateTime<chrono::Utc>>, Option<f64>, Option<f64>, Option<f64>) {
    match v {
        Some(v) => (Some(v.at), Some(v.latitude), Some(v.longitude), Some(v.distance_m)),
        None => (None, None, None, None),
    }
}

pub async fn write(
    db: &DatabaseConnection,
    demo: &Demo,
    opts: &DemoOptions,
    services: &dyn SeedServices,
    how: Writing,
) -> anyhow::Result<u64> {
    let total = demo.users.len()
        + demo.communities.len()
        + demo.communities.iter().map(|c| c.cells.len()).sum::<usize>()
        + demo.user_communities.len()
        + demo.stations.len()
        + demo.seniors.len() * 3
        + demo.contacts.len()
        + demo.consents.len()
        + demo.responders.len()
        + demo.responders.iter().map(|r| r.communities.len()).sum::<usize>()
        + demo.shifts.len()
        + demo.absences.len()
        + demo.devices.len()
        + demo.plans.len()
        + demo.tasks.len()
        + demo.offers.len()
        + demo.events.len()
        + demo.alarms.len();
    let p = Progress::new(how, total as u64);

    // Phase 1: accounts and places.
    p.phase("accounts and places");
    let password_hash = services.hash_password(crate::workforce::DEMO_PASSWORD).context("hashing the demo password")?;
    let txn = begin(db).await?;
    let users: Vec<users::Model> = demo
        .users
        .iter()
        .map(|u| users::Model {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            password_hash: password_hash.clone(),
            role: u.role.to_owned(),
            phone: u.phone.clone(),
            is_active: true,
            password_changed_at: u.created_at,
            created_at: u.created_at,
            updated_at: u.created_at,
        })
        .collect();
    insert(&txn, "users", users, &p).await?;
    let created = demo.users.first().map(|u| u.created_at).unwrap_or_default();
    let communities: Vec<communities::Model> = demo
        .communities
        .iter()
        .zip(&demo.community_heads)
        .map(|(c, head)| communities::Model {
            id: c.id,
            name: c.name.to_owned(),
            street: c.street.to_owned(),
            district: c.district.to_owned(),
            boundary_geojson: c.boundary_geojson.clone(),
            cell_resolution: u8::from(opts.h3_resolution) as i16,
            head_user_id: Some(*head),
            created_at: created,
            updated_at: created,
        })
        .collect();
    insert(&txn, "communities", communities, &p).await?;
    let cells: Vec<community_cells::Model> = demo
        .communities
        .iter()
        .flat_map(|c| c.cells.iter().map(|cell| community_cells::Model { community_id: c.id, cell: *cell }))
        .collect();
    insert(&txn, "community cells", cells, &p).await?;
    let scopes: Vec<user_communities::Model> = demo
        .user_communities
        .iter()
        .map(|(user_id, community_id)| user_communities::Model { user_id: *user_id, community_id: *community_id })
        .collect();
    insert(&txn, "user communities", scopes, &p).await?;
    let stations: Vec<stations::Model> = demo
        .stations
        .iter()
        .map(|s| stations::Model {
            id: s.id,
            community_id: s.community_id,
            kind: s.kind.to_owned(),
            name: s.name.clone(),
            address: s.address.clone(),
            latitude: s.latitude,
            longitude: s.longitude,
            cell: s.cell,
            meal_capacity: s.meal_capacity,
            created_at: s.created_at,
        })
        .collect();
    insert(&txn, "stations", stations, &p).await?;
    txn.commit().await.context("committing accounts and places")?;

    // Phase 2: seniors with assessments, tiers, contacts and consents.
    p.phase("seniors");
    let mut seniors = Vec::with_capacity(demo.seniors.len());
    let mut assessments = Vec::with_capacity(demo.seniors.len());
    let mut tiers = Vec::with_capacity(demo.seniors.len());
    for s in &demo.seniors {
        let protected = services.protect_id_number(&s.id_number).context("protecting an ID number")?;
        let d = &s.decision;
        seniors.push(seniors::Model {
            id: s.id,
            community_id: s.community_id,
            name: s.name.clone(),
            gender: s.gender.as_str().to_owned(),
            birth_date: s.birth_date,
            id_number_enc: protected.encrypted,
            id_number_hash: protected.lookup_hash,
            id_number_masked: protected.masked,
            phone: s.phone.clone(),
            address: s.address.clone(),
            latitude: s.latitude,
            longitude: s.longitude,
            cell: s.cell,
            outside_boundary: s.outside_boundary,
            living_arrangement: s.living.as_str().to_owned(),
            economic_status: s.economic.as_str().to_owned(),
            medical_notes: s.medical_notes.clone(),
            status: s.status.to_owned(),
            status_since: s.status_since,
            tier: Some(d.tier.as_str().to_owned()),
            flags: json_strs(&d.flags),
            tier_rules_version: Some(crate::tier::RULES_VERSION.to_owned()),
            has_bell: s.has_bell,
            reassessment_due_on: Some(s.reassessment_due_on),
            created_by: s.created_by,
            created_at: s.created_at,
            updated_at: s.assessment.assessed_at,
            version: 1,
        });
        let a = &s.assessment;
        let b = a.barthel.0.map(i16::from);
        assessments.push(assessments::Model {
            id: a.id,
            senior_id: s.id,
            assessor_id: a.assessor_id,
            assessed_at: a.assessed_at,
            reason: "initial".to_owned(),
            feeding: b[0],
            bathing: b[1],
            grooming: b[2],
            dressing: b[3],
            bowels: b[4],
            bladder: b[5],
            toilet_use: b[6],
            transfers: b[7],
            mobility: b[8],
            stairs: b[9],
            barthel_total: i16::from(a.barthel.total()),
            dependency_level: a.dependency.as_str().to_owned(),
            spmsq_errors: i16::from(a.spmsq_errors),
            cognition_level: a.cognition.as_str().to_owned(),
            notes: a.notes.clone(),
        });
        tiers.push(tier_changes::Model {
            id: s.tier_change_id,
            senior_id: s.id,
            from_tier: None,
            to_tier: d.tier.as_str().to_owned(),
            flags: json_strs(&d.flags),
            rule: d.rule.to_owned(),
            rules_version: crate::tier::RULES_VERSION.to_owned(),
            reasons: json!(d.reasons),
            changed_at: a.assessed_at,
            actor_user_id: a.assessor_id,
        });
    }
    let txn = begin(db).await?;
    insert(&txn, "seniors", seniors, &p).await?;
    insert(&txn, "assessments", assessments, &p).await?;
    insert(&txn, "tier changes", tiers, &p).await?;
    let contacts: Vec<contacts::Model> = demo
        .contacts
        .iter()
        .map(|c| contacts::Model {
            id: c.id,
            senior_id: c.senior_id,
            name: c.name.clone(),
            relation: c.relation.to_owned(),
            phone: c.phone.clone(),
            call_order: c.call_order,
            is_keyholder: c.is_keyholder,
            created_at: c.created_at,
        })
        .collect();
    insert(&txn, "contacts", contacts, &p).await?;
    let consents: Vec<consents::Model> = demo
        .consents
        .iter()
        .map(|c| consents::Model {
            id: c.id,
            senior_id: c.senior_id,
            scope: c.scope.to_owned(),
            granted: c.granted,
            granted_by: c.granted_by.to_owned(),
            guardian_name: c.guardian_name.clone(),
            recorded_by: c.recorded_by,
            recorded_at: c.recorded_at,
        })
        .collect();
    insert(&txn, "consents", consents, &p).await?;
    txn.commit().await.context("committing seniors")?;

    // Phase 3: responders, devices and plans.
    p.phase("workforce and plans");
    let txn = begin(db).await?;
    let responders: Vec<responders::Model> = demo
        .responders
        .iter()
        .map(|r| responders::Model {
            id: r.id,
            user_id: r.user_id,
            kind: r.kind.to_owned(),
            skills: json_strs(&r.skills),
            nursing_licence: r.nursing_licence.clone(),
            licence_expires_on: r.licence_expires_on,
            home_latitude: r.home_latitude,
            home_longitude: r.home_longitude,
            home_cell: r.home_cell,
            travel_mode: r.travel_mode.to_owned(),
            max_concurrent: r.max_concurrent,
            on_duty: r.on_duty,
            last_latitude: r.last.as_ref().map(|l| l.latitude),
            last_longitude: r.last.as_ref().map(|l| l.longitude),
            last_accuracy_m: r.last.as_ref().map(|l| l.accuracy_m),
            last_cell: r.last.as_ref().map(|l| l.cell),
            last_seen_at: r.last.as_ref().map(|l| l.seen_at),
            created_at: r.created_at,
            updated_at: r.last.as_ref().map_or(r.created_at, |l| l.seen_at),
            version: 1,
        })
        .collect();
    insert(&txn, "responders", responders, &p).await?;
    let served: Vec<responder_communities::Model> = demo
        .responders
        .iter()
        .flat_map(|r| {
            r.communities.iter().map(|c| responder_communities::Model { responder_id: r.id, community_id: *c })
        })
        .collect();
    insert(&txn, "responder communities", served, &p).await?;
    let shifts: Vec<responder_shifts::Model> = demo
        .shifts
        .iter()
        .map(|s| responder_shifts::Model {
            id: s.id,
            responder_id: s.responder_id,
            weekday: s.weekday,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        })
        .collect();
    insert(&txn, "responder shifts", shifts, &p).await?;
    let absences: Vec<responder_absences::Model> = demo
        .absences
        .iter()
        .map(|a| responder_absences::Model {
            id: a.id,
            responder_id: a.responder_id,
            starts_on: a.starts_on,
            ends_on: a.ends_on,
            reason: a.reason.to_owned(),
            note: a.note.clone(),
        })
        .collect();
    insert(&txn, "responder absences", absences, &p).await?;
    let devices: Vec<devices::Model> = demo
        .devices
        .iter()
        .map(|d| devices::Model {
            id: d.id,
            senior_id: d.senior_id,
            label: d.label.clone(),
            api_key_hash: services.hash_api_key(&d.api_key),
            api_key_prefix: d.api_key.chars().take(8).collect(),
            created_by: d.created_by,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            revoked_at: None,
        })
        .collect();
    insert(&txn, "devices", devices, &p).await?;
    let plans: Vec<service_plans::Model> = demo
        .plans
        .iter()
        .map(|pl| service_plans::Model {
            id: pl.id,
            senior_id: pl.senior_id,
            kind: pl.kind.to_owned(),
            weekdays: json!(pl.weekdays),
            window_start: pl.window_start,
            window_end: pl.window_end,
            starts_on: pl.starts_on,
            ends_on: pl.ends_on,
            fee_fen: pl.fee_fen,
            price_fen: pl.price_fen,
            station_id: pl.station_id,
            details: pl.details.clone(),
            status: pl.status.to_owned(),
            suspended_from: pl.suspended_from,
            suspended_until: pl.suspended_until,
            created_by: pl.created_by,
            created_at: pl.created_at,
            updated_at: pl.created_at,
            version: 1,
        })
        .collect();
    insert(&txn, "service plans", plans, &p).await?;
    txn.commit().await.context("committing the workforce and plans")?;

    // Phase 4: history.
    p.phase("service history");
    let txn = begin(db).await?;
    let tasks: Vec<tasks::Model> = demo
        .tasks
        .iter()
        .map(|t| {
            let (check_in_at, check_in_latitude, check_in_longitude, check_in_distance_m) = visit_parts(&t.check_in);
            let (check_out_at, check_out_latitude, check_out_longitude, check_out_distance_m) =
                visit_parts(&t.check_out);
            tasks::Model {
                id: t.id,
                kind: t.kind.to_owned(),
                senior_id: t.senior_id,
                community_id: t.community_id,
                plan_id: t.plan_id,
                station_id: t.station_id,
                service_date: t.service_date,
                window_start: t.window_start,
                window_end: t.window_end,
                priority: t.priority,
                status: t.status.to_owned(),
                assignee_id: t.assignee_id,
                escalation_level: t.escalation_level,
                next_deadline_at: None,
                check_in_at,
                check_in_latitude,
                check_in_longitude,
                check_in_distance_m,
                check_out_at,
                check_out_latitude,
                check_out_longitude,
                check_out_distance_m,
                visit_flagged: t.visit_flagged,
                outcome: t.outcome.map(str::to_owned),
                failure_reason: t.failure_reason.map(str::to_owned),
                notes: t.notes.clone(),
                fee_fen: t.fee_fen,
                price_fen: t.price_fen,
                details: t.details.clone(),
                created_by: t.created_by,
                created_at: t.created_at,
                updated_at: t.updated_at,
                completed_at: t.completed_at,
                version: t.version,
                confirmed_by: None,
                confirmed_at: None,
                confirmation_source: None,
            }
        })
        .collect();
    insert(&txn, "tasks", tasks, &p).await?;
    let offers: Vec<task_offers::Model> = demo
        .offers
        .iter()
        .map(|o| task_offers::Model {
            id: o.id,
            task_id: o.task_id,
            responder_id: o.responder_id,
            status: o.status.to_owned(),
            round: o.round,
            distance_m: o.distance_m,
            offered_at: o.offered_at,
            responded_at: o.responded_at,
        })
        .collect();
    insert(&txn, "task offers", offers, &p).await?;
    let events: Vec<task_events::Model> = demo
        .events
        .iter()
        .map(|e| task_events::Model {
            id: e.id,
            task_id: e.task_id,
            kind: e.kind.to_owned(),
            from_status: e.from_status.map(str::to_owned),
            to_status: e.to_status.map(str::to_owned),
            actor_user_id: e.actor_user_id,
            actor_kind: e.actor_kind.to_owned(),
            latitude: e.latitude,
            longitude: e.longitude,
            details: e.details.clone(),
            at: e.at,
        })
        .collect();
    insert(&txn, "task events", events, &p).await?;
    let alarms: Vec<alarms::Model> = demo
        .alarms
        .iter()
        .map(|a| alarms::Model {
            id: a.id,
            device_id: a.device_id,
            senior_id: a.senior_id,
            community_id: a.community_id,
            event_id: a.event_id.clone(),
            request_hash: a.request_hash.clone(),
            task_id: a.task_id,
            occurred_at: a.occurred_at,
            received_at: a.received_at,
            stage: a.stage.to_owned(),
            accepted_at: a.accepted_at,
            arrived_at: a.arrived_at,
            family_notified_at: a.family_notified_at,
            call_120_flagged_at: a.call_120_flagged_at,
            outcome: a.outcome.map(str::to_owned),
            closed_at: a.closed_at,
        })
        .collect();
    insert(&txn, "alarms", alarms, &p).await?;
    txn.commit().await.context("committing the service history")?;

    reset_sequences(db).await?;
    p.bar.finish_with_message("demo district seeded");
    Ok(total as u64)
}

/// Explicit ids leave PostgreSQL's sequences behind; move each past its table's
/// highest id. (SQLite picks max(id) + 1 by itself.)
async fn reset_sequences(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in ID_TABLES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM \"{table}\")) \
             WHERE EXISTS (SELECT 1 FROM \"{table}\")"
        );
        db.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .with_context(|| format!("resetting the id sequence of {table}"))?;
    }
    Ok(())
}
