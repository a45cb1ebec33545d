use linli::auth::Role;
use linli::registry::export::rust_xlsxwriter;
use linli::registry::id_number::check_character;
use linli::registry::import::{calamine, encoding_rs};
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::Value;

on_both_databases!(
    a_bad_row_is_named_by_line_and_field_and_nothing_is_stored_until_it_is_fixed,
    a_gbk_file_with_chinese_headers_imports,
    an_xlsx_file_imports,
    a_repeated_id_number_is_reported_on_its_second_line_and_a_registered_one_too,
    a_worker_imports_only_into_their_own_communities,
    the_csv_export_has_a_bom_a_header_and_masked_ids_and_only_the_workers_communities,
    the_xlsx_export_opens_and_holds_the_rows,
    the_cli_imports_as_an_admin_and_fails_on_bad_rows,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const HEADER: &str = "name,gender,birth_date,id_number,phone,address,latitude,longitude,community_id,\
                      living_arrangement,economic_status,contact_name,contact_relation,contact_phone";

/// The `n`th valid senior: born in 1940 + n days, with a matching ID number.
fn birth_and_id(n: u32) -> (String, String) {
    let birth = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + chrono::Days::new(u64::from(n));
    let first17 = format!("120101{}{:03}", birth.format("%Y%m%d"), 2 + 2 * (n % 400));
    (birth.to_string(), format!("{first17}{}", check_character(&first17)))
}

fn csv_row(n: u32, community: i64) -> String {
    let (birth, id) = birth_and_id(n);
    format!(
        "老人{n},female,{birth},{id},138{n:08},和平区南京路{n}号,39.115,117.195,{community},alone,subsistence,李强,儿子,13920005678"
    )
}

fn csv_file(rows: &[String]) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

async fn upload(app: &TestApp, token: &str, query: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.post(&format!("/api/v1/seniors/import{query}"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn seniors(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM seniors").await
}

fn errors(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect()
}

async fn a_bad_row_is_named_by_line_and_field_and_nothing_is_stored_until_it_is_fixed(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let mut rows: Vec<String> = (0..4).map(|n| csv_row(n, community)).collect();
    let good = rows[2].clone();
    rows[2] = good.replace("13800000002", "12345");
    assert!(rows[2].contains(",12345,"), "the third data row has a bad phone: {}", rows[2]);

    let res = upload(&app, &worker, "?dry_run=true", "text/csv", csv_file(&rows)).await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(errors(&report), vec![(4, "phone".to_owned())], "header is line 1: {report}");
    assert_eq!(
        (report["rows"].as_u64(), report["stored"].as_u64(), report["dry_run"].as_bool()),
        (Some(4), Some(0), Some(true))
    );
    assert_eq!(seniors(&app).await, 0, "a dry run stores nothing");

    let res = upload(&app, &worker, "?dry_run=false", "text/csv; charset=utf-8", csv_file(&rows)).await;
    assert_eq!(res.status(), 422);
    let rejected = problem(res).await;
    assert_eq!(errors(&rejected), vec![(4, "phone".to_owned())], "{rejected}");
    assert_eq!(rejected["stored"], 0);
    assert_eq!(seniors(&app).await, 0, "one bad row stores nothing");

    rows[2] = good;
    let res = upload(&app, &worker, "", "text/csv", csv_file(&rows)).await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["rows"].as_u64(), report["stored"].as_u64()), (Some(4), Some(4)), "{report}");
    assert_eq!(seniors(&app).await, 4);
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 4, "each row's contact");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'senior.import'").await, 1);

    let list = app.get_json("/api/v1/seniors", &worker).await;
    let first = list["items"].as_array().unwrap().iter().find(|s| s["name"] == "老人0").cloned().unwrap();
    let expected_cell = h3o::LatLng::new(39.115, 117.195).unwrap().to_cell(h3o::Resolution::Nine).to_string();
    assert_eq!(first["cell"], expected_cell);
    assert!(first["id_number"].as_str().unwrap().contains("********"));

    let res = upload(&app, &worker, "", "application/json", csv_file(&rows)).await;
    assert_eq!(res.status(), 415, "neither CSV nor XLSX");
}

async fn a_gbk_file_with_chinese_headers_imports(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let (birth0, id0) = birth_and_id(10);
    let (birth1, id1) = birth_and_id(11);
    let text = format!(
        "姓名,性别,出生日期,身份证号,电话,地址,纬度,经度,社区ID,居住情况,经济状况,联系人,联系人关系,联系人电话\r\n\
         王秀英,女,{birth0},{id0},13820001234,和平区南京路100号,39.1152,117.1951,{community},独居,低保,李强,儿子,13920005678\r\n\
         张建国,男,{},{id1},022-23456789,和平区南京路102号,39.1153,117.1952,{community},空巢,特困,,,\r\n",
        birth1.replace('-', "/")
    );
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&gbk).is_err(), "really GBK, not UTF-8");

    let res = upload(&app, &worker, "", "text/csv", gbk.into_owned()).await;
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["stored"], 2, "{report}");

    let list = app.get_json("/api/v1/seniors", &worker).await;
    let items = list["items"].as_array().unwrap();
    let wang = items.iter().find(|s| s["name"] == "王秀英").unwrap();
    assert_eq!((wang["gender"].as_str(), wang["living_arrangement"].as_str()), (Some("female"), Some("alone")));
    assert_eq!(wang["economic_status"], "subsistence");
    let zhang = items.iter().find(|s| s["name"] == "张建国").unwrap();
    assert_eq!((zhang["gender"].as_str(), zhang["living_arrangement"].as_str()), (Some("male"), Some("couple")));
    assert_eq!(zhang["phone"], "02223456789");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 1, "the second row has no contact");
}

