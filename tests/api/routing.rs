//! `POST /api/v1/routing/solve` on a Solomon instance: every customer served once,
//! inside its window, within capacity, close to the best-known distance.

use linli::auth::Role;
use linli_tests::{Backend, TestApp, problem};
use serde_json::{Value, json};

fn solomon(name: &str) -> (Value, f64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/solomon");
    let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
    let best: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("best_known.json")).unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let vehicles_at = lines.iter().position(|l| l.trim().starts_with("NUMBER")).unwrap() + 1;
    let fleet: Vec<u32> = lines[vehicles_at].split_whitespace().map(|v| v.parse().unwrap()).collect();
    let rows: Vec<Vec<f64>> = lines
        .iter()
        .map(|l| l.split_whitespace().filter_map(|v| v.parse::<f64>().ok()).collect::<Vec<_>>())
        .filter(|r| r.len() == 7)
        .collect();
    let depot = &rows[0];
    let stops: Vec<Value> = rows[1..]
        .iter()
        .map(|r| {
            json!({"id": format!("{}", r[0]), "x": r[1], "y": r[2], "demand": r[3] as u32, "window_start": r[4],
            "window_end": r[5], "service_time": r[6]})
        })
        .collect();
    let body = json!({
        "depot": {"x": depot[1], "y": depot[2]},
        "vehicles": {"count": fleet[0], "capacity": fleet[1], "shift_start": depot[4], "shift_end": depot[5]},
        "stops": stops, "metric": "euclidean", "time_limit_ms": 10000, "iterations": 20000,
    });
    (body, best[name]["best_known_distance"].as_f64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solomon_instance_is_planned_feasibly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let worker = app.login_as(Role::Admin, &[]).await;
    let (body, best) = solomon("R101");
    let res = app.post_json("/api/v1/routing/solve", &worker, &body).await;
    assert_eq!(res.status(), 200);
    let plan: Value = res.json().await.unwrap();
    assert!(plan["unassigned"].as_array().unwrap().is_empty(), "{}", plan["unassigned"]);
    let stops: std::collections::HashMap<String, &Value> =
        body["stops"].as_array().unwrap().iter().map(|s| (s["id"].as_str().unwrap().to_owned(), s)).collect();
    let mut served = Vec::new();
    let (capacity, horizon) =
        (body["vehicles"]["capacity"].as_f64().unwrap(), body["vehicles"]["shift_end"].as_f64().unwrap());
    let mut total = 0.0;
    for route in plan["schedule"].as_array().unwrap() {
        let (mut load, mut at) = (0.0, (body["depot"]["x"].as_f64().unwrap(), body["depot"]["y"].as_f64().unwrap()));
        for visit in route["visits"].as_array().unwrap() {
            let s = stops[visit["id"].as_str().unwrap()];
            let start = visit["start"].as_f64().unwrap();
            assert!(
                start >= s["window_start"].as_f64().unwrap() - 1e-6
                    && start <= s["window_end"].as_f64().unwrap() + 1e-6
            );
            load += s["demand"].as_f64().unwrap();
            let next = (s["x"].as_f64().unwrap(), s["y"].as_f64().unwrap());
            total += ((next.0 - at.0).powi(2) + (next.1 - at.1).powi(2)).sqrt();
            at = next;
            served.push(visit["id"].as_str().unwrap().to_owned());
        }
        total += ((body["depot"]["x"].as_f64().unwrap() - at.0).powi(2)
            + (body["depot"]["y"].as_f64().unwrap() - at.1).powi(2))
        .sqrt();
        assert!(load <= capacity, "capacity");
        assert!(route["return_time"].as_f64().unwrap() <= horizon + 1e-6, "back at the depot in time");
    }
    served.sort();
    let mut all: Vec<String> = stops.keys().cloned().collect();
    all.sort();
    assert_eq!(served, all, "every customer exactly once");
    assert!((total - plan["distance"].as_f64().unwrap()).abs() < 0.1, "the reported distance is the routes' distance");
    let gap = total / best - 1.0;
    assert!(gap < 0.05, "within 5% of the best known even with a short search: {:.2}%", gap * 100.0);
    let order: Vec<Value> = plan["routes"].as_array().unwrap().to_vec();
    let again: Value = app.post_json("/api/v1/routing/solve", &worker, &body).await.json().await.unwrap();
    assert_eq!(again["routes"].as_array().unwrap().to_vec(), order, "deterministic for the same input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_routing_request_names_the_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let worker = app.login_as(Role::Admin, &[]).await;
    let body = json!({"depot": {"latitude": 39.1, "longitude": 117.2},
        "vehicles": {"count": 2, "capacity": 10, "shift_start": 630, "shift_end": 780},
        "stops": [{"id": "a", "x": 1, "y": 2, "window_start": 660, "window_end": 750}], "metric": "haversine"});
    let res = app.post_json("/api/v1/routing/solve", &worker, &body).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "stops[0]");
    let mut ok = body.clone();
    ok["stops"] = json!([{"id": "a", "latitude": 39.11, "longitude": 117.21, "window_start": 660, "window_end": 750, "service_time": 2},
        {"id": "heavy", "latitude": 39.11, "longitude": 117.2, "demand": 50, "window_start": 660, "window_end": 750}]);
    let plan: Value = app.post_json("/api/v1/routing/solve", &worker, &ok).await.json().await.unwrap();
    assert_eq!(plan["routes"], json!([["a"]]));
    assert_eq!(plan["unassigned"], json!([{"id": "heavy", "reason": "demand_exceeds_capacity"}]));
    let bureau = app.login_as(Role::Bureau, &[]).await;
    assert_eq!(app.post_json("/api/v1/routing/solve", &bureau, &ok).await.status(), 403);
}
