use linli_tests::{Backend, TestDatabase};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, Statement};

async fn table_count(db: &sea_orm::DatabaseConnection) -> i64 {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'"
        }
        _ => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'"
        }
    };
    let row = db.query_one_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn up_down_up(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let db = Database::connect(database.url.as_str()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let tables = table_count(&db).await;
    assert!(tables >= 20, "expected the whole schema, found {tables} tables");
    Migrator::down(&db, None).await.unwrap();
    assert_eq!(table_count(&db).await, 0, "down() removes every table");
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(table_count(&db).await, tables);
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
    db.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again_on_sqlite() {
    up_down_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        up_down_up(backend).await;
    }
}
