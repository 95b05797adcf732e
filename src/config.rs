//! Configuration from the environment and the dotenv file chosen by `IPMAT_MODE`.
//!
//! Every value is parsed and checked once, at start; a bad value stops the process with a
//! message that names the variable. Secrets are wrapped in [`Secret`] so that neither `Debug`
//! nor logs ever print them.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is handed to the service that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A database URL; it may carry a password, so `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(Secret::new(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced, fit for logs.
    pub fn redacted(&self) -> String {
        match url::Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(url) => url.to_string(),
            Err(_) => "<unparsable url>".to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
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
    /// `IPMAT_*` variables this program does not know (likely typos), logged at start.
    pub unknown_variables: Vec<String>,
}

/// A map service whose search a champion screen links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapLink {
    Kakao,
    Naver,
}

/// Parses `IPMAT_MAP_LINKS`: a comma-separated list of `kakao` and `naver`; empty is none.
fn parse_map_links(value: &str) -> Result<Vec<MapLink>, ConfigError> {
    let mut links = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let link = match name.to_ascii_lowercase().as_str() {
            "kakao" => MapLink::Kakao,
            "naver" => MapLink::Naver,
            other => {
                return Err(bad(
                    "IPMAT_MAP_LINKS",
                    format!("`{other}` is not a map service (use kakao, naver or both)"),
                ));
            }
        };
        if !links.contains(&link) {
            links.push(link);
        }
    }
    Ok(links)
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
        let notify_url = match get("IPMAT_NOTIFY_URL").or(get("IPMAT_SLACK_URL")) {
            None => None,
            Some(v) => Some(Secret::new(parse_http_url("IPMAT_NOTIFY_URL", v)?)),
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
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpNet>().map_err(|_| {
                        bad(
                            "IPMAT_TRUSTED_PROXIES",
                            format!("`{s}` is not an IP or CIDR"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
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

fn database_url<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<DatabaseUrl, ConfigError> {
    if let Some(url) = get("IPMAT_DATABASE_URL") {
        let scheme = url.split("://").next().unwrap_or_default();
        if !url.contains("://")
            || !matches!(
                scheme,
                "sqlite" | "mysql" | "mariadb" | "postgres" | "postgresql"
            )
        {
            return Err(bad(
                "IPMAT_DATABASE_URL",
                "must start with sqlite://, mysql:// or postgres://",
            ));
        }
        if scheme != "sqlite" {
            url::Url::parse(url)
                .map_err(|e| bad("IPMAT_DATABASE_URL", format!("not a valid URL: {e}")))?;
        }
        let url = url.replacen("mariadb://", "mysql://", 1);
        return Ok(DatabaseUrl::new(url));
    }
    let Some(host) = get("IPMAT_DB_HOST") else {
        for var in [
            "IPMAT_DB_PORT",
            "IPMAT_DB_NAME",
            "IPMAT_DB_USER",
            "IPMAT_DB_PASSWORD",
        ] {
            if get(var).is_some() {
                return Err(bad(var, "is set but IPMAT_DB_HOST is not"));
            }
        }
        return Ok(DatabaseUrl::new("sqlite://data/ipmat.db"));
    };
    let port: u16 = match get("IPMAT_DB_PORT") {
        None => 3306,
        Some(v) => v
            .parse()
            .map_err(|_| bad("IPMAT_DB_PORT", format!("`{v}` is not a port number")))?,
    };
    let name =
        get("IPMAT_DB_NAME").ok_or_else(|| bad("IPMAT_DB_NAME", "required with IPMAT_DB_HOST"))?;
    let user =
        get("IPMAT_DB_USER").ok_or_else(|| bad("IPMAT_DB_USER", "required with IPMAT_DB_HOST"))?;
    let mut url = url::Url::parse("mysql://localhost/").expect("a literal URL parses");
    url.set_host(Some(host))
        .map_err(|_| bad("IPMAT_DB_HOST", format!("`{host}` is not a host name")))?;
    url.set_port(Some(port)).expect("mysql URLs take a port");
    url.set_username(user).expect("mysql URLs take a user");
    if let Some(password) = get("IPMAT_DB_PASSWORD") {
        url.set_password(Some(password))
            .expect("mysql URLs take a password");
    }
    url.set_path(name);
    Ok(DatabaseUrl::new(url.to_string()))
}

fn parse_storage(
    storage: Option<&str>,
    bucket_alias: Option<&str>,
) -> Result<StorageConfig, ConfigError> {
    let value = match (storage, bucket_alias) {
        (Some(v), _) => v.to_owned(),
        (None, Some(bucket)) => format!("s3://{bucket}"),
        (None, None) => "file://data/media".to_owned(),
    };
    if let Some(dir) = value.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(bad("IPMAT_STORAGE", "file:// needs a directory"));
        }
        return Ok(StorageConfig::File(PathBuf::from(dir)));
    }
    if let Some(rest) = value.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(bad(
                "IPMAT_STORAGE",
                format!("`{bucket}` is not a valid S3 bucket name"),
            ));
        }
        return Ok(StorageConfig::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        });
    }
    Err(bad(
        "IPMAT_STORAGE",
        "must be file://DIR or s3://BUCKET[/PREFIX]",
    ))
}

