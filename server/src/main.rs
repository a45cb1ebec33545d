//! The `linli` command: serve, migrate, seed, manage users and keys.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use linli::auth::Role;
use linli::auth::accounts::{self, NewUser};
use linli::config::Settings;
use linli::{Application, db, telemetry};
use migration::{Migrator, MigratorTrait};

#[derive(Parser)]
#[command(name = "linli", version, about = "Linli (邻里): community elderly care coordination")]
struct Cli {
    /// Settings file (default: ./linli.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the API, the web app and the scheduled jobs.
    Serve(ServeArgs),
    /// Apply, roll back or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Fill the database with generated data.
    Seed {
        #[command(subcommand)]
        what: SeedWhat,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Web push (VAPID) keys.
    Vapid {
        #[command(subcommand)]
        action: VapidAction,
    },
    /// Show settings.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Care segmentation rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Import records from a spreadsheet, as an admin: all rows or none.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Seniors from a CSV (UTF-8 or GBK) or XLSX file with a header row.
    Seniors {
        file: PathBuf,
        /// Check every row and store nothing.
        #[arg(long)]
        dry_run: bool,
        /// The community of rows that leave community_id (社区ID) empty.
        #[arg(long, value_name = "ID")]
        community_default: Option<i64>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (overrides LINLI_LISTEN and the settings file).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Do not seed the demo district into an empty database.
    #[arg(long)]
    no_demo: bool,
}

#[derive(Subcommand, Clone, Copy)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back the most recent migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum SeedWhat {
    /// The demo street: communities, ~3,000 seniors, responders and 60 days of history.
    Demo {
        /// Random seed; the same seed gives the same district.
        #[arg(long, default_value_t = 20261123)]
        seed: u64,
        /// Number of seniors.
        #[arg(long, default_value_t = 3000)]
        seniors: usize,
        /// Days of history before today.
        #[arg(long, default_value_t = 60)]
        days: u32,
        /// The day the history ends before (YYYY-MM-DD; default: today in the district's time zone).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Seed even when the database already holds data.
        #[arg(long)]
        force: bool,
    },
    /// A city for benchmarks: the demo district copied over a grid of districts of
    /// 3,000 seniors each, written one district at a time with a progress bar.
    Scale {
        /// Number of seniors in the whole city.
        #[arg(long, default_value_t = 100_000)]
        seniors: usize,
        /// Caregivers and volunteers in the whole city.
        #[arg(long, default_value_t = 5_000)]
        responders: usize,
        /// Days of history before today (about 4 tasks per senior per 60 days).
        #[arg(long, default_value_t = 60)]
        days: u32,
        #[arg(long, default_value_t = 20261123)]
        seed: u64,
        /// The day the history ends before (YYYY-MM-DD; default: today in the district's time zone).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Seed even when the database already holds data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user account.
    Create {
        #[arg(long)]
        username: String,
        /// admin, bureau, worker, caregiver or volunteer.
        #[arg(long)]
        role: Role,
        /// Community a worker serves (repeat for several).
        #[arg(long = "community", value_name = "ID")]
        communities: Vec<i64>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum VapidAction {
    /// Generate a VAPID key pair into <data_dir>/vapid.pem (mode 0600) and print the public key.
    Generate {
        /// Replace an existing key file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// Check a rules file; print its version, or the line and column of the first mistake.
    Check { file: PathBuf },
    /// Re-segment every senior under the rules in force (the settings' rules_file or the
    /// shipped defaults) and report how many moved between tiers.
    Apply,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the effective settings, secrets redacted.
    Print,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                settings.listen = listen;
            }
            if args.no_demo {
                settings.demo_on_empty = false;
            }
            let demo = settings.demo_on_empty;
            let app = Application::build(settings).await?;
            if demo && linli_seed::is_empty(app.db()).await? {
                tracing::info!("empty database: seeding the demo district (use --no-demo to skip)");
                let summary = seed_demo(&app, demo_options(&app.state().settings, 20261123, 3000, 60, None)).await?;
                print_logins(&summary);
            }
            let url = format!("http://{}:{}", app.state().settings.listen.ip(), app.port());
            tracing::info!(%url, "Linli is listening");
            println!("Linli is listening on {url}");
            app.run_until_stopped().await
        }
        Command::Migrate { action } => {
            let db = db::connect(&settings).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => {
                    Migrator::up(&db, None).await?;
                    println!("migrations applied");
                }
                MigrateAction::Down => {
                    Migrator::down(&db, Some(1)).await?;
                    println!("rolled back one migration");
                }
                MigrateAction::Status => {
                    let applied: Vec<String> =
                        Migrator::get_applied_migrations(&db).await?.iter().map(|m| m.name().to_owned()).collect();
                    for m in Migrator::migrations() {
                        let state = if applied.iter().any(|a| a == m.name()) { "applied" } else { "pending" };
                        println!("{state:8} {}", m.name());
                    }
                }
            }
            Ok(())
        }
        Command::Seed { what: SeedWhat::Demo { seed, seniors, days, today, force } } => {
            settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            let app = Application::build(settings).await?;
            if !force && !linli_seed::is_empty(app.db()).await? {
                bail!("the database already holds data; use --force to seed anyway");
            }
            let summary = seed_demo(&app, demo_options(&app.state().settings, seed, seniors, days, today)).await?;
            print_logins(&summary);
            Ok(())
        }
        Command::Seed { what: SeedWhat::Scale { seniors, responders, days, seed, today, force } } => {
            settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            // Over a Unix socket there is no delayed ACK: large statements are fast.
            let url = settings.database_url.expose();
            let socket = url.contains("host=/") || url.contains("@%2F");
            let app = Application::build(settings).await?;
            if !force && !linli_seed::is_empty(app.db()).await? {
                bail!("the database already holds data; use --force to seed anyway");
            }
            let demo = demo_options(&app.state().settings, seed, seniors, days, today);
            let opts = linli_seed::ScaleOptions {
                seed,
                today: demo.today,
                seniors,
                responders,
                history_days: days,
                h3_resolution: demo.h3_resolution,
                large_statements: socket,
                progress: true,
            };
            let services = linli::seeding::Services::new(app.state().data_key.clone());
            let s = linli_seed::seed_scale(app.db(), &opts, &services).await?;
            eprintln!(
                "seeded a city of {} districts in {:.1} s: {} communities, {} seniors, {} responders, {} tasks, {} task events, {} alarms",
                s.tiles, s.seconds, s.communities, s.seniors, s.responders, s.tasks, s.task_events, s.alarms
            );
            eprintln!(
                "{} rows, {:.0} rows/s, peak memory {}",
                s.rows,
                s.rows_per_second(),
                s.peak_memory_mb.map_or("unknown".to_owned(), |m| format!("{m:.0} MB"))
            );
            Ok(())
        }
        Command::User {
            action: UserAction::Create { username, role, communities, name, password, password_stdin },
        } => {
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut buf = String::new();
                    std::io::stdin().read_to_string(&mut buf).context("reading the password")?;
                    buf.trim_end_matches(['\r', '\n']).to_owned()
                }
                (None, false) => bail!("give --password or --password-stdin"),
            };
            let db = db::connect(&settings).await?;
            Migrator::up(&db, None).await?;
            let user = accounts::create_user(
                &db,
                NewUser {
                    display_name: name.unwrap_or_else(|| username.clone()),
                    username,
                    password,
                    role,
                    community_ids: communities,
                    phone: None,
                },
            )
            .await
            .map_err(|e| match e {
                linli::error::ApiError::Validation(errors) => anyhow::anyhow!(
                    "{}",
                    errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
                ),
                other => anyhow::anyhow!("{}", other.problem().detail.unwrap_or_else(|| other.to_string())),
            })?;
            println!("created user {} (id {}, role {})", user.username, user.id, user.role);
            Ok(())
        }
        Command::Vapid { action: VapidAction::Generate { force } } => {
            let path = settings.data_dir.join("vapid.pem");
            let public = linli::crypto::generate_vapid(&path, force)?;
            println!("VAPID private key written to {} (mode 0600)", path.display());
            println!("public key: {public}");
            Ok(())
        }
        Command::Config { action: ConfigAction::Print } => {
            print!("{}", settings.to_redacted_toml());
            Ok(())
        }
        Command::Rules { action: RulesAction::Check { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            match linli::segmentation::Rules::parse(&text) {
                Ok(rules) => {
                    println!(
                        "{}: rules version {} is valid ({} tiers)",
                        file.display(),
                        rules.version(),
                        rules.tiers().len()
                    );
                    Ok(())
                }
                Err(e) => bail!("{}: {e}", file.display()),
            }
        }
        Command::Rules { action: RulesAction::Apply } => {
            settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            let app = Application::build(settings).await?;
            let outcome = linli::registry::tiering::resegment_stale(app.state(), true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "rules {}: {} seniors checked, {} moved between tiers",
                app.state().rules.version(),
                outcome.seniors,
                outcome.moved_total()
            );
            for ((from, to), n) in &outcome.moved {
                println!("  {from} -> {to}: {n}");
            }
            Ok(())
        }
        Command::Openapi => {
            let doc = linli::http::openapi().to_pretty_json().context("rendering the OpenAPI document")?;
            println!("{doc}");
            Ok(())
        }
        Command::Import { what: ImportWhat::Seniors { file, dry_run, community_default } } => {
            use linli::registry::import::{self, Format, ImportOptions};
            let mut source = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let format = Format::sniff(&mut source).with_context(|| format!("reading {}", file.display()))?;
            settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            let app = Application::build(settings).await?;
            let caller = linli::auth::Caller::operator();
            let bar = indicatif::ProgressBar::new_spinner().with_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos} rows read ({per_sec}, {elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let progress = bar.clone();
            let options = ImportOptions {
                dry_run,
                community_default,
                progress: Some(Arc::new(move |n| progress.set_position(n))),
            };
            let report = import::import_seniors(app.state(), &caller, source, format, options)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.problem().detail.unwrap_or_else(|| e.to_string())))?;
            bar.finish_and_clear();
            for e in &report.errors {
                println!("line {}: {}: {}", e.line, e.field, e.message);
            }
            let stored =
                if dry_run { "dry run, nothing stored".to_owned() } else { format!("{} stored", report.stored) };
            println!("{} rows, {} bad, {stored}", report.rows, report.bad_rows);
            if !report.is_clean() {
                let listed = if report.error_count > report.errors.len() as u64 { " (first ones listed)" } else { "" };
                bail!("{} problems found{listed}; nothing was stored", report.error_count);
            }
            Ok(())
        }
    }
}

