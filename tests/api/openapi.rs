use linli_tests::{Backend, TestApp};
use serde_json::Value;

/// Every operation in the document is served: calling it never answers "no such route".
/// (The other direction holds by construction: API routes are registered through
/// utoipa-actix-web, which only accepts handlers that carry an OpenAPI description.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app.get("/api/openapi.json").send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "only {} paths documented", paths.len());
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1").replace("{name}", "session_sweep");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.client.request(method.clone(), app.url(&concrete)).send().await.unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            assert!(
                !(status == 404 && body.contains("route-not-found")) && status != 405,
                "{method} {path} is documented but not served ({status})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_needs_no_internet() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get("/api/docs/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    for line in html.lines() {
        let external = (line.contains("src=\"http") || line.contains("href=\"http")) && !line.contains("127.0.0.1");
        assert!(!external, "external asset: {line}");
    }
    let res = app.get("/api/docs/swagger-ui-bundle.js").send().await.unwrap();
    assert_eq!(res.status(), 200, "assets are served locally");
}

#[tokio::test]
async fn the_cli_document_matches_the_served_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served: Value = app.get("/api/openapi.json").send().await.unwrap().json().await.unwrap();
    let built = serde_json::to_value(linli::http::openapi()).unwrap();
    assert_eq!(served, built);
}
