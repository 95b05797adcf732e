//! Whether a request reached the site over HTTPS, for the cookies' `Secure` flag and HSTS.
//!
//! ipmat itself serves plain HTTP; TLS ends at a proxy in front of it. The real scheme is, in
//! order: `X-Forwarded-Proto` when the socket peer is a trusted proxy
//! (`IPMAT_TRUSTED_PROXIES`), else the scheme of `IPMAT_PUBLIC_URL` when set, else the
//! connection's own, plain HTTP. So log-in works on a plain-HTTP deployment (no `Secure`
//! cookie a browser would drop) and is protected behind TLS.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::state::AppState;

/// HSTS for a year; subdomains are not included, since they may be other sites.
const HSTS: &str = "max-age=31536000";

/// Whether the request was made over HTTPS (see the module documentation).
pub fn is_https(extensions: &axum::http::Extensions, headers: &HeaderMap, config: &Config) -> bool {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let from_proxy = peer.is_some_and(|ip| config.trusted_proxies.iter().any(|n| n.contains(ip)));
    if from_proxy {
        // A chain of proxies lists the scheme each saw; the first is the client's.
        let forwarded = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(proto) = forwarded {
            return proto.eq_ignore_ascii_case("https");
        }
    }
    if let Some(url) = &config.public_url {
        return url.starts_with("https://");
    }
    false
}

/// Extractor: `Https(true)` when the request came over HTTPS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Https(pub bool);

impl FromRequestParts<AppState> for Https {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Https(is_https(
            &parts.extensions,
            &parts.headers,
            &state.config,
        )))
    }
}

/// Middleware: `Strict-Transport-Security` on answers to HTTPS requests only (over plain HTTP
/// the header means nothing, and it must not pin a site that has no TLS).
pub async fn hsts(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let https = is_https(request.extensions(), request.headers(), &state.config);
    let mut response = next.run(request).await;
    if https {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(&map).unwrap()
    }

    fn request(peer: &str, proto: Option<&str>) -> (axum::http::Extensions, HeaderMap) {
        let mut ext = axum::http::Extensions::new();
        ext.insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
        let mut headers = HeaderMap::new();
        if let Some(p) = proto {
            headers.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
        }
        (ext, headers)
    }

    #[test]
    fn the_scheme_comes_from_a_trusted_proxy_then_the_public_url_then_the_connection() {
        let plain = config(&[("IPMAT_TRUSTED_PROXIES", "10.0.0.0/8")]);
        let public = config(&[
            ("IPMAT_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("IPMAT_PUBLIC_URL", "https://ipmat.example"),
        ]);
        let cases = [
            (&plain, "10.0.0.2:1", Some("https"), true),
            (&plain, "10.0.0.2:1", Some("HTTPS, http"), true),
            (&plain, "10.0.0.2:1", Some("http"), false),
            (&plain, "203.0.113.9:1", Some("https"), false),
            (&plain, "10.0.0.2:1", None, false),
            (&public, "10.0.0.2:1", None, true),
            (&public, "203.0.113.9:1", Some("http"), true),
            (&public, "10.0.0.2:1", Some("http"), false),
        ];
        for (config, peer, proto, want) in cases {
            let (ext, headers) = request(peer, proto);
            assert_eq!(is_https(&ext, &headers, config), want, "{peer} {proto:?}");
        }
    }
}
