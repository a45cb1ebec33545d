use linli::auth::Role;
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::Value;

on_both_databases!(
    a_worker_cannot_read_another_communitys_senior,
    a_worker_lists_only_their_own_communities_and_seniors,
    a_caregiver_cannot_call_a_worker_only_endpoint,
    only_admins_manage_users,
    resident_id_numbers_are_masked,
);

async fn a_worker_cannot_read_another_communitys_senior(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let b = app.create_community("南营门社区").await;
    let senior_b = app.create_senior(b, "刘桂兰").await;
    let senior_a = app.create_senior(a, "王秀英").await;
    let worker_a = app.login_as(Role::Worker, &[a]).await;

    let res = app.get(&format!("/api/v1/seniors/{senior_b}")).bearer_auth(&worker_a).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let p = problem(res).await;
    assert!(p["type"].as_str().unwrap().ends_with("/not-found"));
    // Same answer as for an id that does not exist at all.
    let res = app.get("/api/v1/seniors/987654321").bearer_auth(&worker_a).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let res = app.get(&format!("/api/v1/seniors/{senior_a}")).bearer_auth(&worker_a).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get(&format!("/api/v1/communities/{b}")).bearer_auth(&worker_a).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let admin = app.login_as(Role::Admin, &[]).await;
    let res = app.get(&format!("/api/v1/seniors/{senior_b}")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn a_worker_lists_only_their_own_communities_and_seniors(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let b = app.create_community("南营门社区").await;
    app.create_senior(a, "王秀英").await;
    app.create_senior(b, "刘桂兰").await;
    app.create_senior(b, "张淑珍").await;
    let worker_a = app.login_as(Role::Worker, &[a]).await;

    let list = app.get_json("/api/v1/communities", &worker_a).await;
    let ids: Vec<i64> = list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![a]);
    assert_eq!(list[0]["name"], "新兴社区");
    assert_eq!(list[0]["street"], "劝业场街道");

    let page = app.get_json("/api/v1/seniors", &worker_a).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["community_id"], a);

    let res = app.get(&format!("/api/v1/seniors?community_id={b}")).bearer_auth(&worker_a).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let bureau = app.login_as(Role::Bureau, &[]).await;
    let list = app.get_json("/api/v1/communities", &bureau).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

async fn a_caregiver_cannot_call_a_worker_only_endpoint(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let senior = app.create_senior(a, "王秀英").await;
    let caregiver = app.login_as(Role::Caregiver, &[]).await;
    for path in ["/api/v1/seniors".to_owned(), format!("/api/v1/seniors/{senior}"), "/api/v1/communities".to_owned()] {
        let res = app.get(&path).bearer_auth(&caregiver).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let p = problem(res).await;
        assert!(p["type"].as_str().unwrap().ends_with("/forbidden"));
    }
}

async fn only_admins_manage_users(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    for (role, communities) in [(Role::Worker, vec![a]), (Role::Bureau, vec![]), (Role::Volunteer, vec![])] {
        let token = app.login_as(role, &communities).await;
        let res = app.get("/api/v1/users").bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 403, "{role}");
    }
    let admin = app.login_as(Role::Admin, &[]).await;
    let res = app.get("/api/v1/users?per_page=2").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["per_page"], 2);
    let res = app.get("/api/v1/users?per_page=1000").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["errors"][0]["field"], "per_page");
}

async fn resident_id_numbers_are_masked(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let senior = app.create_senior(a, "王秀英").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let body: Value =
        app.get(&format!("/api/v1/seniors/{senior}")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["id_number"], "120101********002X");
    assert_eq!(body["cell"].as_str().unwrap().len(), 15);
    let stored = app.count("SELECT COUNT(*) FROM seniors WHERE id_number_enc LIKE '%1945%'").await;
    assert_eq!(stored, 0, "ID numbers are encrypted at rest");
}
