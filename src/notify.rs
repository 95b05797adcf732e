//! The start/stop webhook (`IPMAT_NOTIFY_URL`), Slack-compatible: `{"text": "…"}`.
//!
//! A notification never blocks start-up or fails it: it is sent in the background with a
//! short timeout and a failure is only logged.

use std::time::Duration;

use crate::config::Secret;

/// Posts `text` to the webhook; errors are logged, never returned.
pub async fn send(url: &Secret, text: &str) {
    crate::install_crypto_provider();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the webhook client");
            return;
        }
    };
    let result = client
        .post(url.expose())
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .and_then(|r| r.error_for_status());
    match result {
        Ok(_) => tracing::debug!("webhook notified"),
        // The URL is a secret (Slack URLs carry a token): log the error without it.
        Err(e) => tracing::warn!(error = %e.without_url(), "the start/stop webhook failed"),
    }
}

/// The name this instance goes by in notifications (the container's host name).
pub fn instance_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned())
}
