//! Black-box tests of the Linli API: each starts the real server on port 0 against a
//! fresh database, on SQLite and on PostgreSQL.

mod auth;
mod cli;
mod dispatch;
mod errors;
mod grid;
mod import_export;
mod jobs;
mod migrations;
mod openapi;
mod ops;
mod push;
mod records;
mod routing;
mod scope;
mod segmentation;
mod seniors;
mod surveys;
mod timebank;
mod users;
