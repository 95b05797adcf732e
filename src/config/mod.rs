//! Configuration from the environment and the dotenv file chosen by `IPMAT_MODE`.
//!
//! Every value is parsed and checked once, at start; a bad value stops the process with a
//! message that names the variable. Secrets are wrapped in [`Secret`] so that neither `Debug`
//! nor logs ever print them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod secret;
#[cfg(test)]
mod tests;
mod values;

pub use secret::{DatabaseUrl, Secret};
use values::{
    DEFAULT_METRICS_ALLOW, database_url, parse_http_url, parse_map_links, parse_networks,
    parse_number, parse_storage,
};
pub use values::{IpNet, MapLink};

/// How the process was started: picks the dotenv file and a few safe defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

impl Mode {
    /// The dotenv file this mode loads, as the original did.
    pub fn dotenv_file(self) -> &'static str {
        match self {
            Mode::Development => ".env",
            Mode::Production => ".production.env",
        }
    }
}

/// Where images live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageConfig {
    /// A local directory.
    File(PathBuf),
    /// An S3 bucket (or any S3-compatible store), with an optional key prefix.
    S3 { bucket: String, prefix: String },
}

/// S3 connection settings; unset values fall back to the AWS SDK's usual sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

/// Whether the bundled catalog is loaded into an empty database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedMode {
    Auto,
    Off,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The whole configuration of one ipmat process.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub bind: SocketAddr,
    pub database_url: DatabaseUrl,
    pub storage: StorageConfig,
    pub s3: S3Config,
    pub media_base_url: String,
    pub notify_url: Option<Secret>,
    pub seed: SeedMode,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Proxies whose `X-Forwarded-For` is believed when finding the client address.
    pub trusted_proxies: Vec<IpNet>,
    /// Unfinished world cups older than this are purged.
    pub worldcup_max_age: Duration,
    /// Maximum number of database connections in the pool.
    pub db_max_connections: u32,
    /// The site's public base (`https://ipmat.example`, no trailing slash), when configured:
    /// absolute links in previews, and the cookie's `Secure` by its scheme.
    pub public_url: Option<String>,
    /// Map searches offered for a champion (`kakao`, `naver`), in order; empty hides them.
    pub map_links: Vec<MapLink>,
    /// Distinct reporters after which a book or comment is hidden pending review.
    pub report_hide_at: u32,
    /// Key of the keyed hashes (throttle keys, device cookies); unset: one the database holds.
    pub secret_key: Option<Secret>,
    /// Password hashes computed at once (default: one per CPU).
    pub password_hash_concurrency: usize,
    /// Password hashes that may wait for a turn before the rest get 503 (default: 16 per
    /// concurrent hash).
    pub password_hash_queue: usize,
    /// How long a password hash may wait for its turn before the request gets 503.
    pub password_hash_max_wait: Duration,
    /// Hardening (issue 10b): client networks allowed to read `/metrics`.
    pub metrics_allow: Vec<IpNet>,
    /// Hardening (issue 10b): most client connections served at once.
    pub max_connections: usize,
    /// `IPMAT_*` variables this program does not know (likely typos), logged at start.
    pub unknown_variables: Vec<String>,
}

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

fn bad(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_owned(),
        message: message.into(),
    }
}

/// The variables this program reads; anything else starting with `IPMAT_` is a typo.
const KNOWN: &[&str] = &[
    "IPMAT_MODE",
    "IPMAT_BIND",
    "IPMAT_DATABASE_URL",
    "IPMAT_DB_HOST",
    "IPMAT_DB_PORT",
    "IPMAT_DB_NAME",
    "IPMAT_DB_USER",
    "IPMAT_DB_PASSWORD",
    "IPMAT_STORAGE",
    "IPMAT_S3_BUCKETNAME",
    "IPMAT_S3_ENDPOINT",
    "IPMAT_S3_REGION",
    "IPMAT_S3_ACCESS_KEY_ID",
    "IPMAT_S3_SECRET_ACCESS_KEY",
    "IPMAT_MEDIA_BASE_URL",
    "IPMAT_NOTIFY_URL",
    "IPMAT_SLACK_URL",
    "IPMAT_SEED",
    "IPMAT_LOG",
    "IPMAT_LOG_FORMAT",
    "IPMAT_TRUSTED_PROXIES",
    "IPMAT_WORLDCUP_MAX_AGE_HOURS",
    "IPMAT_DB_MAX_CONNECTIONS",
    "IPMAT_PUBLIC_URL",
    "IPMAT_MAP_LINKS",
    "IPMAT_REPORT_HIDE_AT",
    "IPMAT_SECRET_KEY",
    "IPMAT_PASSWORD_HASH_CONCURRENCY",
    "IPMAT_PASSWORD_HASH_QUEUE",
    "IPMAT_PASSWORD_HASH_MAX_WAIT_MS",
    // Hardening (issue 10b).
    "IPMAT_METRICS_ALLOW",
    "IPMAT_MAX_CONNECTIONS",
    // Read by commands, not by the server.
    "IPMAT_PASSWORD",
    // Read by the test suite only.
    "IPMAT_TEST_ENGINES",
    "IPMAT_TEST_MYSQL_URL",
    "IPMAT_TEST_POSTGRES_URL",
];