fn demo_options(
    settings: &Settings,
    seed: u64,
    seniors: usize,
    days: u32,
    today: Option<chrono::NaiveDate>,
) -> linli_seed::DemoOptions {
    let today = today.unwrap_or_else(|| chrono::Utc::now().with_timezone(&settings.tz()).date_naive());
    linli_seed::DemoOptions {
        seed,
        today,
        seniors,
        history_days: days,
        h3_resolution: settings.resolution(),
        responders: None,
        tile: None,
    }
}

async fn seed_demo(app: &Application, opts: linli_seed::DemoOptions) -> anyhow::Result<linli_seed::DemoSummary> {
    let services = Arc::new(linli::seeding::Services::new(app.state().data_key.clone()));
    let started = std::time::Instant::now();
    let summary = linli_seed::seed_demo(app.db(), &opts, services.as_ref(), true).await?;
    // The demo's on-duty phones have "just reported": their seeded positions are
    // from the morning, which would leave emergencies with nobody fresh to call.
    {
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let now = linli::clock::Clock::now(app.state().clock.as_ref());
        entity::responders::Entity::update_many()
            .col_expr(entity::responders::Column::LastSeenAt, Expr::value(Some(now)))
            .filter(entity::responders::Column::OnDuty.eq(true))
            .filter(entity::responders::Column::LastLatitude.is_not_null())
            .exec(app.db())
            .await?;
    }
    app.reload_responders().await?;
    eprintln!(
        "seeded the demo district in {:.1} s: {} communities, {} seniors, {} caregivers, {} volunteers, {} tasks, {} alarms",
        started.elapsed().as_secs_f64(),
        summary.communities,
        summary.seniors,
        summary.caregivers,
        summary.volunteers,
        summary.tasks,
        summary.alarms
    );
    Ok(summary)
}

fn print_logins(summary: &linli_seed::DemoSummary) {
    println!("Demo logins (username / password):");
    for (username, role, password) in &summary.logins {
        println!("  {role:10} {username:10} / {password}");
    }
}
