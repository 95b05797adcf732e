//! Parsers of single variables: networks, map links, the database URL, storage, numbers.

use std::path::PathBuf;

use super::{ConfigError, DatabaseUrl, StorageConfig, bad};

/// A map service whose search a champion screen links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapLink {
    Kakao,
    Naver,
}

/// Parses `IPMAT_MAP_LINKS`: a comma-separated list of `kakao` and `naver`; empty is none.
pub(super) fn parse_map_links(value: &str) -> Result<Vec<MapLink>, ConfigError> {
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

/// Who may read `/metrics` by default: loopback, the private IPv4 ranges and IPv6 ULA.
pub(super) const DEFAULT_METRICS_ALLOW: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// A comma-separated list of IPs and CIDR networks; `none` is the empty list.
pub(super) fn parse_networks(var: &str, value: &str) -> Result<Vec<IpNet>, ConfigError> {
    if value.trim() == "none" {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .map_err(|_| bad(var, format!("`{s}` is not an IP or CIDR")))
        })
        .collect()
}

pub(super) fn database_url<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<DatabaseUrl, ConfigError> {
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

pub(super) fn parse_storage(
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

pub(super) fn parse_http_url(var: &str, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| bad(var, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(var, "must be an http:// or https:// URL"));
    }
    Ok(value.to_owned())
}

pub(super) fn parse_number<'a>(
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