async fn an_xlsx_file_imports(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let header =
        ["姓名", "性别", "出生日期", "身份证号", "电话", "地址", "纬度", "经度", "社区ID", "居住情况", "经济状况"];
    for (col, text) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, *text).unwrap();
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for n in 0..3u32 {
        let row = n + 1;
        let (birth, id) = birth_and_id(20 + n);
        let birth: Vec<u16> = birth.split('-').map(|p| p.parse().unwrap()).collect();
        let birth = rust_xlsxwriter::ExcelDateTime::from_ymd(birth[0], birth[1] as u8, birth[2] as u8).unwrap();
        sheet.write_string(row, 0, format!("老人{n}")).unwrap();
        sheet.write_string(row, 1, "女").unwrap();
        sheet.write_datetime_with_format(row, 2, &birth, &date).unwrap();
        sheet.write_string(row, 3, id).unwrap();
        // Phone numbers and ids typed as numbers, as Excel users do.
        sheet.write_number(row, 4, 13820001000.0 + f64::from(n)).unwrap();
        sheet.write_string(row, 5, "和平区南京路1号").unwrap();
        sheet.write_number(row, 6, 39.115).unwrap();
        sheet.write_number(row, 7, 117.195).unwrap();
        sheet.write_number(row, 8, community as f64).unwrap();
        sheet.write_string(row, 9, "与家人同住").unwrap();
        sheet.write_string(row, 10, "普通").unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();

    let res = upload(&app, &worker, "?dry_run=true", XLSX, bytes.clone()).await;
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["rows"].as_u64(), report["errors"].as_array().map(Vec::len)), (Some(3), Some(0)), "{report}");
    let res = upload(&app, &worker, "", XLSX, bytes).await;
    assert_eq!(res.status(), 200);
    assert_eq!(seniors(&app).await, 3);
    let list = app.get_json("/api/v1/seniors", &worker).await;
    let first = list["items"].as_array().unwrap().iter().find(|s| s["name"] == "老人0").cloned().unwrap();
    assert_eq!(first["phone"], "13820001000");
    assert_eq!(first["birth_date"], birth_and_id(20).0);
    assert_eq!(first["living_arrangement"], "with_family");

    let res = upload(&app, &worker, "", XLSX, b"PK\x03\x04 not really a workbook".to_vec()).await;
    assert_eq!(res.status(), 400, "an unreadable workbook");
}