fn parse_http_url(var: &str, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| bad(var, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(var, "must be an http:// or https:// URL"));
    }
    Ok(value.to_owned())
}

fn parse_number<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    var: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                var,
                format!("`{v}` is not a whole number from {min} to {max}"),
            )),
        },
    }
}

/// An IP network (`10.0.0.0/8`) or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        let ip = match ip {
            V6(v6) => v6.to_ipv4_mapped().map(V4).unwrap_or(V6(v6)),
            v4 => v4,
        };
        match (self.addr, ip) {
            (V4(net), V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (V6(net), V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(())?,
        };
        Ok(IpNet { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_variables() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.database_url.expose(), "sqlite://data/ipmat.db");
        assert_eq!(c.storage, StorageConfig::File("data/media".into()));
        assert_eq!(c.media_base_url, "/media");
        assert_eq!(c.seed, SeedMode::Auto);
    }

    #[test]
    fn the_originals_db_variables_build_a_mysql_url() {
        let c = Config::from_vars(&vars(&[
            ("IPMAT_DB_HOST", "db.example.com"),
            ("IPMAT_DB_NAME", "ipmat"),
            ("IPMAT_DB_USER", "app"),
            ("IPMAT_DB_PASSWORD", "p@ss/word"),
        ]))
        .unwrap();
        assert_eq!(
            c.database_url.expose(),
            "mysql://app:p%40ss%2Fword@db.example.com:3306/ipmat"
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("p%40ss"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn database_url_wins_over_db_host() {
        let c = Config::from_vars(&vars(&[
            ("IPMAT_DATABASE_URL", "postgres://u@h/db"),
            ("IPMAT_DB_HOST", "ignored"),
            ("IPMAT_DB_NAME", "x"),
            ("IPMAT_DB_USER", "y"),
        ]))
        .unwrap();
        assert_eq!(c.database_url.expose(), "postgres://u@h/db");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let cases = [
            ("IPMAT_MODE", "staging"),
            ("IPMAT_BIND", "localhost"),
            ("IPMAT_DATABASE_URL", "oracle://x"),
            ("IPMAT_STORAGE", "ftp://x"),
            ("IPMAT_STORAGE", "s3://Bad_Bucket"),
            ("IPMAT_MEDIA_BASE_URL", "cdn.example.com"),
            ("IPMAT_NOTIFY_URL", "not a url"),
            ("IPMAT_SEED", "yes"),
            ("IPMAT_LOG_FORMAT", "xml"),
            ("IPMAT_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("IPMAT_WORLDCUP_MAX_AGE_HOURS", "0"),
            ("IPMAT_DB_PORT", "99999"),
        ];
        for (var, value) in cases {
            let mut v = vars(&[(var, value)]);
            if var == "IPMAT_DB_PORT" {
                v.extend(vars(&[
                    ("IPMAT_DB_HOST", "h"),
                    ("IPMAT_DB_NAME", "n"),
                    ("IPMAT_DB_USER", "u"),
                ]));
            }
            let err = Config::from_vars(&v).expect_err(var);
            assert_eq!(err.var, var, "{value}: {err}");
        }
    }

    #[test]
    fn unknown_variables_are_reported() {
        let c = Config::from_vars(&vars(&[("IPMAT_SEDE", "off"), ("OTHER", "x")])).unwrap();
        assert_eq!(c.unknown_variables, ["IPMAT_SEDE"]);
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("ipmat-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let c = Config::from_vars(&vars(&[
            ("IPMAT_DB_HOST", "h"),
            ("IPMAT_DB_NAME", "n"),
            ("IPMAT_DB_USER", "u"),
            ("IPMAT_DB_PASSWORD_FILE", file.to_str().unwrap()),
        ]))
        .unwrap();
        assert_eq!(c.database_url.expose(), "mysql://u:s3cret@h:3306/n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_bucket_alias_of_the_original_selects_s3() {
        let c = Config::from_vars(&vars(&[("IPMAT_S3_BUCKETNAME", "ipmat-upload")])).unwrap();
        assert_eq!(
            c.storage,
            StorageConfig::S3 {
                bucket: "ipmat-upload".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNet = "172.16.0.0/12".parse().unwrap();
        assert!(net.contains("172.20.1.2".parse().unwrap()));
        assert!(!net.contains("172.32.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:172.20.1.2".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
    }
}