/// Variables that may instead be given as `NAME_FILE` (Docker secrets).
const FILE_BACKED: &[&str] = &[
    "IPMAT_DATABASE_URL",
    "IPMAT_DB_PASSWORD",
    "IPMAT_S3_ACCESS_KEY_ID",
    "IPMAT_S3_SECRET_ACCESS_KEY",
    "IPMAT_NOTIFY_URL",
    "IPMAT_SECRET_KEY",
];

impl Config {
    /// Reads the process environment, after loading the dotenv file of `IPMAT_MODE`.
    ///
    /// Real environment variables win over the file's values.
    pub fn from_env() -> Result<Config, ConfigError> {
        let mode = parse_mode(std::env::var("IPMAT_MODE").ok().as_deref())?;
        let mut vars: HashMap<String, String> = HashMap::new();
        match dotenvy::from_filename_iter(mode.dotenv_file()) {
            Ok(iter) => {
                for item in iter {
                    let (key, value) = item.map_err(|e| {
                        bad(
                            mode.dotenv_file(),
                            format!("cannot read this dotenv file: {e}"),
                        )
                    })?;
                    vars.insert(key, value);
                }
            }
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(bad(
                    mode.dotenv_file(),
                    format!("cannot read this dotenv file: {e}"),
                ));
            }
        }
        vars.extend(std::env::vars());
        Config::from_vars(&vars)
    }

    /// Builds the configuration from a map of variables (the environment, in tests a literal).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let vars = resolve_file_vars(vars)?;
        // Unknown names are reported, not fatal: deployment tools set their own IPMAT_*
        // variables (image names, ports) next to the server's.
        let mut unknown: Vec<String> = vars
            .keys()
            .filter(|key| {
                let plain = key.strip_suffix("_FILE").unwrap_or(key);
                key.starts_with("IPMAT_")
                    && !KNOWN.contains(&key.as_str())
                    && !(key.ends_with("_FILE") && FILE_BACKED.contains(&plain))
            })
            .cloned()
            .collect();
        unknown.sort();
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let mode = parse_mode(get("IPMAT_MODE"))?;
        let bind = match get("IPMAT_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
            Some(v) => v.parse().map_err(|_| {
                bad(
                    "IPMAT_BIND",
                    format!("`{v}` is not an address like 0.0.0.0:8000"),
                )
            })?,
        };
        let database_url = database_url(&get)?;
        let storage = parse_storage(get("IPMAT_STORAGE"), get("IPMAT_S3_BUCKETNAME"))?;
        let s3 = S3Config {
            endpoint: get("IPMAT_S3_ENDPOINT")
                .map(|v| parse_http_url("IPMAT_S3_ENDPOINT", v))
                .transpose()?,
            region: get("IPMAT_S3_REGION").map(str::to_owned),
            access_key_id: get("IPMAT_S3_ACCESS_KEY_ID").map(Secret::new),
            secret_access_key: get("IPMAT_S3_SECRET_ACCESS_KEY").map(Secret::new),
        };
        let media_base_url = get("IPMAT_MEDIA_BASE_URL")
            .unwrap_or("/media")
            .trim_end_matches('/')
            .to_owned();
        if !(media_base_url.starts_with('/')
            || media_base_url.starts_with("http://")
            || media_base_url.starts_with("https://"))
        {
            return Err(bad(
                "IPMAT_MEDIA_BASE_URL",
                "must be a path starting with / or an http(s) URL",
            ));
        }
        // The alias is named in errors when it is the one set, so the operator finds it.
        let notify = match get("IPMAT_NOTIFY_URL") {
            Some(v) => Some(("IPMAT_NOTIFY_URL", v)),
            None => get("IPMAT_SLACK_URL").map(|v| ("IPMAT_SLACK_URL", v)),
        };
        let notify_url = match notify {
            None => None,
            Some((var, v)) => Some(Secret::new(parse_http_url(var, v)?)),
        };
        let seed = match get("IPMAT_SEED").unwrap_or("auto") {
            "auto" => SeedMode::Auto,
            "off" => SeedMode::Off,
            other => {
                return Err(bad(
                    "IPMAT_SEED",
                    format!("`{other}` is not `auto` or `off`"),
                ));
            }
        };
        let log_filter = get("IPMAT_LOG").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&log_filter)
            .map_err(|e| bad("IPMAT_LOG", format!("not a valid log filter: {e}")))?;
        let log_format = match get("IPMAT_LOG_FORMAT").unwrap_or("pretty") {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(bad(
                    "IPMAT_LOG_FORMAT",
                    format!("`{other}` is not `pretty` or `json`"),
                ));
            }
        };
        let trusted_proxies = match get("IPMAT_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(v) => parse_networks("IPMAT_TRUSTED_PROXIES", v)?,
        };
        // Hardening (issue 10b): loopback and the private ranges unless configured.
        let metrics_allow = parse_networks(
            "IPMAT_METRICS_ALLOW",
            get("IPMAT_METRICS_ALLOW").unwrap_or(DEFAULT_METRICS_ALLOW),
        )?;
        let max_connections: u64 =
            parse_number(&get, "IPMAT_MAX_CONNECTIONS", 4096, 16, 1_000_000)?;
        let worldcup_max_age_hours: u64 =
            parse_number(&get, "IPMAT_WORLDCUP_MAX_AGE_HOURS", 168, 1, 24 * 365)?;
        let db_max_connections: u64 = parse_number(&get, "IPMAT_DB_MAX_CONNECTIONS", 16, 1, 1000)?;
        let public_url = get("IPMAT_PUBLIC_URL")
            .filter(|v| !v.is_empty())
            .map(|v| {
                parse_http_url("IPMAT_PUBLIC_URL", v).map(|u| u.trim_end_matches('/').to_owned())
            })
            .transpose()?;
        // Set but empty means "no map links", unlike the other variables.
        let map_links = parse_map_links(
            vars.get("IPMAT_MAP_LINKS")
                .map(|v| v.trim())
                .unwrap_or("kakao,naver"),
        )?;
        let report_hide_at: u64 = parse_number(&get, "IPMAT_REPORT_HIDE_AT", 5, 1, 1000)?;
        let secret_key = get("IPMAT_SECRET_KEY").map(Secret::new);
        if secret_key.as_ref().is_some_and(|s| s.expose().len() < 32) {
            return Err(bad(
                "IPMAT_SECRET_KEY",
                "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
            ));
        }
        let cpus = crate::bounded::cpu_count() as u64;
        let password_hash_concurrency =
            parse_number(&get, "IPMAT_PASSWORD_HASH_CONCURRENCY", cpus, 1, 256)?;
        let password_hash_queue = parse_number(
            &get,
            "IPMAT_PASSWORD_HASH_QUEUE",
            16 * password_hash_concurrency,
            0,
            100_000,
        )?;
        let password_hash_max_wait_ms =
            parse_number(&get, "IPMAT_PASSWORD_HASH_MAX_WAIT_MS", 3000, 1, 600_000)?;
        Ok(Config {
            mode,
            bind,
            database_url,
            storage,
            s3,
            media_base_url,
            notify_url,
            seed,
            log_filter,
            log_format,
            trusted_proxies,
            worldcup_max_age: Duration::from_secs(worldcup_max_age_hours * 3600),
            db_max_connections: db_max_connections as u32,
            public_url,
            map_links,
            report_hide_at: report_hide_at as u32,
            secret_key,
            password_hash_concurrency: password_hash_concurrency as usize,
            password_hash_queue: password_hash_queue as usize,
            password_hash_max_wait: Duration::from_millis(password_hash_max_wait_ms),
            metrics_allow,
            max_connections: max_connections as usize,
            unknown_variables: unknown,
        })
    }
}

/// Parses `IPMAT_MODE`: unset means development, anything unknown is an error.
pub fn parse_mode(value: Option<&str>) -> Result<Mode, ConfigError> {
    match value.map(str::trim) {
        None | Some("") | Some("development") => Ok(Mode::Development),
        Some("production") => Ok(Mode::Production),
        Some(other) => Err(bad(
            "IPMAT_MODE",
            format!("`{other}` is not `development` or `production`"),
        )),
    }
}

/// Replaces `X_FILE` variables by the trimmed content of the file they name, when `X` is unset.
fn resolve_file_vars(
    vars: &HashMap<String, String>,
) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = vars.clone();
    for name in FILE_BACKED {
        let file_var = format!("{name}_FILE");
        let Some(path) = vars.get(&file_var).filter(|p| !p.trim().is_empty()) else {
            continue;
        };
        if vars.get(*name).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let content = std::fs::read_to_string(path.trim())
            .map_err(|e| bad(&file_var, format!("cannot read the file it names: {e}")))?;
        out.insert((*name).to_owned(), content.trim().to_owned());
    }
    Ok(out)
}
