//! `POST /api/v1/images` (uploads by admins, and by members within a quota) and `GET /media/{key}`.

use std::time::Instant;

use axum::Router;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::process::{self, MAX_FILE_BYTES, ProcessError};
use super::storage::{CACHE_CONTROL, content_type, is_valid_key};
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::state::AppState;

/// Largest upload request: the file plus room for the multipart framing around it.
pub const MAX_UPLOAD_BODY: usize = MAX_FILE_BYTES + 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/media/{*key}", axum::routing::get(get_media))
        .route(
            "/api/v1/images",
            // Inner layers win: this replaces the API's 1 MiB JSON limit for this route only.
            axum::routing::post(upload_image).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed("this method is not allowed on this path".to_owned())
        })
}

/// The OpenAPI description of the upload route (merged into the API document).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(upload_image),
    components(schemas(UploadedImage, UploadImageForm))
)]
pub struct MediaApi;

/// A stored image; `key` goes into `image_key`, `alt_image_key` or `cover_key`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadedImage {
    pub key: String,
    pub url: String,
    /// The same picture as lossy WebP, made once at upload.
    pub webp_url: String,
    pub width: u32,
    pub height: u32,
}

/// The multipart body of `POST /images` (documentation only: the handler streams it).
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadImageForm {
    /// JPEG, PNG, WebP or GIF, at most 10 MiB and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "images may be at most {} MiB",
        MAX_FILE_BYTES / (1024 * 1024)
    ))
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Reads the `file` field, counting bytes as they arrive: an oversized body is refused
/// at the first chunk past the limit, never held whole in memory.
async fn read_file_field(multipart: &mut Multipart) -> AppResult<Vec<u8>> {
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if data.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        return Ok(data);
    }
    Err(AppError::field(
        "file",
        "is missing: send the image in the multipart field `file`",
    ))
}

/// Stores an image: JPEG, PNG, WebP or GIF (first frame), shrunk to fit 600×500.
#[utoipa::path(post, path = "/api/v1/images", tag = "catalog",
    request_body(content = UploadImageForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadedImage),
        (status = 413, body = crate::error::Problem, description = "over 10 MiB or 40 megapixels"),
        (status = 415, body = crate::error::Problem, description = "not a JPEG, PNG, WebP or GIF"),
        (status = 422, body = crate::error::Problem, description = "no `file` field, or a corrupt image"),
    ),
    security(("bearer" = []), ("cookie" = [])))]
async fn upload_image(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, Json<UploadedImage>)> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BODY as u64) {
        return Err(too_large());
    }
    // Members upload for their community books within a daily quota; guests make no books.
    if !user.is_admin {
        if crate::community::access::is_guest(&state.db, user.id).await? {
            return Err(AppError::Forbidden("guests cannot upload images"));
        }
        crate::community::limits::take(
            &state.db,
            crate::community::limits::UPLOADS_PER_DAY,
            &user.id.to_string(),
        )
        .await?;
    }
    let mut multipart = multipart.map_err(|_| {
        AppError::UnsupportedMediaType(
            "send the image as multipart/form-data in the field `file`".to_owned(),
        )
    })?;
    let data = read_file_field(&mut multipart).await?;
    let received = data.len();

    let started = Instant::now();
    // Decoding runs under the image bound (a few at once, sized from the CPUs), which keeps
    // the memory of concurrent decodes bounded.
    let processed = state
        .image_work
        .run(move || process::process(&data))
        .await?
        .map_err(|e| match e {
            ProcessError::Unsupported => AppError::UnsupportedMediaType(e.to_string()),
            ProcessError::TooManyPixels { .. }
            | ProcessError::SideTooLong { .. }
            | ProcessError::TooDeep { .. } => AppError::PayloadTooLarge(e.to_string()),
            ProcessError::Corrupt(_) => AppError::field("file", e.to_string()),
            ProcessError::Encode(_) => AppError::Internal(e.into()),
        })?;
    let process_ms = started.elapsed().as_secs_f64() * 1000.0;

    let key = format!(
        "img/{}.{}",
        hex::encode(rand::random::<[u8; 16]>()),
        processed.encoding.extension()
    );
    let (width, height) = (processed.width, processed.height);
    let webp_bytes = processed.webp.len();
    state
        .storage
        .put(&key, Bytes::from(processed.bytes))
        .await
        .map_err(AppError::Unavailable)?;
    // The variant is recorded only once both files are stored.
    let webp = super::webp_key(&key).ok_or_else(|| anyhow::anyhow!("no WebP key for {key}"))?;
    state
        .storage
        .put(&webp, Bytes::from(processed.webp))
        .await
        .map_err(AppError::Unavailable)?;
    super::variants::record(&state.db, &key, &webp).await?;
    tracing::info!(
        %key,
        source = ?processed.source,
        received,
        webp_bytes,
        width,
        height,
        process_ms,
        "stored an uploaded image"
    );
    Ok((
        StatusCode::CREATED,
        Json(UploadedImage {
            url: state.storage.url(&key),
            webp_url: state.storage.url(&webp),
            key,
            width,
            height,
        }),
    ))
}

fn etag(key: &str) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(key.as_bytes()))[..32])
}

/// Serves a stored image with long-lived cache headers (from a folder or, proxied, a bucket).
async fn get_media(
    State(state): State<AppState>,
    crate::extract::Path(key): crate::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !is_valid_key(&key) {
        return Err(AppError::NotFound("image"));
    }
    let tag = etag(&key);
    let etag_value = HeaderValue::from_str(&tag).map_err(anyhow::Error::from)?;
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches
        && state
            .storage
            .exists(&key)
            .await
            .map_err(AppError::Unavailable)?
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [cache, (header::ETAG, etag_value)],
        )
            .into_response());
    }
    let bytes = state
        .storage
        .get(&key)
        .await
        .map_err(AppError::Unavailable)?
        .ok_or(AppError::NotFound("image"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&key)),
            ),
            cache,
            (header::ETAG, etag_value),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi;

    #[test]
    fn the_upload_route_is_documented_for_the_api_document() {
        let doc = MediaApi::openapi();
        let path = &doc.paths.paths["/api/v1/images"];
        assert!(path.post.is_some());
        let components = doc.components.expect("schemas are included");
        assert!(components.schemas.contains_key("UploadedImage"));
    }
}
