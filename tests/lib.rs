//! The black-box test harness: starts the real `Application` on port 0 against a
//! fresh database — a temporary SQLite file, or a new PostgreSQL database created (and
//! dropped afterwards) on the server `TEST_DATABASE_URL` points at.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use linli::Application;
use linli::auth::Role;
use linli::auth::accounts::{self, NewUser};
use linli::clock::{ManualClock, SharedClock, SystemClock};
use linli::config::{DatabaseUrl, Secret, Settings};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set, Statement};
use serde_json::Value;

pub const PASSWORD: &str = "correct-horse-9";

/// The ID number and phone of every senior [`TestApp::create_senior`] makes.
pub const PLANTED_ID_NUMBER: &str = "12010119450307002X";
pub const PLANTED_PHONE: &str = "13800138000";
/// More planted personal data, for tests that go through the API.
pub const PLANTED_ID_NUMBER_2: &str = "120101194103157316";
pub const PLANTED_PHONE_2: &str = "13907310042";

/// Every test process's servers log, at debug for our own code and the database
/// layer (whose statements must never carry personal data), as JSON lines to
/// `target/test-logs/` (or `LINLI_TEST_LOG_DIR`): the privacy scan reads a whole
/// run's logs there afterwards.
fn capture_logs() {
    log_file();
}

/// This process's log file (see [`capture_logs`]), once a test app has started.
pub fn log_file() -> Option<&'static std::path::Path> {
    static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::var_os("LINLI_TEST_LOG_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs"));
        let program = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".to_owned());
        let path = dir.join(format!("{program}-{}.log", std::process::id()));
        let Ok(file) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::File::create(&path)) else {
            eprintln!("logs not captured: cannot write {}", path.display());
            return None;
        };
        let filter = tracing_subscriber::EnvFilter::new(
            "debug,sea_orm_migration=warn,actix_server=warn,tokio_cron_scheduler=warn,\
             h2=warn,hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn",
        );
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(filter)
            .with_writer(std::sync::Mutex::new(file))
            .try_init()
            .ok()
            .map(|()| path)
    })
    .as_deref()
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
///
/// The PostgreSQL run is skipped when `TEST_DATABASE_URL` is unset, unless
/// `LINLI_REQUIRE_POSTGRES=1`, which turns a missing PostgreSQL into a failure.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestApp::spawn($crate::Backend::Sqlite).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres() {
                    super::$name($crate::TestApp::spawn(backend).await).await;
                }
            }
        }
    )*};
}

/// Like [`on_both_databases!`], for tests that build their own app (a manual clock,
/// tweaked settings): each function receives the [`Backend`].
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The server URL (its database is only used to create and drop test databases).
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when configured; `None` (skip) when not and not required.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => Some(Backend::Postgres(url)),
            _ if std::env::var("LINLI_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("LINLI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL does not point at PostgreSQL")
            }
            _ => {
                eprintln!("skipped: set TEST_DATABASE_URL=postgres://... to run on PostgreSQL");
                None
            }
        }
    }
}

