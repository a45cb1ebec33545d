//! Black-box tests of the Linli API: each starts the real server on port 0 against a
//! fresh database, on SQLite and on PostgreSQL.
#![recursion_limit = "256"]

mod access;
mod auth;
mod cli;
mod coverage;
mod dispatch;
mod errors;
mod grid;
mod import_export;
mod jobs;
mod migrations;
mod openapi;
mod ops;
mod privacy;
mod push;
mod records;
mod reliability;
mod routing;
mod scope;
mod segmentation;
mod seniors;
mod surveys;
mod timebank;
mod users;
