//! ipmat (입맛): a food world cup and a taste quiz, served as one JSON API, a web app and media.
//!
//! [`App::build`] wires the configuration, the database, storage and the routes; the binary in
//! `main.rs` only parses the command line and calls into [`cli`].

pub mod accounts;
pub mod apidocs;
pub mod app;
pub mod availability;
pub mod bounded;
pub mod catalog;
pub mod cli;
pub mod coalesce;
pub mod community;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod headers;
pub mod https;
pub mod import_django;
pub mod lang;
pub mod limits;
pub mod maintenance;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod ops;
pub mod previews;
pub mod process_metrics;
pub mod quiz;
pub mod secrets;
pub mod seed;
pub mod server;
pub mod state;
pub mod visitors;
pub mod web;
pub mod worldcup;

pub use app::App;
pub use config::Config;
pub use state::AppState;

/// Makes ring the process's TLS crypto provider (reqwest is built without one); idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