/// A fresh, empty database of either kind; dropped (PostgreSQL) or deleted (SQLite) on drop.
pub struct TestDatabase {
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("linli.db");
                TestDatabase {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    admin_url: None,
                    name: None,
                    _dir: dir,
                }
            }
            Backend::Postgres(server) => {
                let name = format!("linli_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(server.as_str()).await.expect("connect to TEST_DATABASE_URL");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
                admin.close().await.ok();
                let url = replace_database(server, &name);
                TestDatabase { url, admin_url: Some(server.clone()), name: Some(name), _dir: dir }
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{name}{query}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (Some(admin_url), Some(name)) = (self.admin_url.take(), self.name.take()) else { return };
        // Drop runs outside async; use a private runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db: DatabaseConnection,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub settings: Settings,
    pub state: linli::state::AppState,
    // Declared last: dropped after the app's pool is no longer needed.
    pub database: TestDatabase,
}

/// Settings for a test app on `url`: port 0, no jobs, no demo, a fixed key.
pub fn test_settings(database: &TestDatabase) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: DatabaseUrl::new(database.url.clone()),
        database_max_connections: 8,
        data_dir: database.dir().to_path_buf(),
        frontend_dir: database.dir().join("no-frontend"),
        secret_key: Some(Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned())),
        jobs_enabled: false,
        demo_on_empty: false,
        ..Settings::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, Arc::new(SystemClock), |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, clock: SharedClock, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let database = TestDatabase::create(&backend).await;
        let mut settings = test_settings(&database);
        tweak(&mut settings);
        Self::start(backend, database, settings, clock).await
    }

    /// A second server over the same database (two instances behind one load balancer).
    pub async fn another_instance(&self) -> Application {
        let settings = self.settings.clone();
        Application::build_with_clock(settings, self.state.clock.clone()).await.expect("second instance")
    }

    async fn start(backend: Backend, database: TestDatabase, settings: Settings, clock: SharedClock) -> TestApp {
        capture_logs();
        let app = Application::build_with_clock(settings.clone(), clock).await.expect("build app");
        let port = app.port();
        let db = app.db().clone();
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            db,
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            backend,
            settings,
            state,
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// GETs `path` with a bearer token and returns the JSON body, asserting success.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path).bearer_auth(token).send().await.expect("request");
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.expect("JSON body")
    }

    /// Sends `body` as JSON with a bearer token to `path` (POST).
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.post(path).bearer_auth(token).json(body).send().await.expect("request")
    }

    /// Creates a user directly (not through the API) and returns its id.
    pub async fn create_user(&self, username: &str, role: Role, communities: &[i64]) -> i64 {
        accounts::create_user(
            &self.db,
            NewUser {
                username: username.to_owned(),
                display_name: format!("Test {username}"),
                password: PASSWORD.to_owned(),
                role,
                community_ids: communities.to_vec(),
                phone: None,
            },
        )
        .await
        .expect("create user")
        .id
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post("/api/v1/auth/login")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    pub async fn token_for(&self, username: &str) -> String {
        let res = self.login(username, PASSWORD).await;
        assert_eq!(res.status(), 200, "login of {username}");
        let body: Value = res.json().await.expect("login body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Creates a user of `role` (workers get `communities`) and returns a bearer token.
    pub async fn login_as(&self, role: Role, communities: &[i64]) -> String {
        let username = format!("{}-{}", role.as_str(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        self.create_user(&username, role, communities).await;
        self.token_for(&username).await
    }

    pub async fn create_community(&self, name: &str) -> i64 {
        let now = Utc::now();
        let boundary = serde_json::json!({
            "type": "Polygon",
            "coordinates": [[[117.19, 39.11], [117.20, 39.11], [117.20, 39.12], [117.19, 39.12], [117.19, 39.11]]]
        });
        entity::communities::ActiveModel {
            name: Set(name.to_owned()),
            street: Set("劝业场街道".to_owned()),
            district: Set("和平区".to_owned()),
            boundary_geojson: Set(boundary.to_string()),
            cell_resolution: Set(9),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .expect("insert community")
        .id
    }

    /// Inserts a senior row directly (the registry API has its own tests).
    pub async fn create_senior(&self, community_id: i64, name: &str) -> i64 {
        let now = Utc::now();
        let protected = self.state.data_key.protect_id_number(PLANTED_ID_NUMBER).expect("protect");
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let cell = linli::grid::cell_of(39.115, 117.195, h3o::Resolution::Nine).expect("cell");
        entity::seniors::ActiveModel {
            community_id: Set(community_id),
            name: Set(name.to_owned()),
            gender: Set("female".to_owned()),
            birth_date: Set(chrono::NaiveDate::from_ymd_opt(1945, 3, 7).expect("date")),
            id_number_enc: Set(protected.encrypted),
            id_number_hash: Set(format!("{}{unique}", &protected.lookup_hash[..16])),
            id_number_masked: Set(protected.masked),
            phone: Set(PLANTED_PHONE.to_owned()),
            address: Set("和平区南京路1号".to_owned()),
            latitude: Set(39.115),
            longitude: Set(117.195),
            cell: Set(linli::grid::to_db(cell)),
            outside_boundary: Set(false),
            living_arrangement: Set("alone".to_owned()),
            economic_status: Set("ordinary".to_owned()),
            medical_notes: Set(serde_json::json!({})),
            status: Set("active".to_owned()),
            status_since: Set(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date")),
            flags: Set(serde_json::json!([])),
            has_bell: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .expect("insert senior")
        .id
    }

    /// Counts rows with a raw query (works on both databases).
    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("count value")
    }
}

/// A manual clock starting at a fixed instant.
pub fn manual_clock(start: DateTime<Utc>) -> Arc<ManualClock> {
    ManualClock::new(start)
}

/// Reads a response as problem+json, asserting the content type.
pub async fn problem(res: reqwest::Response) -> Value {
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json", "content type of an error");
    res.json().await.expect("problem body")
}

/// Fixtures for dispatch scenarios, made through the API as a worker would.
impl TestApp {
    /// Registers a volunteer who answers emergencies, on duty and just located at
    /// `at`; returns the responder id.
    pub async fn create_emergency_volunteer(&self, worker: &str, community: i64, name: &str, at: (f64, f64)) -> i64 {
        let user = self.create_user(name, Role::Volunteer, &[]).await;
        let token = self.token_for(name).await;
        let body = serde_json::json!({
            "user_id": user, "kind": "volunteer", "skills": ["emergency_response"],
            "home_latitude": at.0, "home_longitude": at.1,
            "community_ids": [community], "travel_mode": "ebike", "max_concurrent": 2,
        });
        let res = self.post_json("/api/v1/responders", worker, &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let id = res.json::<Value>().await.expect("responder body")["id"].as_i64().expect("responder id");
        let duty = self.post_json("/api/v1/me/duty", &token, &serde_json::json!({"on_duty": true})).await;
        assert_eq!(duty.status(), 200);
        let fix = serde_json::json!({"latitude": at.0, "longitude": at.1, "accuracy_m": 8});
        assert_eq!(self.post_json("/api/v1/me/location", &token, &fix).await.status(), 200);
        id
    }

    /// Registers an emergency bell on a senior and returns its device key.
    pub async fn create_bell(&self, worker: &str, senior: i64) -> String {
        let res = self.post_json("/api/v1/devices", worker, &serde_json::json!({"senior_id": senior})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        res.json::<Value>().await.expect("device body")["api_key"].as_str().expect("device key").to_owned()
    }
}

/// The `linli` binary next to the test executable (`cargo build -p linli` makes it).
pub fn linli_binary() -> std::path::PathBuf {
    // The test executable lives in <target>/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe.parent().and_then(|deps| deps.parent()).expect("target directory").join("linli");
    assert!(bin.exists(), "build the binary first: cargo build -p linli");
    bin
}

/// A loopback port nobody listens on right now, for a server that must come back
/// on the same address after a restart.
pub fn free_loopback_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// `linli serve` as a child process on a fixed port, over the database of a
/// [`TestApp`] (same URL, data directory and key), without the demo. Killed on drop.
pub struct LinliServe {
    pub port: u16,
    envs: Vec<(String, String)>,
    child: Option<std::process::Child>,
    /// The last lines the current child printed, for a failure message.
    output: Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

impl LinliServe {
    /// Starts the binary over `app`'s database with extra `LINLI_*` settings and
    /// waits until it says it is listening.
    pub fn start(app: &TestApp, port: u16, settings: &[(&str, &str)]) -> LinliServe {
        let mut envs = vec![
            ("DATABASE_URL".to_owned(), app.database.url.clone()),
            ("LINLI_DATA_DIR".to_owned(), app.database.dir().display().to_string()),
            ("LINLI_FRONTEND_DIR".to_owned(), app.database.dir().join("no-frontend").display().to_string()),
            ("LINLI_LOG_FORMAT".to_owned(), "json".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        if let Some(key) = &app.settings.secret_key {
            envs.push(("LINLI_SECRET_KEY".to_owned(), key.expose().clone()));
        }
        envs.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let mut serve = LinliServe { port, envs, child: None, output: Arc::default() };
        serve.restart();
        serve
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no shutdown, no flushing, no goodbye; waits until the process is gone.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL linli serve");
            child.wait().expect("reap linli serve");
        }
    }

    /// Starts the binary again on the same port and waits until it listens.
    pub fn restart(&mut self) {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        self.kill_hard();
        let mut cmd = Command::new(linli_binary());
        cmd.args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env_remove("DATABASE_URL")
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn linli serve");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        self.output.lock().expect("output lock").clear();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let (tx, output) = (tx.clone(), self.output.clone());
            // Drained for the child's whole life: a full pipe would stall it.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    {
                        let mut kept = output.lock().expect("output lock");
                        if kept.len() == 50 {
                            kept.pop_front();
                        }
                        kept.push_back(line.clone());
                    }
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("Linli is listening on") => return,
                Ok(_) => {}
                Err(_) => panic!("linli serve did not start listening:\n{}", self.last_output()),
            }
        }
    }

    /// What the current child printed last.
    pub fn last_output(&self) -> String {
        self.output.lock().expect("output lock").iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for LinliServe {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
