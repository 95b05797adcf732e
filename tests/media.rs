//! Images: uploads and their refusals, `/media`, both storage backends (a folder and a real
//! S3-protocol server), WebP variants and their backfill, orphan clean-up, and catalog
//! export/import round trips.
//!
//! Storage-only behaviour runs on SQLite; whatever reads or writes rows runs on every engine.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Engine, TestApp};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use ipmat::media::{ORPHAN_GRACE, Storage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_all_engines!(
    uploads_get_a_webp_that_the_api_lists_and_that_goes_with_them,
    pictures_stored_before_webp_get_theirs_from_the_backfill,
    replaced_and_deleted_images_are_removed_once_unused,
    the_sweep_removes_only_old_images_nothing_uses,
    export_then_import_reproduces_the_catalog,
);

// ---------------------------------------------------------------------------------------
// Building images and requests

/// A photo-like picture: a colour gradient with noise (so it compresses like a photo).
fn photo(width: u32, height: u32) -> DynamicImage {
    let mut seed = 0x2545_f491_u32;
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = seed % 32;
        Rgb([
            ((x * 200 / width) + noise) as u8,
            ((y * 200 / height) + noise) as u8,
            (128 + noise) as u8,
        ])
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF APP1 segment with the given orientation tag, built by hand.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // big-endian TIFF, first IFD at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry:
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation,
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT,
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value,
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A well-formed PNG whose header claims `width`×`height` over a few bytes of pixel data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A real JPEG whose frame header is rewritten to claim `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode(&photo(64, 48), ImageFormat::Jpeg);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline JPEG has SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

const BOUNDARY: &str = "ipmat-test-boundary-6b1d0c";

/// A multipart body holding one file field; answers (content type, body).
fn multipart(field: &str, filename: &str, content_type: &str, data: &[u8]) -> (String, Vec<u8>) {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; \
         filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// Posts a raw body to `/api/v1/images`; answers the status and the JSON body.
async fn post_image(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url("/api/v1/images"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    assert!(status.as_u16() < 500, "{status}: {text}");
    if !status.is_success() {
        assert_eq!(kind, "application/problem+json", "{status}: {text}");
    }
    (status, serde_json::from_str(&text).unwrap())
}

/// Uploads a file as the `file` field and answers the status and body.
async fn upload(app: &TestApp, token: &str, name: &str, data: &[u8]) -> (StatusCode, Value) {
    let (content_type, body) = multipart("file", name, "application/octet-stream", data);
    post_image(app, Some(token), &content_type, body).await
}

/// Uploads a file that must be accepted; answers the stored key.
async fn stored(app: &TestApp, token: &str, data: &[u8]) -> String {
    let (status, body) = upload(app, token, "photo.jpg", data).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

async fn fetch(app: &TestApp, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let url = if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_owned()
    };
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn stored_files(dir: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(folder))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Fetches a WebP variant: served as `image/webp` with the media headers and decodable;
/// answers the decoded picture.
async fn fetch_webp(app: &TestApp, url: &str) -> DynamicImage {
    let (status, headers, bytes) = fetch(app, url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    assert_eq!(headers["content-type"], "image/webp", "{url}");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        (&bytes[..4], &bytes[8..12]),
        (&b"RIFF"[..], &b"WEBP"[..]),
        "{url}"
    );
    assert!(
        bytes.windows(4).any(|w| w == b"VP8 "),
        "{url}: lossy WebP (a VP8 chunk)"
    );
    image::load_from_memory_with_format(&bytes, ImageFormat::WebP).unwrap()
}

/// The `/media/…` path of a URL the API answers.
fn media_key(url: &Value) -> String {
    url.as_str()
        .and_then(|u| u.strip_prefix("/media/"))
        .unwrap_or_else(|| panic!("not a media URL: {url}"))
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// Uploads

#[tokio::test]
async fn uploads_need_a_signed_in_member() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let member = app.signup("member").await;
    let (content_type, body) = multipart(
        "file",
        "a.png",
        "image/png",
        &encode(&photo(8, 8), ImageFormat::Png),
    );
    let (status, problem) = post_image(&app, None, &content_type, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["code"], "unauthorized");
    assert!(stored_files(&app.media_dir, "img").is_empty());
    // Members upload for their community books (the daily quota: tests/community.rs).
    let (status, image) = post_image(&app, Some(&member), &content_type, body).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    let key = image["key"].as_str().unwrap();
    let webp = format!("{}.webp", key.strip_suffix(".jpg").unwrap());
    assert_eq!(
        stored_files(&app.media_dir, "img"),
        [&key["img/".len()..], &webp["img/".len()..]],
        "the picture and its WebP"
    );
}

#[tokio::test]
async fn uploads_are_shrunk_to_fit_600_by_500_and_served_with_cache_headers() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    let cases = [
        ((4000, 3000), (600, 450)),
        ((300, 200), (300, 200)),
        ((1000, 1000), (500, 500)),
        ((500, 1500), (167, 500)),
    ];
    for ((w, h), (want_w, want_h)) in cases {
        let (status, body) = upload(
            &app,
            &admin,
            "photo.jpg",
            &encode(&photo(w, h), ImageFormat::Jpeg),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{w}×{h}: {body}");
        assert_eq!(
            (body["width"].as_u64(), body["height"].as_u64()),
            (Some(want_w), Some(want_h)),
            "{w}×{h}"
        );
        let key = body["key"].as_str().unwrap();
        assert!(key.starts_with("img/") && key.ends_with(".jpg"), "{key}");
        let name = &key["img/".len()..key.len() - ".jpg".len()];
        assert!(
            name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}"
        );
        assert_eq!(body["url"], format!("/media/{key}"));

        let (status, headers, bytes) = fetch(&app, body["url"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "image/jpeg");
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(headers.contains_key("etag"));
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (served.width(), served.height()),
            (want_w as u32, want_h as u32)
        );
        assert_eq!(
            bytes,
            std::fs::read(app.media_dir.join(key)).unwrap(),
            "the file is stored"
        );
    }
    // The same picture again is a new image under a new key.
    stored(&app, &admin, &encode(&photo(300, 200), ImageFormat::Jpeg)).await;
    assert_eq!(
        stored_files(&app.media_dir, "img").len(),
        2 * (cases.len() + 1),
        "each with its WebP"
    );
}

#[tokio::test]
async fn png_webp_and_gif_uploads_are_accepted_and_transparency_is_kept() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;

    let webp = encode(&photo(800, 400), ImageFormat::WebP);
    let (status, body) = upload(&app, &admin, "x.webp", &webp).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(600), Some(300))
    );
    assert!(body["key"].as_str().unwrap().ends_with(".jpg"));

    // An animated GIF: the first frame (red) is stored.
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for colour in [[220, 20, 20, 255], [20, 20, 220, 255]] {
            let frame = image::Frame::new(RgbaImage::from_pixel(40, 30, Rgba(colour)));
            encoder.encode_frame(frame).unwrap();
        }
    }
    let (status, body) = upload(&app, &admin, "x.gif", &gif).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(40), Some(30))
    );
    let (_, _, bytes) = fetch(&app, body["url"].as_str().unwrap()).await;
    let first = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let p = first.get_pixel(20, 15).0;
    assert!(p[0] > 180 && p[2] < 60, "the first frame is kept: {p:?}");

    // Transparency survives as PNG; an opaque PNG becomes a JPEG.
    let mut clear = RgbaImage::from_pixel(1200, 1000, Rgba([10, 200, 10, 255]));
    for x in 0..600 {
        clear.put_pixel(x, 0, Rgba([0, 0, 0, 0]));
    }
    let (status, body) = upload(
        &app,
        &admin,
        "x.png",
        &encode(&DynamicImage::ImageRgba8(clear), ImageFormat::Png),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["key"].as_str().unwrap().ends_with(".png"), "{body}");
    let (_, headers, bytes) = fetch(&app, body["url"].as_str().unwrap()).await;
    assert_eq!(headers["content-type"], "image/png");
    let back = image::load_from_memory(&bytes).unwrap();
    assert_eq!((back.width(), back.height()), (600, 500));
    assert!(back.color().has_alpha());
    let (status, body) = upload(
        &app,
        &admin,
        "x.png",
        &encode(&photo(50, 50), ImageFormat::Png),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["key"].as_str().unwrap().ends_with(".jpg"), "{body}");
}

#[tokio::test]
async fn exif_orientation_is_applied_and_metadata_stripped() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    // Left half red, right half blue; orientation 6 means "rotate 90° clockwise", so the
    // upright picture is portrait with red on top. 400×200 turns to 200×400 (it fits);
    // 1200×600 turns to 600×1200, which is shrunk to 250×500.
    for ((w, h), (want_w, want_h)) in [((400, 200), (200, 400)), ((1200, 600), (250, 500))] {
        let picture = RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                Rgb([230, 10, 10])
            } else {
                Rgb([10, 10, 230])
            }
        });
        let jpeg = encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Jpeg);
        let tagged = with_exif_orientation(&jpeg, 6);
        assert!(tagged.windows(4).any(|w| w == b"Exif"));
        let (status, body) = upload(&app, &admin, "phone.jpg", &tagged).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            (body["width"].as_u64(), body["height"].as_u64()),
            (Some(u64::from(want_w)), Some(u64::from(want_h))),
            "{w}×{h}"
        );
        let (_, _, bytes) = fetch(&app, body["url"].as_str().unwrap()).await;
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "metadata is stripped"
        );
        let upright = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(upright.dimensions(), (want_w, want_h));
        let top = upright.get_pixel(want_w / 2, want_h / 4).0;
        let bottom = upright.get_pixel(want_w / 2, want_h * 3 / 4).0;
        assert!(
            top[0] > 180 && top[2] < 60,
            "the left (red) side is now on top: {top:?}"
        );
        assert!(bottom[2] > 180 && bottom[0] < 60, "{bottom:?}");
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_problem_and_nothing_is_stored() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    let png = encode(&photo(300, 200), ImageFormat::Png);
    let jpeg = encode(&photo(300, 200), ImageFormat::Jpeg);
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&[0; 60]);
    // (what, (content type, body), status, code)
    type Case<'a> = (&'a str, (String, Vec<u8>), StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "a text file named x.jpg, declared as a JPEG",
            multipart(
                "file",
                "x.jpg",
                "image/jpeg",
                b"just some text, not a picture",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "an SVG",
            multipart(
                "file",
                "x.svg",
                "image/svg+xml",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a BMP",
            multipart("file", "x.bmp", "image/bmp", &bmp),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "an empty file",
            multipart("file", "x.png", "image/png", b""),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a truncated PNG",
            multipart("file", "x.png", "image/png", &png[..png.len() / 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "a truncated JPEG",
            multipart("file", "x.jpg", "image/jpeg", &jpeg[..jpeg.len() * 2 / 3]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "a PNG header claiming 50000×50000 pixels",
            multipart("file", "x.png", "image/png", &png_claiming(50_000, 50_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "a JPEG header claiming 8000×6000 pixels (48 MP)",
            multipart("file", "x.jpg", "image/jpeg", &jpeg_claiming(8000, 6000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "the image in a field not named file",
            multipart("image", "x.png", "image/png", &png),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "a JSON body",
            ("application/json".to_owned(), b"{\"file\": \"x\"}".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a malformed multipart body",
            (
                format!("multipart/form-data; boundary={BOUNDARY}"),
                b"--nope\r\n".to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (what, (content_type, body), status, code) in cases {
        let (got, problem) = post_image(&app, Some(&admin), &content_type, body).await;
        assert_eq!(got, status, "{what}: {problem}");
        assert_eq!(problem["code"], code, "{what}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}"
        );
    }
    let (_, problem) = upload(&app, &admin, "x.png", &png_claiming(50_000, 50_000)).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("50000×50000"),
        "{problem}"
    );
    let (_, problem) = upload(&app, &admin, "x.png", &png[..png.len() / 2]).await;
    assert_eq!(problem["errors"][0]["field"], "file", "{problem}");
    assert!(
        stored_files(&app.media_dir, "img").is_empty(),
        "nothing was stored"
    );
    // The server is still fine.
    stored(&app, &admin, &png).await;
}

#[tokio::test]
async fn bodies_over_10_mib_are_refused_without_being_read_whole() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    let big = vec![0xAB_u8; 10 * 1024 * 1024 + 1];

    // With a Content-Length: refused from the header alone.
    let (content_type, body) = multipart("file", "big.jpg", "image/jpeg", &big);
    let (status, problem) = post_image(&app, Some(&admin), &content_type, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(problem["code"], "payload_too_large");

    // Chunked, without a length: refused by the running count.
    let (content_type, body) = multipart("file", "big.jpg", "image/jpeg", &big);
    let chunks: Vec<Result<http_body::Frame<bytes::Bytes>, std::io::Error>> = body
        .chunks(256 * 1024)
        .map(|c| Ok(http_body::Frame::data(bytes::Bytes::copy_from_slice(c))))
        .collect();
    let stream = reqwest::Body::wrap(http_body_util::StreamBody::new(futures::stream::iter(
        chunks,
    )));
    let (status, problem) = post_image(&app, Some(&admin), &content_type, stream).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");

    // A raw request that announces 11 MiB and sends none of it is answered at once.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        11 * 1024 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut answer))
        .await
        .expect("the answer comes before the body")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    assert!(stored_files(&app.media_dir, "img").is_empty());
}

#[tokio::test]
async fn media_never_leaves_the_storage_and_answers_304_to_a_known_etag() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    let key = stored(&app, &admin, &encode(&photo(30, 20), ImageFormat::Png)).await;
    let url = format!("/media/{key}");
    let (_, headers, _) = fetch(&app, &url).await;
    let etag = headers["etag"].to_str().unwrap();
    let again = app
        .client
        .get(app.url(&url))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag);
    std::fs::write(app.database_dir().join("secret.txt"), "secret").unwrap();
    for path in [
        "/media/img",
        "/media/img/",
        "/media/IMG/x.jpg",
        "/media/..%2Fsecret.txt",
        "/media/img/..%2F..%2Fsecret.txt",
        "/media/img/missing.jpg",
    ] {
        let (status, _, body) = fetch(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "{path}");
    }
}

// ---------------------------------------------------------------------------------------
// S3

/// A real S3-protocol server (s3s-fs) over `root`, on a free port; answers its endpoint.
async fn start_s3(root: &Path) -> String {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;

    let fs = s3s_fs::FileSystem::new(root).unwrap_or_else(|e| panic!("s3s-fs: {e:?}"));
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(
        "test-access",
        "test-secret",
    ));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    endpoint
}

#[tokio::test]
async fn uploads_go_to_an_s3_bucket_and_urls_use_the_media_base_url() {
    let root = std::env::temp_dir().join(format!(
        "ipmat-s3-{}",
        &ipmat::accounts::auth::new_token()[..12]
    ));
    std::fs::create_dir_all(root.join("ipmat-media")).unwrap();
    let endpoint = start_s3(&root).await;
    let s3_vars = [
        ("IPMAT_SEED", "off"),
        ("IPMAT_STORAGE", "s3://ipmat-media/prod"),
        ("IPMAT_S3_ENDPOINT", endpoint.as_str()),
        ("IPMAT_S3_REGION", "us-east-1"),
        ("IPMAT_S3_ACCESS_KEY_ID", "test-access"),
        ("IPMAT_S3_SECRET_ACCESS_KEY", "test-secret"),
        ("IPMAT_MEDIA_BASE_URL", "https://cdn.example.com/ipmat"),
    ];
    let app = TestApp::spawn_with(Engine::Sqlite, &s3_vars).await;
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "the bucket answers");
    let admin = app.admin().await;

    let (status, body) = upload(
        &app,
        &admin,
        "p.jpg",
        &encode(&photo(1200, 900), ImageFormat::Jpeg),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    assert_eq!(body["url"], format!("https://cdn.example.com/ipmat/{key}"));
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(600), Some(450))
    );
    let object = root.join("ipmat-media/prod").join(&key);
    let in_bucket = std::fs::read(&object).expect("the object is in the bucket, under the prefix");
    let webp_key = format!("{}.webp", key.strip_suffix(".jpg").unwrap());
    assert_eq!(
        body["webp_url"],
        format!("https://cdn.example.com/ipmat/{webp_key}")
    );
    let webp_object = root.join("ipmat-media/prod").join(&webp_key);
    assert!(webp_object.exists(), "the WebP is in the bucket too");
    let picture = fetch_webp(&app, &format!("/media/{webp_key}")).await;
    assert_eq!((picture.width(), picture.height()), (600, 450));
    assert!(
        !app.media_dir.join(&key).exists(),
        "nothing is written locally"
    );

    // `/media` proxies the bucket, with the same headers as local storage.
    let (status, headers, bytes) = fetch(&app, &format!("/media/{key}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(bytes, in_bucket);

    // Foods take the key (its existence is checked in the bucket) and answer the CDN URL.
    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "비빔밥", "image_key": key}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    assert_eq!(
        food["image_url"],
        format!("https://cdn.example.com/ipmat/{key}")
    );
    assert_eq!(food["image_webp_url"], body["webp_url"]);
    let (status, problem) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "냉면", "image_key": "img/0123456789abcdef0123456789abcdef.jpg"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // Deleting the food deletes the object it alone used.
    let id = food["id"].as_i64().unwrap();
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/foods/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!object.exists(), "the object left the bucket");
    assert!(!webp_object.exists(), "so did its WebP");

    // The sweep lists the bucket too, and takes the WebP with its picture.
    let young = stored(&app, &admin, &encode(&photo(10, 10), ImageFormat::Jpeg)).await;
    let storage = Storage::from_config(&app.config).await.unwrap();
    assert_eq!(storage.list("img/").await.unwrap().len(), 2);
    assert_eq!(
        ipmat::media::sweep_orphans(&app.db, &storage, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert!(!root.join("ipmat-media/prod").join(&young).exists());
    assert!(storage.list("img/").await.unwrap().is_empty());

    // A picture stored in the bucket before variants existed gets one from the backfill.
    let old_key = "img/00112233445566778899aabbccddeeff.jpg";
    storage
        .put(old_key, encode(&photo(400, 300), ImageFormat::Jpeg).into())
        .await
        .unwrap();
    let (status, old) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "잡채", "image_key": old_key}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{old}");
    assert_eq!(old["image_webp_url"], Value::Null);
    let bound = ipmat::media::image_bound();
    assert_eq!(
        ipmat::media::backfill_webp(&app.db, &storage, &bound)
            .await
            .unwrap(),
        1
    );
    let (_, old) = app.get(&format!("/api/v1/foods/{}", old["id"])).await;
    assert_eq!(
        old["image_webp_url"],
        "https://cdn.example.com/ipmat/img/00112233445566778899aabbccddeeff.webp"
    );
    let picture = fetch_webp(&app, "/media/img/00112233445566778899aabbccddeeff.webp").await;
    assert_eq!((picture.width(), picture.height()), (400, 300));

    // A missing bucket makes the instance unready.
    std::fs::remove_dir_all(root.join("ipmat-media")).unwrap();
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    std::fs::remove_dir_all(&root).ok();
}

// ---------------------------------------------------------------------------------------
// WebP variants

async fn uploads_get_a_webp_that_the_api_lists_and_that_goes_with_them(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let exists = |key: &str| app.media_dir.join(key).exists();
    let variants_of =
        |key: &str| format!("SELECT COUNT(*) FROM image_variants WHERE image_key = '{key}'");

    // An opaque photo: its WebP has the JPEG's size and shows the same picture.
    let original = photo(1200, 900);
    let (status, a) = upload(&app, &admin, "a.jpg", &encode(&original, ImageFormat::Jpeg)).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let a_key = a["key"].as_str().unwrap().to_owned();
    let a_webp = media_key(&a["webp_url"]);
    assert_eq!(
        a_webp,
        format!("{}.webp", a_key.strip_suffix(".jpg").unwrap())
    );
    let webp = fetch_webp(&app, a["webp_url"].as_str().unwrap())
        .await
        .to_rgb8();
    assert_eq!(webp.dimensions(), (600, 450));
    let (_, _, jpeg) = fetch(&app, a["url"].as_str().unwrap()).await;
    let jpeg = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    let diff: u64 = jpeg
        .as_raw()
        .iter()
        .zip(webp.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    let mean = diff as f64 / jpeg.as_raw().len() as f64;
    assert!(
        mean < 6.0,
        "the WebP shows the JPEG's picture (mean difference {mean})"
    );
    assert_eq!(app.scalar(&variants_of(&a_key)).await, 1);

    // A transparent PNG keeps its alpha in the WebP.
    let mut clear = RgbaImage::from_pixel(200, 100, Rgba([10, 200, 10, 255]));
    for x in 0..100 {
        clear.put_pixel(x, 0, Rgba([0, 0, 0, 0]));
    }
    let (status, b) = upload(
        &app,
        &admin,
        "b.png",
        &encode(&DynamicImage::ImageRgba8(clear), ImageFormat::Png),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let b_key = b["key"].as_str().unwrap().to_owned();
    assert!(b_key.ends_with(".png"), "{b_key}");
    let alpha = fetch_webp(&app, b["webp_url"].as_str().unwrap())
        .await
        .to_rgba8();
    assert_eq!(alpha.dimensions(), (200, 100));
    assert_eq!(
        alpha.get_pixel(10, 0).0[3],
        0,
        "transparent stays transparent"
    );
    assert_eq!(alpha.get_pixel(150, 50).0[3], 255);
    let c_key = stored(&app, &admin, &encode(&photo(300, 200), ImageFormat::Jpeg)).await;
    let c_webp = format!("{}.webp", c_key.strip_suffix(".jpg").unwrap());

    // The API names each variant next to its picture, and only where there is one.
    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "비빔밥", "image_key": a_key, "alt_image_key": b_key}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    assert_eq!(food["image_webp_url"], a["webp_url"]);
    assert_eq!(food["alt_image_webp_url"], b["webp_url"]);
    let (_, plain) = app
        .post("/api/v1/foods", Some(&admin), json!({"name": "물냉면"}))
        .await;
    assert_eq!(plain["image_webp_url"], Value::Null, "{plain}");
    assert_eq!(plain["alt_image_webp_url"], Value::Null, "{plain}");
    let (food_id, plain_id) = (food["id"].as_i64().unwrap(), plain["id"].as_i64().unwrap());
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "책", "cover_key": c_key, "food_ids": [food_id, plain_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    let book_id = book["id"].as_i64().unwrap();
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(media_key(&detail["cover_webp_url"]), c_webp);
    let (_, books) = app.get("/api/v1/books").await;
    let listed = books
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == book_id)
        .unwrap();
    assert_eq!(listed["cover_webp_url"], detail["cover_webp_url"]);
    let served = detail["foods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == food_id)
        .unwrap();
    assert_eq!(served["image_webp_url"], a["webp_url"]);
    let (_, alone) = app.get(&format!("/api/v1/foods/{food_id}")).await;
    assert_eq!(alone["alt_image_webp_url"], b["webp_url"]);
    // Every WebP the API names is there.
    for url in [
        &served["image_webp_url"],
        &served["alt_image_webp_url"],
        &detail["cover_webp_url"],
    ] {
        fetch_webp(&app, url.as_str().unwrap()).await;
    }

    // Replacing a picture deletes it with its WebP and its row; the cover stays in use.
    let (status, body) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/foods/{food_id}"),
            Some(&admin),
            Some(json!({"image_key": c_key, "alt_image_key": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(media_key(&body["image_webp_url"]), c_webp);
    assert_eq!(body["alt_image_webp_url"], Value::Null);
    assert!(
        !exists(&a_key) && !exists(&a_webp),
        "A and its WebP are gone"
    );
    assert!(!exists(&b_key) && !exists(&media_key(&b["webp_url"])));
    assert_eq!(app.scalar(&variants_of(&a_key)).await, 0);
    assert_eq!(app.scalar(&variants_of(&b_key)).await, 0);
    let (status, _, _) = fetch(&app, a["webp_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The last user of C goes: so do C, its WebP and its row.
    for path in [
        format!("/api/v1/books/{book_id}"),
        format!("/api/v1/foods/{food_id}"),
    ] {
        let (status, _) = app
            .call(reqwest::Method::DELETE, &path, Some(&admin), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(exists(&c_key), path.contains("books"), "{path}");
        assert_eq!(exists(&c_webp), path.contains("books"), "{path}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM image_variants").await, 0);
    assert!(stored_files(&app.media_dir, "img").is_empty());
}

async fn pictures_stored_before_webp_get_theirs_from_the_backfill(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let storage = Storage::from_config(&app.config).await.unwrap();
    let bound = ipmat::media::image_bound();
    // Pictures stored by a release without variants: in the storage, named by rows, no WebP.
    let old_photo = encode(&photo(600, 450), ImageFormat::Jpeg);
    let old_cover = encode(&photo(320, 200), ImageFormat::Jpeg);
    let photo_key = "img/0123456789abcdef0123456789abcdef.jpg";
    let cover_key = "seed/0123456789abcdef-old-cover.jpg";
    storage.put(photo_key, old_photo.into()).await.unwrap();
    storage.put(cover_key, old_cover.into()).await.unwrap();
    let unused = stored(&app, &admin, &encode(&photo(30, 20), ImageFormat::Jpeg)).await;
    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "잡채", "image_key": photo_key}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    let id = food["id"].as_i64().unwrap();
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "옛 책", "cover_key": cover_key, "food_ids": [id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    let book_id = book["id"].as_i64().unwrap();
    // No page points at a WebP that does not exist.
    assert_eq!(food["image_webp_url"], Value::Null, "{food}");
    assert_eq!(book["cover_webp_url"], Value::Null, "{book}");

    // The backfill makes the two missing ones (not the unused upload's, which has its own),
    // once.
    let made = ipmat::media::backfill_webp(&app.db, &storage, &bound)
        .await
        .unwrap();
    assert_eq!(made, 2);
    assert_eq!(
        ipmat::media::backfill_webp(&app.db, &storage, &bound)
            .await
            .unwrap(),
        0,
        "nothing is made twice"
    );
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(
        media_key(&detail["cover_webp_url"]),
        "seed/0123456789abcdef-old-cover.webp"
    );
    let cover = fetch_webp(&app, detail["cover_webp_url"].as_str().unwrap()).await;
    assert_eq!((cover.width(), cover.height()), (320, 200));
    let food_url = &detail["foods"][0]["image_webp_url"];
    assert_eq!(
        media_key(food_url),
        "img/0123456789abcdef0123456789abcdef.webp"
    );
    let picture = fetch_webp(&app, food_url.as_str().unwrap()).await;
    assert_eq!((picture.width(), picture.height()), (600, 450));
    assert!(app.media_dir.join(&unused).exists());

    // At start: a database whose variant went missing gets it back from the maintenance
    // round that runs when the server starts.
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/books/{book_id}"),
        Some(&admin),
        None,
    )
    .await;
    ipmat::db::exec(
        &app.db,
        "DELETE FROM image_variants WHERE image_key = ?",
        vec![photo_key.into()],
    )
    .await
    .unwrap();
    storage
        .delete("img/0123456789abcdef0123456789abcdef.webp")
        .await
        .unwrap();
    let (_, food) = app.get(&format!("/api/v1/foods/{id}")).await;
    assert_eq!(food["image_webp_url"], Value::Null, "{food}");
    let app = app.restart(&[("IPMAT_SEED", "off")]).await;
    let mut filled = Value::Null;
    for _ in 0..100 {
        let (_, food) = app.get(&format!("/api/v1/foods/{id}")).await;
        filled = food["image_webp_url"].clone();
        if !filled.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(filled.is_string(), "the start made the WebP again");
    let picture = fetch_webp(&app, filled.as_str().unwrap()).await;
    assert_eq!((picture.width(), picture.height()), (600, 450));
}

// ---------------------------------------------------------------------------------------
// Orphans

/// A catalog folder whose two foods share one image and whose book has a cover.
fn tiny_catalog(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(
        dir.join("images/shared.png"),
        encode(&photo(20, 20), ImageFormat::Png),
    )
    .unwrap();
    std::fs::write(
        dir.join("images/cover.jpg"),
        encode(&photo(30, 20), ImageFormat::Jpeg),
    )
    .unwrap();
    let catalog = json!({
        "format": "ipmat-catalog", "version": 1,
        "categories": [{"name": "면"}],
        "foods": [
            {"name": "라면", "description": "", "details": "", "categories": ["면"],
             "image": "images/shared.png", "credit": "", "alt_image": null, "alt_credit": null},
            {"name": "우동", "description": "", "details": "", "categories": ["면"],
             "image": "images/shared.png", "credit": "", "alt_image": null, "alt_credit": null}
        ],
        "books": [{"name": "면 월드컵", "priority": 1, "cover": "images/cover.jpg", "foods": ["라면", "우동"]}],
        "pairs": [["라면", "우동"]]
    });
    std::fs::write(
        dir.join("catalog.json"),
        serde_json::to_vec_pretty(&catalog).unwrap(),
    )
    .unwrap();
}

async fn replaced_and_deleted_images_are_removed_once_unused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let exists = |key: &str| app.media_dir.join(key).exists();
    let [a, b, c] = [
        stored(&app, &admin, &encode(&photo(10, 10), ImageFormat::Jpeg)).await,
        stored(&app, &admin, &encode(&photo(11, 10), ImageFormat::Jpeg)).await,
        stored(&app, &admin, &encode(&photo(12, 10), ImageFormat::Jpeg)).await,
    ];
    let food = |name: &str, image: &str, alt: Option<&str>| json!({"name": name, "image_key": image, "alt_image_key": alt});
    let (_, one) = app
        .post("/api/v1/foods", Some(&admin), food("하나", &a, Some(&b)))
        .await;
    let (_, two) = app
        .post("/api/v1/foods", Some(&admin), food("둘", &a, None))
        .await;
    let (one, two) = (one["id"].as_i64().unwrap(), two["id"].as_i64().unwrap());
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "책", "cover_key": c, "food_ids": [one, two]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    let book = book["id"].as_i64().unwrap();
    let patch = |path: String, body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.call(reqwest::Method::PATCH, &path, Some(&admin), Some(body))
                .await
        }
    };

    // A is shared: replacing it in one food keeps it; B is replaced and goes.
    let (status, body) = patch(
        format!("/api/v1/foods/{one}"),
        json!({"image_key": c, "alt_image_key": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let webp = |key: &str| format!("{}.webp", key.strip_suffix(".jpg").unwrap());
    assert!(exists(&a) && !exists(&b) && exists(&c));
    assert!(exists(&webp(&a)) && !exists(&webp(&b)) && exists(&webp(&c)));
    // A patch that leaves the images alone deletes nothing.
    patch(
        format!("/api/v1/foods/{two}"),
        json!({"description": "국물"}),
    )
    .await;
    assert!(exists(&a));
    // Deleting the last food that uses A removes it.
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/foods/{two}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!exists(&a) && !exists(&webp(&a)));
    // C is the cover and food one's image: changing the cover keeps it, deleting the food
    // then removes it.
    let d = stored(&app, &admin, &encode(&photo(13, 10), ImageFormat::Jpeg)).await;
    let (status, body) = patch(format!("/api/v1/books/{book}"), json!({"cover_key": d})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(exists(&c));
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/foods/{one}"),
        Some(&admin),
        None,
    )
    .await;
    assert!(!exists(&c) && exists(&d));
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/books/{book}"),
        Some(&admin),
        None,
    )
    .await;
    assert!(!exists(&d));

    // Imported (seed) images are shared by content: kept while any food names them.
    let dir = app.database_dir().join("tiny");
    tiny_catalog(&dir);
    let storage = Storage::from_config(&app.config).await.unwrap();
    ipmat::seed::import(
        &app.db,
        &storage,
        &ipmat::seed::Source::Dir(dir),
        &ipmat::seed::Progress::quiet(),
    )
    .await
    .unwrap();
    let seeds = stored_files(&app.media_dir, "seed");
    assert_eq!(seeds.len(), 4, "two pictures and their WebP: {seeds:?}");
    assert_eq!(seeds.iter().filter(|s| s.ends_with(".webp")).count(), 2);
    let (_, foods) = app.get("/api/v1/foods").await;
    let ids: Vec<i64> = foods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/foods/{}", ids[0]),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        stored_files(&app.media_dir, "seed").len(),
        4,
        "the other food still uses it"
    );
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/foods/{}", ids[1]),
        Some(&admin),
        None,
    )
    .await;
    let left = stored_files(&app.media_dir, "seed");
    assert_eq!(
        left.len(),
        2,
        "only the book cover and its WebP are left: {left:?}"
    );
    assert!(left.iter().all(|f| f.contains("-cover.")), "{left:?}");
}

async fn the_sweep_removes_only_old_images_nothing_uses(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let storage = Storage::from_config(&app.config).await.unwrap();
    let used = stored(&app, &admin, &encode(&photo(10, 10), ImageFormat::Jpeg)).await;
    let cover = stored(&app, &admin, &encode(&photo(11, 10), ImageFormat::Jpeg)).await;
    let unused = stored(&app, &admin, &encode(&photo(12, 10), ImageFormat::Jpeg)).await;
    let (status, _) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "김밥", "alt_image_key": used}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "책", "cover_key": cover, "food_ids": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Files ipmat does not manage are never touched.
    std::fs::create_dir_all(app.media_dir.join("other")).unwrap();
    std::fs::write(app.media_dir.join("other/keep.jpg"), b"x").unwrap();

    // Within the grace period an unused upload is left alone: its food may be on its way.
    assert_eq!(
        ipmat::media::sweep_orphans(&app.db, &storage, ORPHAN_GRACE)
            .await
            .unwrap(),
        0
    );
    assert!(app.media_dir.join(&unused).exists());
    assert_eq!(
        ipmat::media::sweep_orphans(&app.db, &storage, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let webp = |key: &str| {
        app.media_dir
            .join(format!("{}.webp", key.strip_suffix(".jpg").unwrap()))
    };
    assert!(!app.media_dir.join(&unused).exists());
    assert!(!webp(&unused).exists(), "its WebP went with it");
    assert!(app.media_dir.join(&used).exists() && app.media_dir.join(&cover).exists());
    assert!(
        webp(&used).exists() && webp(&cover).exists(),
        "the WebP of used pictures stay"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM image_variants").await, 2);
    assert!(app.media_dir.join("other/keep.jpg").exists());
    assert_eq!(
        ipmat::media::sweep_orphans(&app.db, &storage, Duration::ZERO)
            .await
            .unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------
// Export and import

/// Every file under `dir`, by relative path.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

async fn export_to(app: &TestApp, dir: &Path) -> ipmat::seed::ExportReport {
    let storage = Storage::from_config(&app.config).await.unwrap();
    let export = ipmat::seed::Export::read(&app.db).await.unwrap();
    export
        .write(&storage, dir, &ipmat::seed::Progress::quiet())
        .await
        .unwrap()
}

/// What the API shows of the catalog, with each image URL replaced by the hash of the bytes
/// it serves (uploads are re-keyed by content on import).
async fn catalog_answers(app: &TestApp) -> Value {
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut answers = Vec::new();
    let (_, books) = app.get("/api/v1/books").await;
    let mut paths = vec![
        "/api/v1/categories".to_owned(),
        "/api/v1/books".to_owned(),
        "/api/v1/foods?limit=200".to_owned(),
    ];
    for b in books.as_array().unwrap() {
        paths.push(format!("/api/v1/books/{}", b["id"]));
    }
    for path in paths {
        let (status, mut body) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        replace_urls(app, &mut body, &mut hashes).await;
        answers.push(json!({"path": path, "body": body}));
    }
    Value::Array(answers)
}

fn replace_urls<'a>(
    app: &'a TestApp,
    value: &'a mut Value,
    hashes: &'a mut HashMap<String, String>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
    Box::pin(async move {
        match value {
            Value::Object(map) => {
                for (field, v) in map.iter_mut() {
                    if field.ends_with("_url") && v.is_string() {
                        let url = v.as_str().unwrap().to_owned();
                        if !hashes.contains_key(&url) {
                            let (status, _, bytes) = fetch(app, &url).await;
                            assert_eq!(status, StatusCode::OK, "{url}");
                            hashes.insert(url.clone(), hex::encode(Sha256::digest(&bytes)));
                        }
                        *v = Value::String(hashes[&url].clone());
                    } else {
                        replace_urls(app, v, hashes).await;
                    }
                }
            }
            Value::Array(items) => {
                for v in items {
                    replace_urls(app, v, hashes).await;
                }
            }
            _ => {}
        }
    })
}

async fn export_then_import_reproduces_the_catalog(engine: Engine) {
    let a = TestApp::spawn_seeded(engine).await;
    let admin = a.admin().await;
    // Beyond the bundled catalog: an uploaded image on a food, a book with an uploaded cover
    // and no foods, a category without foods, and one more pair.
    let upload_key = stored(&a, &admin, &encode(&photo(900, 600), ImageFormat::Jpeg)).await;
    let (_, foods) = a.get("/api/v1/foods?limit=3").await;
    let foods = foods["items"].as_array().unwrap().clone();
    let (status, body) = a
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/foods/{}", foods[0]["id"]),
            Some(&admin),
            Some(json!({"alt_image_key": upload_key, "alt_credit": "@ipmat"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = a
        .post("/api/v1/books", Some(&admin), json!({"name": "힣 마지막 책", "priority": 1000, "cover_key": upload_key, "food_ids": []}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = a
        .post("/api/v1/categories", Some(&admin), json!({"name": "힣힣"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = a
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": foods[2]["id"], "right_id": foods[1]["id"]}),
        )
        .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::CONFLICT,
        "{body}"
    );

    let dir_a = a.database_dir().join("export-a");
    let report = export_to(&a, &dir_a).await;
    assert!(
        report.foods >= 100 && report.books >= 9 && report.images > 100,
        "{report:?}"
    );
    let exported = files_of(&dir_a);
    assert_eq!(
        exported.len(),
        report.images + 1,
        "catalog.json and every image"
    );

    let b = TestApp::spawn(engine).await;
    let storage_b = Storage::from_config(&b.config).await.unwrap();
    let imported = ipmat::seed::import(
        &b.db,
        &storage_b,
        &ipmat::seed::Source::Dir(dir_a.clone()),
        &ipmat::seed::Progress::quiet(),
    )
    .await
    .unwrap();
    assert_eq!(imported.foods_created, report.foods);
    let dir_b = b.database_dir().join("export-b");
    export_to(&b, &dir_b).await;
    let again = files_of(&dir_b);
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &exported {
        assert!(
            again[name] == *bytes,
            "{name} differs between the two exports"
        );
    }
    assert_eq!(
        catalog_answers(&a).await,
        catalog_answers(&b).await,
        "both databases answer alike"
    );

    // Exporting into a folder that is not empty is refused.
    let storage_a = Storage::from_config(&a.config).await.unwrap();
    let export = ipmat::seed::Export::read(&a.db).await.unwrap();
    let err = export
        .write(&storage_a, &dir_a, &ipmat::seed::Progress::quiet())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[tokio::test]
async fn the_export_command_writes_a_folder_the_import_command_reads() {
    let a = TestApp::spawn_seeded(Engine::Sqlite).await;
    let db_url = a.config.database_url.expose().to_owned();
    let media = format!("file://{}", a.media_dir.display());
    let out = a.database_dir().join("cli-export");
    let run = |args: &[&str], db: &str, storage: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ipmat"));
        command.args(args).current_dir(a.database_dir());
        for (key, _) in std::env::vars() {
            if key.starts_with("IPMAT_") {
                command.env_remove(key);
            }
        }
        command
            .env("IPMAT_DATABASE_URL", db)
            .env("IPMAT_STORAGE", storage)
            .env("IPMAT_LOG", "warn")
            .output()
            .unwrap()
    };
    let output = run(&["export", out.to_str().unwrap()], &db_url, &media);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["foods"].as_u64().unwrap() >= 100, "{report}");
    assert!(
        stderr.contains("export: "),
        "plain progress lines off a terminal: {stderr}"
    );
    assert!(out.join("catalog.json").is_file());

    let output = run(&["export", out.to_str().unwrap()], &db_url, &media);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));

    let fresh: PathBuf = a.database_dir().join("fresh");
    let fresh_db = format!("sqlite://{}/ipmat.db", fresh.display());
    let fresh_media = format!("file://{}/media", fresh.display());
    let output = run(&["import", out.to_str().unwrap()], &fresh_db, &fresh_media);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["foods_created"],
        json!(a.scalar("SELECT COUNT(*) FROM foods").await)
    );
}
