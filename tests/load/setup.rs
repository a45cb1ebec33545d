//! What a scenario needs before the clock starts: logins, bells registered on the
//! worker's seniors, phones logged in, and the hello-world yardstick.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{Args, Call, Plan, Scenario};

pub struct Session {
    pub base: String,
    pub client: reqwest::Client,
    pub password: String,
}

impl Session {
    pub async fn new(base: &str, password: &str) -> Result<Self> {
        let client = reqwest::Client::new();
        let base = base.trim_end_matches('/').to_owned();
        client.get(format!("{base}/healthz")).send().await.with_context(|| format!("is Linli running at {base}?"))?;
        Ok(Self { base, client, password: password.to_owned() })
    }

    pub async fn login(&self, username: &str) -> Result<String> {
        let res = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": self.password}))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("logging in as {username}: {}", res.status());
        }
        let body: Value = res.json().await?;
        Ok(body["token"].as_str().context("a session token")?.to_owned())
    }

    pub async fn get(&self, token: &str, path: &str) -> Result<Value> {
        let res = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await?;
        if !res.status().is_success() {
            bail!("GET {path}: {}", res.status());
        }
        Ok(res.json().await?)
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> Result<Value> {
        let res = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await?;
        if !res.status().is_success() {
            bail!("POST {path}: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
        Ok(res.json().await?)
    }
}

/// Bells on the worker's seniors (their device keys).
async fn bells(s: &Session, worker: &str, n: usize) -> Result<Vec<Call>> {
    let mut seniors = Vec::new();
    for page in 1.. {
        let list = s.get(worker, &format!("/api/v1/seniors?status=active&per_page=100&page={page}")).await?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() || seniors.len() >= n {
            break;
        }
        seniors.extend(items.into_iter().filter_map(|x| x["id"].as_i64()));
    }
    if seniors.is_empty() {
        bail!("the worker has no active seniors");
    }
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"senior_id": seniors[i % seniors.len()], "label": format!("load {i}")});
        let device = s.post(worker, "/api/v1/devices", &body).await?;
        calls.push(Call::Alarm { key: device["api_key"].as_str().context("a device key")?.to_owned() });
    }
    Ok(calls)
}

/// Phones: responders of the worker's communities, logged in as themselves.
async fn phones(s: &Session, worker: &str, admin: &str, n: usize) -> Result<Vec<Call>> {
    let responders = s.get(worker, "/api/v1/responders").await?;
    let responders = responders.as_array().cloned().unwrap_or_default();
    let mut usernames = std::collections::HashMap::new();
    for role in ["caregiver", "volunteer"] {
        for page in 1.. {
            let users = s.get(admin, &format!("/api/v1/users?role={role}&per_page=200&page={page}")).await?;
            let items = users["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            for u in items {
                if let (Some(id), Some(name)) = (u["id"].as_i64(), u["username"].as_str()) {
                    usernames.insert(id, name.to_owned());
                }
            }
        }
    }
    let mut calls = Vec::new();
    for r in responders.iter().take(n) {
        let Some(name) = r["user_id"].as_i64().and_then(|id| usernames.get(&id)) else { continue };
        let token = s.login(name).await?;
        let at = (r["home_latitude"].as_f64().unwrap_or(39.12), r["home_longitude"].as_f64().unwrap_or(117.19));
        s.post(&token, "/api/v1/me/duty", &json!({"on_duty": true})).await?;
        calls.push(Call::Location { token, at });
    }
    if calls.is_empty() {
        bail!("no responder of the worker's communities could log in");
    }
    Ok(calls)
}

fn board(worker: &str) -> Vec<Call> {
    [
        "/api/v1/tasks?per_page=50",
        "/api/v1/tasks?status=offered&per_page=50",
        "/api/v1/tasks?kind=meal_delivery&per_page=50",
        "/api/v1/alarms?per_page=50",
    ]
    .into_iter()
    .map(|p| Call::Get { token: worker.to_owned(), path: p.to_owned() })
    .collect()
}

fn reports(bureau: &str) -> Vec<Call> {
    ["/api/v1/grid/cells?resolution=8", "/api/v1/grid/cells?resolution=9"]
        .into_iter()
        .map(|p| Call::Get { token: bureau.to_owned(), path: p.to_owned() })
        .collect()
}

fn get(token: &str, path: &str) -> Vec<Call> {
    vec![Call::Get { token: token.to_owned(), path: path.to_owned() }]
}

pub async fn plan(s: &Session, args: &Args, scenario: Scenario) -> Result<Plan> {
    let worker = s.login(&args.worker).await?;
    let admin = s.login(&args.admin).await?;
    eprintln!("setting up {scenario:?}…");
    let calls = match scenario {
        Scenario::Alarms => vec![("alarm intake".into(), bells(s, &worker, args.devices).await?, 1)],
        Scenario::Locations => vec![("location update".into(), phones(s, &worker, &admin, args.phones).await?, 1)],
        Scenario::Board => vec![("board read".into(), board(&worker), 1)],
        Scenario::Reports => vec![("report read".into(), reports(&admin), 1)],
        // The bureau's two heaviest pages, each measured on its own: the
        // city-wide map at resolution 8 and the district scorecard.
        Scenario::Coverage => {
            let bureau = s.login(&args.bureau).await?;
            vec![
                ("coverage map r8".into(), get(&bureau, "/api/v1/coverage/cells?resolution=8"), 1),
                ("scorecard".into(), get(&bureau, "/api/v1/coverage/scorecard"), 1),
            ]
        }
        // A weekday morning: phones report every 30 s, workers watch the board,
        // the bureau looks at the map now and then, and a bell rings.
        Scenario::Mixed => vec![
            ("location update".into(), phones(s, &worker, &admin, args.phones).await?, 60),
            ("board read".into(), board(&worker), 30),
            ("report read".into(), reports(&admin), 8),
            ("alarm intake".into(), bells(s, &worker, args.devices.min(20)).await?, 2),
        ],
        Scenario::Hello => unreachable!("the hello scenario needs no server"),
    };
    Ok(Plan { calls, hello: None })
}

/// An actix-web handler that only says hello, on a loopback port of its own thread.
pub async fn hello_server() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        let run = actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(|| {
                actix_web::App::new().route("/", actix_web::web::get().to(|| async { "hello" }))
            })
            .listen(listener)?
            .run()
            .await
        });
        if let Err(e) = run {
            eprintln!("hello server: {e}");
        }
    });
    Ok(format!("http://{addr}/"))
}