async fn a_repeated_id_number_is_reported_on_its_second_line_and_a_registered_one_too(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let rows = [csv_row(0, community), csv_row(1, community), csv_row(0, community).replace("老人0", "别人")];
    let report: Value = upload(&app, &admin, "?dry_run=true", "text/csv", csv_file(&rows)).await.json().await.unwrap();
    assert_eq!(errors(&report), vec![(4, "id_number".to_owned())], "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("line 2"), "{report}");

    let res = upload(&app, &admin, "", "text/csv", csv_file(&rows[..2])).await;
    assert_eq!(res.status(), 200);
    let again = [csv_row(2, community), csv_row(1, community)];
    let res = upload(&app, &admin, "", "text/csv", csv_file(&again)).await;
    assert_eq!(res.status(), 422);
    let rejected = problem(res).await;
    assert_eq!(errors(&rejected), vec![(3, "id_number".to_owned())], "already registered: {rejected}");
    assert_eq!(rejected["errors"][0]["code"], "duplicate");
    assert_eq!(seniors(&app).await, 2, "the new row was not stored either");
}

async fn a_worker_imports_only_into_their_own_communities(app: TestApp) {
    let mine = app.create_community("新兴社区").await;
    let other = app.create_community("五大道社区").await;
    let worker = app.login_as(Role::Worker, &[mine]).await;
    let rows = [csv_row(0, mine), csv_row(1, other)];
    let report: Value = upload(&app, &worker, "?dry_run=true", "text/csv", csv_file(&rows)).await.json().await.unwrap();
    assert_eq!(errors(&report), vec![(3, "community_id".to_owned())], "{report}");

    // Without a community_id column, every row goes to the default community.
    let header = HEADER.replace(",community_id", "");
    let without = |n: u32| csv_row(n, mine).replace(&format!(",{mine},alone"), ",alone");
    let body = format!("{header}\n{}\n{}\n", without(2), without(3)).into_bytes();
    let res = upload(&app, &worker, "", "text/csv", body.clone()).await;
    let rejected = problem(res).await;
    assert_eq!(errors(&rejected), vec![(1, "community_id".to_owned())], "a missing column: {rejected}");
    let res = upload(&app, &worker, &format!("?community_default={mine}"), "text/csv", body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(seniors(&app).await, 2);

    let caregiver = app.login_as(Role::Caregiver, &[]).await;
    let res = upload(&app, &caregiver, "", "text/csv", csv_file(&rows)).await;
    assert_eq!(res.status(), 403);
}

/// Imports `count` seniors into `community` (as an admin), numbered from `from`.
async fn import_seniors(app: &TestApp, admin: &str, community: i64, from: u32, count: u32) {
    let rows: Vec<String> = (from..from + count).map(|n| csv_row(n, community)).collect();
    let res = upload(app, admin, "", "text/csv", csv_file(&rows)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn the_csv_export_has_a_bom_a_header_and_masked_ids_and_only_the_workers_communities(app: TestApp) {
    let mine = app.create_community("新兴社区").await;
    let other = app.create_community("五大道社区").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    import_seniors(&app, &admin, mine, 0, 3).await;
    import_seniors(&app, &admin, other, 100, 2).await;
    let worker = app.login_as(Role::Worker, &[mine]).await;

    let res = app.get("/api/v1/seniors/export?format=csv").bearer_auth(&worker).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("姓名 (name)") && lines[0].contains("身份证号 (id_number)"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + 3, "the worker's community only: {text}");
    for n in 0..3 {
        let (_, id) = birth_and_id(n);
        assert!(!text.contains(&id), "never the full ID number");
        assert!(text.contains(&format!("{}********{}", &id[..6], &id[14..])), "masked: {text}");
    }
    assert!(text.contains("新兴社区") && !text.contains("五大道社区"), "{text}");

    let all = app.get("/api/v1/seniors/export").bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    assert_eq!(all.lines().count(), 1 + 5, "an admin exports every community");
    let one =
        app.get(&format!("/api/v1/seniors/export?community_id={other}")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(one.text().await.unwrap().lines().count(), 1 + 2, "filtered by community");

    let res =
        app.get(&format!("/api/v1/seniors/export?community_id={other}")).bearer_auth(&worker).send().await.unwrap();
    assert_eq!(res.status(), 404, "another community's export");
    let res = app.get("/api/v1/seniors/export?format=pdf").bearer_auth(&worker).send().await.unwrap();
    assert_eq!(problem(res).await["errors"][0]["field"], "format");
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'senior.export'").await >= 3);
}

async fn the_xlsx_export_opens_and_holds_the_rows(app: TestApp) {
    use calamine::Reader;
    let community = app.create_community("新兴社区").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    import_seniors(&app, &admin, community, 0, 5).await;

    let res = app.get("/api/v1/seniors/export?format=xlsx").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], XLSX);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut workbook: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = workbook.sheet_names()[0].clone();
    let range = workbook.worksheet_range(&sheet).unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect();
    assert_eq!(rows.len(), 1 + 5);
    assert_eq!(rows[0][1], "姓名 (name)");
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["老人0", "老人1", "老人2", "老人3", "老人4"]);
    let id = birth_and_id(0).1;
    assert_eq!(rows[1][4], format!("{}********{}", &id[..6], &id[14..]));
    assert_eq!(rows[1][2], "女");
}

async fn the_cli_imports_as_an_admin_and_fails_on_bad_rows(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let path = app.database.dir().join("seniors.csv");
    let good = [csv_row(0, community), csv_row(1, community)];
    let import = |args: &[&str]| {
        // The binary sits beside the test executable's `deps` folder (`make test` builds it).
        let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
        std::process::Command::new(deps.with_file_name("linli"))
            .args(["import", "seniors"])
            .arg(&path)
            .args(args)
            .env("DATABASE_URL", &app.database.url)
            .env("LINLI_DATA_DIR", app.database.dir())
            .env("LINLI_SECRET_KEY", app.settings.secret_key.as_ref().unwrap().expose())
            .env("LINLI_LOG_FORMAT", "json")
            .output()
            .expect("build the binary first: cargo build -p linli")
    };

    std::fs::write(&path, csv_file(&[good[0].clone(), good[1].replace("13800000001", "12345")])).unwrap();
    let out = import(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "bad rows fail the command: {stdout}");
    assert!(stdout.contains("line 3: phone"), "{stdout}");
    assert_eq!(seniors(&app).await, 0);

    std::fs::write(&path, csv_file(&good)).unwrap();
    let out = import(&["--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(seniors(&app).await, 0, "a dry run stores nothing");
    let out = import(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("2 stored"), "{stdout}");
    assert_eq!(seniors(&app).await, 2);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'senior.import' AND actor_role = 'admin'";
    assert_eq!(app.count(audited).await, 1);
}
