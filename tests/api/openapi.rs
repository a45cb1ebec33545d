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

/// Besides its own answers, every operation documents the problems any request can
/// meet: a session's (401, 403), a body's (400, 413, 415), a parameter's (422), an
/// object's (404), and the server's (500, 503).
#[tokio::test]
async fn every_operation_documents_the_problems_it_can_answer() {
    let doc = serde_json::to_value(linli::http::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut expected = vec!["500", "503"];
            if secured {
                expected.extend(["401", "403"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if path.contains('{') {
                expected.extend(["404", "422"]);
            }
            for status in expected {
                assert!(has(status), "{method} {path} does not document {status}");
                // Readiness answers its own JSON when it is not ready, for load balancers.
                if (path.as_str(), status) == ("/readyz", "503") {
                    continue;
                }
                let content = &responses[status]["content"];
                assert!(content.get("application/problem+json").is_some(), "{method} {path} {status}: {content}");
            }
        }
    }
}

/// Shapes the API was found answering differently from its document.
#[tokio::test]
async fn documented_shapes_match_what_is_sent() {
    let doc = serde_json::to_value(linli::http::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    // The overview lists plan summaries; the whole plan (with `senior_id`) is its own schema.
    assert_eq!(schemas["Overview"]["properties"]["plans"]["items"]["$ref"], "#/components/schemas/PlanSummary");
    assert!(schemas["PlanView"]["required"].as_array().unwrap().contains(&serde_json::json!("senior_id")));
    // Serious answers are option values (strings) or ratings (numbers), not objects.
    assert_eq!(schemas["Question"]["properties"]["serious_answers"]["items"], serde_json::json!({}));
    // Coverage reports come as files with `format=`; the map is GeoJSON.
    for report in ["cells", "communities", "streets", "gaps", "scorecard"] {
        let content = &doc["paths"][format!("/api/v1/coverage/{report}")]["get"]["responses"]["200"]["content"];
        for media_type in ["text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] {
            assert!(content.get(media_type).is_some(), "{report}: {media_type} missing from {content}");
        }
    }
    let cells = &doc["paths"]["/api/v1/coverage/cells"]["get"]["responses"]["200"]["content"];
    assert!(cells.get("application/geo+json").is_some(), "{cells}");
    // An import's 422 is a report of bad rows or a problem about a parameter.
    let rejected =
        &doc["paths"]["/api/v1/seniors/import"]["post"]["responses"]["422"]["content"]["application/problem+json"];
    assert_eq!(rejected["schema"]["$ref"], "#/components/schemas/ImportRejected");
    assert!(schemas["ImportRejected"]["anyOf"].is_array());
}

/// The limits the server enforces on parameters are in the document, so clients
/// (and generated tests) stay within them.
#[tokio::test]
async fn limits_the_server_enforces_are_documented() {
    let doc = serde_json::to_value(linli::http::openapi()).unwrap();
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(params) = item["get"]["parameters"].as_array() else { continue };
        for p in params {
            let limits = (&p["schema"]["minimum"], &p["schema"]["maximum"]);
            match p["name"].as_str().unwrap() {
                "page" => {
                    lists += 1;
                    assert_eq!((limits.0.as_u64(), limits.1.as_u64()), (Some(1), Some(1_000_000)), "{path}");
                }
                "per_page" => assert_eq!((limits.0.as_u64(), limits.1.as_u64()), (Some(1), Some(200)), "{path}"),
                _ => {}
            }
        }
    }
    assert!(lists >= 9, "only {lists} paged lists");

    let schemas = &doc["components"]["schemas"];
    let barthel = &schemas["BarthelInput"]["properties"];
    assert_eq!(
        (barthel["transfers"]["maximum"].as_u64(), barthel["transfers"]["multipleOf"].as_u64()),
        (Some(15), Some(5))
    );
    assert_eq!(barthel["bathing"]["maximum"].as_u64(), Some(5));
    assert_eq!(schemas["TransferInput"]["properties"]["reason"]["minLength"].as_u64(), Some(2));
    assert!(schemas["PlanInput"]["properties"]["window_start"]["pattern"].is_string());
    assert_eq!(schemas["PlanInput"]["properties"]["weekdays"]["minItems"].as_u64(), Some(1));
    assert!(schemas["CreateUserRequest"]["properties"]["username"]["pattern"].is_string());
    assert_eq!(schemas["SolveRequest"]["properties"]["stops"]["maxItems"].as_u64(), Some(5000));
    let resolution = doc["paths"]["/api/v1/coverage/scorecard"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "resolution")
        .unwrap();
    assert_eq!(
        (resolution["schema"]["minimum"].as_u64(), resolution["schema"]["maximum"].as_u64()),
        (Some(7), Some(9))
    );
}
