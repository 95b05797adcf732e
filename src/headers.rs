//! Security headers on every response: a Content-Security-Policy, `nosniff`, frame protection
//! and a Referrer-Policy.
//!
//! The web app loads only its own scripts, styles, icons and manifest, calls only its own API,
//! and builds the DOM without inline code; images come from this origin or from
//! `IPMAT_MEDIA_BASE_URL` when that is an absolute URL (a CDN or a bucket). The API docs page
//! (`/docs`, Swagger UI) sets inline styles and uses `data:` icons, so it gets a policy of its
//! own that allows just that.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

/// The policy of every response except the docs page.
pub fn content_security_policy(config: &Config) -> String {
    let mut img = String::from("'self' data: blob:");
    if let Some(origin) = origin_of(&config.media_base_url) {
        img.push(' ');
        img.push_str(&origin);
    }
    format!(
        "default-src 'self'; img-src {img}; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of the docs page.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// `https://cdn.example/images` → `https://cdn.example`; `None` for a path.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Adds the headers to every response of `router` that does not set them itself.
pub fn apply(router: Router, config: &Config) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(config))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

/// The docs page's own policy (set before [`apply`] sees the response).
pub fn docs_policy<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_media_base_joins_the_image_sources() {
        assert_eq!(
            origin_of("https://cdn.example/images").as_deref(),
            Some("https://cdn.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/b").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin_of("/media"), None);
    }
}
