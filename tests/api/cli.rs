//! The `linli` binary (built by `make test` before the tests run).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use linli_tests::{Backend, TestApp, TestDatabase};

fn linli() -> Command {
    // The test executable lives in <target>/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().unwrap();
    let bin: PathBuf = exe.parent().and_then(|deps| deps.parent()).unwrap().join("linli");
    assert!(bin.exists(), "build the binary first: cargo build -p linli");
    let mut cmd = Command::new(bin);
    cmd.env_remove("DATABASE_URL").env("LINLI_LOG_FORMAT", "json").stdin(Stdio::null());
    cmd
}

#[test]
fn config_print_redacts_secrets() {
    let out = linli()
        .args(["config", "print"])
        .env("DATABASE_URL", "postgres://linli:hunter22@db:5432/linli")
        .env("LINLI_SECRET_KEY", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=")
        .env("LINLI_H3_RESOLUTION", "8")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("hunter22"), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(text.contains("postgres://linli:[redacted]@db:5432/linli"), "{text}");
    assert!(text.contains("h3_resolution = 8"), "{text}");
    assert!(text.contains("time_zone = \"Asia/Shanghai\""), "{text}");
}

#[test]
fn a_bad_setting_stops_with_a_message_naming_it() {
    let out = linli().args(["config", "print"]).env("LINLI_TIME_ZONE", "Mars/Olympus").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("time_zone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_create_makes_an_account_that_can_log_in() {
    for backend in [Some(Backend::Sqlite), Backend::postgres()].into_iter().flatten() {
        let app = TestApp::spawn(backend).await;
        let mut child = linli()
            .args(["user", "create", "--username", "ops.admin", "--role", "admin", "--password-stdin"])
            .env("DATABASE_URL", &app.database.url)
            .env("LINLI_DATA_DIR", app.database.dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"a-strong-password\n").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(app.login("ops.admin", "a-strong-password").await.status(), 200);

        let out = linli()
            .args(["user", "create", "--username", "w1", "--role", "worker", "--password", "long-enough-1"])
            .env("DATABASE_URL", &app.database.url)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("community_ids"));
    }
}

#[test]
fn migrate_status_lists_every_migration() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let database = rt.block_on(TestDatabase::create(&Backend::Sqlite));
    let out = linli().args(["migrate", "status"]).env("DATABASE_URL", &database.url).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() >= 2 && text.lines().all(|l| l.starts_with("pending")), "{text}");
    let out = linli().args(["migrate", "up"]).env("DATABASE_URL", &database.url).output().unwrap();
    assert!(out.status.success());
    let out = linli().args(["migrate", "status"]).env("DATABASE_URL", &database.url).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.starts_with("applied")), "{text}");
}

#[test]
fn vapid_generate_writes_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = linli().args(["vapid", "generate"]).env("LINLI_DATA_DIR", dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let public = text.lines().find_map(|l| l.strip_prefix("public key: ")).unwrap();
    assert_eq!(public.len(), 87, "base64url of a 65-byte uncompressed point");
    let path = dir.path().join("vapid.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = linli().args(["vapid", "generate"]).env("LINLI_DATA_DIR", dir.path()).output().unwrap();
    assert!(!again.status.success(), "an existing key is not overwritten without --force");
}

#[test]
fn rules_check_accepts_the_defaults_and_names_the_line_of_a_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, linli::segmentation::DEFAULT_RULES).unwrap();
    let out = linli().args(["rules", "check"]).arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2026-11-1"));

    let bad = dir.path().join("bad.toml");
    let text = linli::segmentation::DEFAULT_RULES.replace("oldest_old_age = 80", "oldest_old_age = 80\nnonsense = 1");
    let line = text.lines().position(|l| l.starts_with("nonsense")).unwrap() + 1;
    std::fs::write(&bad, text).unwrap();
    let out = linli().args(["rules", "check"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("line {line}")), "{err}");
}

/// `linli serve` on an empty database seeds the demo, and dispatch sees its
/// responders at once (the index is rebuilt after the seed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_seeds_the_demo_and_dispatch_sees_its_responders() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = linli()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", format!("sqlite://{}/linli.db?mode=rwc", dir.path().display()))
        .env("LINLI_DATA_DIR", dir.path())
        .env("LINLI_FRONTEND_DIR", dir.path().join("none"))
        .env("LINLI_JOBS_ENABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let base = loop {
        let line = rx.recv_timeout(std::time::Duration::from_secs(120)).expect("linli serve printed its address");
        if let Some(at) = line.find("Linli is listening on http://") {
            let url: String = line[at + "Linli is listening on ".len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect();
            break url;
        }
    };
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "worker", "password": "linli-demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let req = client.get(format!("{base}{path}")).bearer_auth(&token).send();
        async move { req.await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let seniors = get("/api/v1/seniors?per_page=1".to_owned()).await;
    let senior = seniors["items"][0]["id"].as_i64().unwrap();
    let found = get(format!("/api/v1/seniors/{senior}/candidates?kind=meal_delivery")).await;
    let considered = found["candidates"].as_array().unwrap().len() + found["excluded"].as_array().unwrap().len();
    // On-duty demo phones have just reported: nobody is left out only for a stale position.
    let urgent = get(format!("/api/v1/seniors/{senior}/candidates?kind=emergency&radius_m=50000")).await;
    let stale_only = urgent["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["reasons"] == serde_json::json!(["stale_position"]))
        .count();
    child.kill().ok();
    child.wait().ok();
    assert!(considered > 0, "the demo's responders are in the index: {found}");
    assert_eq!(stale_only, 0, "{urgent}");
}

/// `linli seed scale` writes a city of whole districts side by side: every
/// district's names, logins and ID numbers stay unique, and it reports its pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scale_writes_a_city_of_districts_with_unique_names_and_logins() {
    for backend in [Some(Backend::Sqlite), Backend::postgres()].into_iter().flatten() {
        let name = format!("{backend:?}");
        let app = TestApp::spawn(backend).await;
        let out = linli()
            .args(["seed", "scale", "--seniors", "4500", "--responders", "40", "--days", "2", "--today", "2026-11-23"])
            .args(["--force"])
            .env("DATABASE_URL", &app.database.url)
            .env("LINLI_DATA_DIR", app.database.dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stderr.contains("seeded a city of 2 districts"), "{stderr}");
        assert!(stderr.contains("rows/s"), "{stderr}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM seniors").await, 4500, "{name}");
        assert_eq!(app.count("SELECT COUNT(DISTINCT name) AS n FROM communities").await, 16);
        assert_eq!(app.count("SELECT COUNT(DISTINCT district) AS n FROM communities").await, 2);
        // 20 asked for per district, plus each district's demo caregiver and volunteer.
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM responders").await, 44);
        assert_eq!(app.count("SELECT COUNT(DISTINCT id_number_hash) AS n FROM seniors").await, 4500);
        assert!(app.count("SELECT COUNT(*) AS n FROM tasks").await > 0);
        // The second district's staff log in with their numbered names.
        assert_eq!(app.login("worker", "linli-demo").await.status(), 200);
        assert_eq!(app.login("worker.1", "linli-demo").await.status(), 200);
    }
}
