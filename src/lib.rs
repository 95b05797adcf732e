//! ipmat (입맛): a food world cup and a taste quiz, served as one JSON API, a web app and media.
//!
//! [`App::build`] wires the configuration, the database, storage and the routes; the binary in
//! `main.rs` only parses the command line and calls into [`cli`].

pub mod accounts;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod community;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod maintenance;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod quiz;
pub mod seed;
pub mod state;
pub mod visitors;
pub mod web;
pub mod worldcup;

pub use app::App;
pub use config::Config;
pub use state::AppState;
