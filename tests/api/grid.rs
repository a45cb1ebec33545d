use linli::auth::Role;
use linli::registry::id_number::check_character;
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::{Value, json};

on_both_databases!(
    a_new_community_stores_the_cells_that_cover_it,
    an_invalid_boundary_is_named,
    cells_count_seniors_and_roll_up_to_coarser_resolutions,
);

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}"#;

async fn a_new_community_stores_the_cells_that_cover_it(app: TestApp) {
    let admin = app.login_as(Role::Admin, &[]).await;
    let body = json!({"name": "五大道社区", "street": "小白楼街道", "district": "和平区", "boundary": serde_json::from_str::<Value>(SQUARE).unwrap()});
    let res = app.post("/api/v1/communities").bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let boundary = linli::grid::parse_boundary(SQUARE).unwrap();
    let expected = linli::grid::covering_cells(&boundary, h3o::Resolution::Nine).unwrap();
    assert_eq!(created["cells"], expected.len());
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM community_cells WHERE community_id = {id}")).await,
        expected.len() as i64
    );
    let centre = linli::grid::to_db(h3o::LatLng::new(39.115, 117.195).unwrap().to_cell(h3o::Resolution::Nine));
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM community_cells WHERE community_id = {id} AND cell = {centre}")).await,
        1
    );

    let res = app.post("/api/v1/communities").bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let worker = app.login_as(Role::Worker, &[id]).await;
    assert_eq!(app.post("/api/v1/communities").bearer_auth(&worker).json(&body).send().await.unwrap().status(), 403);
}

async fn an_invalid_boundary_is_named(app: TestApp) {
    let admin = app.login_as(Role::Admin, &[]).await;
    for (boundary, why) in [
        (json!({"type": "Point", "coordinates": [117.19, 39.11]}), "not a polygon"),
        (
            json!({"type": "Polygon", "coordinates": [[[117.19, 39.11], [117.20, 39.11], [117.19, 39.11]]]}),
            "ring too short",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[117.19, 39.11], [117.20, 39.11], [117.20, 39.12], [117.19, 39.12]]]}),
            "ring not closed",
        ),
        (json!("a string"), "not an object"),
    ] {
        let body = json!({"name": "x", "street": "y", "district": "z", "boundary": boundary});
        let res = app.post("/api/v1/communities").bearer_auth(&admin).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{why}");
        assert_eq!(problem(res).await["errors"][0]["field"], "boundary", "{why}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM communities").await, 0);
}

fn id_number(seq: u32) -> String {
    let first17 = format!("12010119450101{seq:03}");
    format!("{first17}{}", check_character(&first17))
}

async fn cells_count_seniors_and_roll_up_to_coarser_resolutions(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let b = app.create_community("南营门社区").await;
    let worker_a = app.login_as(Role::Worker, &[a]).await;
    let worker_b = app.login_as(Role::Worker, &[b]).await;
    let points = [(39.1150, 117.1950), (39.1151, 117.1951), (39.1190, 117.1990)];
    for (i, (lat, lng)) in points.iter().enumerate() {
        let body = json!({
            "name": format!("老人{i}"), "gender": "male", "birth_date": "1945-01-01", "id_number": id_number(i as u32 + 1),
            "phone": "13800000000", "address": "和平区", "latitude": lat, "longitude": lng, "community_id": a,
            "living_arrangement": "couple", "economic_status": "ordinary"
        });
        assert_eq!(app.post("/api/v1/seniors").bearer_auth(&worker_a).json(&body).send().await.unwrap().status(), 201);
    }
    let cell9 = |lat: f64, lng: f64| h3o::LatLng::new(lat, lng).unwrap().to_cell(h3o::Resolution::Nine);
    let mut expected9: Vec<String> = points.iter().map(|&(la, ln)| cell9(la, ln).to_string()).collect();
    expected9.sort();
    expected9.dedup();

    let fc: Value =
        app.get("/api/v1/grid/cells?resolution=9").bearer_auth(&worker_a).send().await.unwrap().json().await.unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    let mut cells: Vec<String> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["cell"].as_str().unwrap().to_owned())
        .collect();
    cells.sort();
    assert_eq!(cells, expected9);
    let total: i64 =
        fc["features"].as_array().unwrap().iter().map(|f| f["properties"]["seniors_total"].as_i64().unwrap()).sum();
    assert_eq!(total, 3);
    assert_eq!(fc["features"][0]["geometry"]["type"], "Polygon");

    let fc7: Value =
        app.get("/api/v1/grid/cells?resolution=7").bearer_auth(&worker_a).send().await.unwrap().json().await.unwrap();
    let parents: std::collections::BTreeSet<String> =
        points.iter().map(|&(la, ln)| cell9(la, ln).parent(h3o::Resolution::Seven).unwrap().to_string()).collect();
    assert_eq!(fc7["features"].as_array().unwrap().len(), parents.len());
    let total7: i64 =
        fc7["features"].as_array().unwrap().iter().map(|f| f["properties"]["seniors_total"].as_i64().unwrap()).sum();
    assert_eq!(total7, 3);

    let bbox = app.get_json("/api/v1/grid/cells?resolution=9&bbox=117.19,39.11,117.197,39.117", &worker_a).await;
    let in_box: i64 =
        bbox["features"].as_array().unwrap().iter().map(|f| f["properties"]["seniors_total"].as_i64().unwrap()).sum();
    assert_eq!(in_box, 2);

    let other: Value =
        app.get("/api/v1/grid/cells?resolution=9").bearer_auth(&worker_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(other["features"].as_array().unwrap().len(), 0, "another community's worker sees none of them");

    for (query, field) in [("resolution=6", "resolution"), ("resolution=9&bbox=1,2,3", "bbox"), ("", "resolution")] {
        let res = app.get(&format!("/api/v1/grid/cells?{query}")).bearer_auth(&worker_a).send().await.unwrap();
        assert_eq!(res.status(), 422, "{query}");
        assert_eq!(problem(res).await["errors"][0]["field"], field, "{query}");
    }
}
