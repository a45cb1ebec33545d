//! Linli (邻里): community elderly care coordination.
//!
//! The library builds an [`Application`] from [`config::Settings`]; the `linli`
//! binary and the black-box tests run the very same thing.

pub mod assessment;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod clock;
pub mod config;
pub mod coverage;
pub mod crypto;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod grid;
pub mod http;
pub mod jobs;
pub mod push;
pub mod registry;
pub mod routing;
pub mod seeding;
pub mod segmentation;
pub mod state;
pub mod surveys;
pub mod telemetry;
pub mod timebank;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::crypto::DataKey;
use crate::state::AppState;

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Connects, migrates and binds using the system clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        // Install the metrics recorder before anything counts: counts made earlier are lost.
        telemetry::metrics_handle();
        let db = db::connect(&settings).await?;
        let rules = Arc::new(load_rules(&settings)?);
        let timebank = Arc::new(load_timebank_rules(&settings)?);
        db::migrate(&db).await?;
        let data_key = DataKey::load(&settings)?;
        let responders = Arc::new(dispatch::ResponderIndex::new(
            dispatch::responders::load_all(&db).await.map_err(|e| anyhow::anyhow!("loading responders: {e}"))?,
        ));
        tracing::info!(responders = responders.len(), "responder index built");
        let sms = dispatch::notify::sms_sender(settings.dispatch.sms_webhook_url.as_deref());
        let push = match push::PushKeys::load_or_create(&settings) {
            Ok(keys) => Some(Arc::new(keys)),
            Err(e) => {
                tracing::error!(error = %e, "web push disabled: no usable VAPID key");
                None
            }
        };
        let push_client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the push client")?;
        let report_turns = match settings.coverage.max_concurrent_reports {
            0 => (settings.database_max_connections / 4).max(1),
            n => n,
        } as usize;
        let state = AppState {
            db,
            settings: Arc::new(settings),
            data_key,
            clock,
            rules,
            timebank,
            responders,
            events: Arc::new(tokio::sync::Notify::new()),
            sms,
            push,
            push_client,
            report_cache: Arc::default(),
            instance: jobs::instance_name().into(),
            report_turns: Arc::new(tokio::sync::Semaphore::new(report_turns)),
        };
        let outcome = registry::tiering::resegment_stale(&state, false)
            .await
            .map_err(|e| anyhow::anyhow!("re-segmenting under rules {}: {e}", state.rules.version()))?;
        if outcome.seniors > 0 {
            tracing::info!(
                rules = state.rules.version(),
                seniors = outcome.seniors,
                moved = outcome.moved_total(),
                "re-segmented seniors decided under other rules"
            );
        }
        Self::from_state(state)
    }

    /// Binds an app over an existing state (tests and multi-instance runs).
    pub fn from_state(state: AppState) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(state.settings.listen).with_context(|| format!("binding {}", state.settings.listen))?;
        let port = listener.local_addr()?.port();
        let server = serve(listener, state.clone())?;
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Re-reads every responder into the index, after rows were written behind the
    /// application's back (the demo seed).
    pub async fn reload_responders(&self) -> anyhow::Result<usize> {
        let entries = dispatch::responders::load_all(&self.state.db)
            .await
            .map_err(|e| anyhow::anyhow!("loading responders: {e}"))?;
        let n = entries.len();
        self.state.responders.replace_all(entries);
        Ok(n)
    }

    /// Runs until the server stops (Ctrl-C / SIGTERM), with the scheduled jobs when enabled.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (scheduler, sweeper) = if self.state.settings.jobs_enabled {
            // Catching up may take a while on a large district; it must not hold up serving.
            let state = self.state.clone();
            tokio::spawn(async move { jobs::catch_up(&state).await });
            (
                Some(jobs::start(self.state.clone()).await.context("starting the job scheduler")?),
                Some((dispatch::sweep::spawn(self.state.clone()), push::spawn(self.state.clone()))),
            )
        } else {
            (None, None)
        };
        let result = self.server.await.context("HTTP server");
        if let Some((sweeper, pusher)) = sweeper {
            sweeper.abort();
            pusher.abort();
        }
        if let Some(mut scheduler) = scheduler {
            scheduler.shutdown().await.ok();
        }
        result
    }
}

/// The rules file from the settings, or the shipped defaults. A bad file stops
/// start-up with its line and column.
pub fn load_rules(settings: &Settings) -> anyhow::Result<segmentation::Rules> {
    match &settings.rules_file {
        None => Ok(segmentation::Rules::defaults()),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            segmentation::Rules::parse(&text).map_err(|e| anyhow::anyhow!("rules file {}: {e}", path.display()))
        }
    }
}

/// The time-bank rules file from the settings, or the shipped defaults.
pub fn load_timebank_rules(settings: &Settings) -> anyhow::Result<timebank::Rules> {
    match &settings.timebank_rules_file {
        None => Ok(timebank::Rules::defaults()),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            timebank::Rules::parse(&text).map_err(|e| anyhow::anyhow!("time-bank rules file {}: {e}", path.display()))
        }
    }
}

fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let frontend_dir = state.settings.frontend_dir.clone();
    let has_frontend = frontend_dir.join("index.html").is_file();
    if !has_frontend {
        tracing::warn!(dir = %frontend_dir.display(), "frontend not built; serving the API only");
    }
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        let (app, api) = http::register(
            App::new()
                .into_utoipa_app()
                .app_data(data.clone())
                .app_data(web::PathConfig::default().error_handler(error::path_error)),
        )
        .split_for_parts();
        let app = app
            .service(web::redirect("/api/docs", "/api/docs/"))
            .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", http::complete(api)))
            .default_service(web::to(http::not_found))
            .wrap(Compress::default())
            .wrap(from_fn(telemetry::observe));
        if has_frontend {
            app.service(http::frontend(&frontend_dir))
        } else {
            app.service(web::resource("/").to(http::no_frontend))
        }
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(10)
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.stop(true).await;
    });
    Ok(server)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
