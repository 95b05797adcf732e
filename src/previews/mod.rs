//! Link previews: the page-specific `<head>` of the app's HTML ([`page_meta`], used by
//! `crate::web`) and the preview images `GET /og/{quiz,worldcup,books}/{id}.png` drawn by the
//! server. See `docs/previews.md`.
//!
//! A page's preview is looked up through the owning features' preview functions
//! (`quiz::preview`, `worldcup::preview`, `catalog::preview`) and turned into a [`PageMeta`]
//! and a [`draw::Card`]; the card and its photo keys make the content version, which names
//! the drawn image in the cache, tags it (`ETag`) and busts crawler caches (`?v=` in
//! `og:image`).

mod cache;
pub mod draw;
pub mod meta;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use self::cache::PreviewCache;
use self::draw::{Card, Fonts, Layout};
pub use self::meta::PageMeta;
use self::meta::with_subject;
use crate::catalog::preview::{FoodPicture, book_preview, home_pictures};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::extract::Path;
use crate::quiz::preview::exam_preview;
use crate::state::AppState;
use crate::worldcup::preview::worldcup_preview;

/// Bumped whenever the drawing changes, so that every image is drawn again.
const DRAW_VERSION: &str = "2";
/// How long browsers and crawlers may reuse an image without asking again.
const IMAGE_CACHE_CONTROL: &str = "public, max-age=600";

/// What a page is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Home,
    /// An exam by its share code (any case).
    Quiz(String),
    Worldcup(String),
    Book(i64),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Subject::Home => "home".to_owned(),
            Subject::Quiz(code) => format!("quiz:{}", code.to_ascii_uppercase()),
            Subject::Worldcup(id) => format!("worldcup:{id}"),
            Subject::Book(id) => format!("book:{id}"),
        }
    }
}

/// One page's preview: its tags and the image card with the photos it shows.
#[derive(Debug)]
pub struct Preview {
    pub meta: PageMeta,
    pub card: Card,
    /// Storage keys of the photos, in the card's order.
    pub photos: Vec<Option<String>>,
    /// Content version (hex): equal for equal cards and photos.
    pub version: String,
}

/// The `/og/…` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/og/home.png", get(get_home_image))
        .route("/og/quiz/{file}", get(get_quiz_image))
        .route("/og/worldcup/{file}", get(get_worldcup_image))
        .route("/og/books/{file}", get(get_book_image))
}

/// The fonts every drawing uses, parsed once per process.
fn fonts() -> &'static Fonts {
    static FONTS: std::sync::OnceLock<Fonts> = std::sync::OnceLock::new();
    FONTS.get_or_init(Fonts::load)
}

/// The preview of a subject, or `None` when it does not exist.
pub async fn preview(state: &AppState, subject: &Subject) -> AppResult<Option<Arc<Preview>>> {
    let key = subject.key();
    if let Some(found) = state.previews.lookup(&key) {
        return Ok(Some(found));
    }
    let built = match subject {
        Subject::Home => Some(home(&home_pictures(&state.db).await?)),
        Subject::Quiz(code) => exam_preview(&state.db, code).await?.map(|e| {
            let count = e.question_count;
            let mut facts = vec![format!("{count}문제")];
            facts.extend(e.mode.clone());
            let facts = facts.join(" · ");
            let card = Card {
                kicker: "입맛 퀴즈".to_owned(),
                title: e.title.clone(),
                subtitle: format!("{}님의 입맛을 맞혀 보세요!", e.author),
                footer: format!("{facts} · 만든 사람 {}", e.author),
                layout: Layout::Versus,
                names: e.pictures.iter().take(2).map(|p| p.name.clone()).collect(),
            };
            let meta = PageMeta {
                title: format!("{} · 입맛 퀴즈", e.title),
                description: format!(
                    "{}님이 낸 입맛 퀴즈({facts}). 둘 중 무엇을 골랐을지 맞혀 보세요!",
                    e.author
                ),
                path: format!("/quiz/{}", e.code),
                image_path: format!("/og/quiz/{}.png", e.code),
                image_alt: format!("{} — {}님의 입맛 퀴즈", e.title, e.author),
                noindex: false,
            };
            finish(meta, card, &e.pictures[..e.pictures.len().min(2)])
        }),
        Subject::Worldcup(id) => worldcup_preview(&state.db, id).await?.map(|w| {
            let book = cup_name(&w.book_name);
            let (meta_title, description, card, pictures) = if w.finished {
                let champion = w
                    .champion
                    .clone()
                    .map_or_else(|| "(삭제된 음식)".to_owned(), |c| c.name);
                (
                    format!("{champion} 우승! · {book}"),
                    format!(
                        "{book} {}강에서 {} 우승했어요. 너의 우승 음식은 뭐야?",
                        w.size,
                        with_subject(&champion)
                    ),
                    Card {
                        kicker: format!("{book} · 우승"),
                        title: format!("{champion} 우승!"),
                        subtitle: format!("{}강 월드컵의 최종 승자예요.", w.size),
                        footer: "너의 우승 음식은?".to_owned(),
                        layout: Layout::Single,
                        names: w.champion.iter().map(|c| c.name.clone()).collect(),
                    },
                    w.champion.iter().cloned().collect::<Vec<_>>(),
                )
            } else {
                let vs = w
                    .current
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" vs ");
                (
                    format!("{book} · {}", w.label),
                    format!(
                        "{}강 음식 월드컵 진행 중, 지금은 {}: {vs}. 같이 골라 봐요!",
                        w.size, w.label
                    ),
                    Card {
                        kicker: format!("음식 월드컵 · {}", w.label),
                        title: book.clone(),
                        subtitle: vs.clone(),
                        footer: format!("{}강 · 같이 골라 봐요!", w.size),
                        layout: Layout::Versus,
                        names: w.current.iter().map(|p| p.name.clone()).collect(),
                    },
                    w.current.clone(),
                )
            };
            let meta = PageMeta {
                title: meta_title.clone(),
                description,
                path: format!("/worldcup/{}", w.id),
                image_path: format!("/og/worldcup/{}.png", w.id),
                image_alt: meta_title,
                noindex: false,
            };
            finish(meta, card, &pictures)
        }),
        Subject::Book(id) => book_preview(&state.db, &state.storage, *id)
            .await?
            .map(|b| {
                let facts = format!("음식 {}개 · {}번 플레이", b.food_count, b.play_count);
                let card = Card {
                    kicker: "음식 월드컵".to_owned(),
                    title: b.name.clone(),
                    subtitle: facts.clone(),
                    footer: "나만의 우승 음식을 골라 보세요".to_owned(),
                    layout: Layout::Collage,
                    names: b.pictures.iter().map(|p| p.name.clone()).collect(),
                };
                let meta = PageMeta {
                    title: format!("{} · 입맛", cup_name(&b.name)),
                    description: format!(
                        "{facts}. 둘 중 더 먹고 싶은 쪽을 골라 나만의 우승 음식을 찾아보세요."
                    ),
                    path: format!("/books/{}", b.id),
                    image_path: format!("/og/books/{}.png", b.id),
                    image_alt: cup_name(&b.name),
                    noindex: b.unlisted,
                };
                finish(meta, card, &b.pictures)
            }),
    };
    let Some(built) = built else {
        return Ok(None);
    };
    let built = Arc::new(built);
    state.previews.remember(&key, built.clone());
    Ok(Some(built))
}

/// A world cup's name as people say it: book names usually end in "월드컵" already.
fn cup_name(book: &str) -> String {
    let book = book.trim();
    if book.is_empty() {
        "음식 월드컵".to_owned()
    } else if book.ends_with("월드컵") {
        book.to_owned()
    } else {
        format!("{book} 월드컵")
    }
}

fn home(pictures: &[FoodPicture]) -> Preview {
    let meta = PageMeta {
        title: "입맛 — 음식 월드컵과 입맛 퀴즈".to_owned(),
        description: "오늘 뭐 먹지? 음식 월드컵으로 골라 보고, 친구의 입맛을 퀴즈로 맞혀 보세요. \
                      A food world cup and a taste quiz."
            .to_owned(),
        path: "/".to_owned(),
        image_path: "/og/home.png".to_owned(),
        image_alt: "입맛: 음식 월드컵과 입맛 퀴즈".to_owned(),
        noindex: false,
    };
    let card = Card {
        kicker: "음식 월드컵 · 입맛 퀴즈".to_owned(),
        title: "오늘 뭐 먹지?".to_owned(),
        subtitle: "월드컵으로 골라 보고, 친구의 입맛도 맞혀 보세요.".to_owned(),
        footer: "ipmat — 입맛".to_owned(),
        layout: Layout::Collage,
        names: pictures.iter().map(|p| p.name.clone()).collect(),
    };
    finish(meta, card, pictures)
}

/// Seals a preview: its version, and the version in the image URL.
fn finish(mut meta: PageMeta, card: Card, pictures: &[FoodPicture]) -> Preview {
    let photos: Vec<Option<String>> = pictures.iter().map(|p| p.image_key.clone()).collect();
    let mut hash = Sha256::new();
    hash.update(format!("{DRAW_VERSION}\n{card:?}\n{photos:?}").as_bytes());
    let version = hex::encode(&hash.finalize()[..10]);
    meta.image_path = format!("{}?v={}", meta.image_path, &version[..8]);
    Preview {
        meta,
        card,
        photos,
        version,
    }
}

/// The tags of a page that has no preview of its own (sign-up, my page…), or of an unknown
/// path (`noindex`).
pub async fn generic_meta(state: &AppState, path: &str, found: bool) -> PageMeta {
    let mut meta = match preview(state, &Subject::Home).await {
        Ok(Some(p)) => p.meta.clone(),
        _ => home(&[]).meta,
    };
    if found {
        meta.path = path.to_owned();
    } else {
        meta.title = "찾을 수 없어요 · 입맛".to_owned();
        meta.noindex = true;
    }
    meta
}

/// The absolute base of links: `IPMAT_PUBLIC_URL`, else the scheme and host of the request
/// as a trusted proxy reports them (`X-Forwarded-Proto`, `X-Forwarded-Host`), else `Host`.
pub fn base_url(
    config: &Config,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let proxied = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| config.trusted_proxies.iter().any(|n| n.contains(c.0.ip())));
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (scheme, host) = if proxied {
        (
            header("x-forwarded-proto").unwrap_or("http"),
            header("x-forwarded-host").or_else(|| header("host")),
        )
    } else {
        ("http", header("host"))
    };
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    let host = host
        .filter(|h| {
            h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

async fn get_home_image(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    image_response(&state, &Subject::Home, &headers).await
}

async fn get_quiz_image(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let code = png_stem(&file)?;
    image_response(&state, &Subject::Quiz(code.to_owned()), &headers).await
}

async fn get_worldcup_image(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let id = png_stem(&file)?;
    image_response(&state, &Subject::Worldcup(id.to_owned()), &headers).await
}

async fn get_book_image(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let id = png_stem(&file)?
        .parse::<i64>()
        .map_err(|_| AppError::NotFound("book"))?;
    image_response(&state, &Subject::Book(id), &headers).await
}

fn png_stem(file: &str) -> AppResult<&str> {
    file.strip_suffix(".png")
        .ok_or(AppError::NotFound("preview image"))
}

async fn image_response(
    state: &AppState,
    subject: &Subject,
    request: &HeaderMap,
) -> AppResult<Response> {
    let preview = preview(state, subject)
        .await?
        .ok_or(AppError::NotFound("preview image"))?;
    let etag = format!("\"og-{}\"", preview.version);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let started = std::time::Instant::now();
        let (png, drew) = state
            .previews
            .image(&preview.version, || render(state.clone(), preview.clone()))
            .await
            .map_err(AppError::Internal)?;
        let mut response = png.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        headers.insert(
            "x-preview-cache",
            HeaderValue::from_static(if drew { "miss" } else { "hit" }),
        );
        if drew {
            // Reading the photos, drawing and encoding: what `bench/previews.sh` reports.
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::debug!(version = %preview.version, ms, "drew a preview image");
            if let Ok(v) = HeaderValue::from_str(&format!("render;dur={ms:.1}")) {
                headers.insert("server-timing", v);
            }
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(IMAGE_CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Reads the photos from storage and draws the card on a blocking thread. A photo that
/// cannot be read or decoded becomes a tile with the food's name.
async fn render(state: AppState, preview: Arc<Preview>) -> anyhow::Result<Bytes> {
    let reads = preview.photos.iter().map(|key| {
        let storage = state.storage.clone();
        let key = key.clone();
        async move {
            let key = key?;
            match storage.get(&key).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(error = %e, key, "a preview photo could not be read");
                    None
                }
            }
        }
    });
    let photos: Vec<Option<Bytes>> = futures::future::join_all(reads).await;
    let png = tokio::task::spawn_blocking(move || {
        let decoded: Vec<_> = photos
            .iter()
            .map(|b| b.as_ref().and_then(|b| image::load_from_memory(b).ok()))
            .collect();
        draw::draw(fonts(), &preview.card, &decoded)
    })
    .await??;
    Ok(Bytes::from(png))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let mut map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert("IPMAT_DATABASE_URL".into(), "sqlite://x.db".into());
        Config::from_vars(&map).unwrap()
    }

    fn request(peer: &str, headers: &[(&str, &str)]) -> (axum::http::Extensions, HeaderMap) {
        let mut ext = axum::http::Extensions::new();
        ext.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        (ext, map)
    }

    #[test]
    fn links_are_absolute_on_the_public_url_or_the_trusted_proxy_host() {
        let public = config(&[("IPMAT_PUBLIC_URL", "https://ipmat.example")]);
        let (ext, h) = request("203.0.113.1:5000", &[("host", "evil.example")]);
        assert_eq!(base_url(&public, &ext, &h), "https://ipmat.example");

        let proxied = config(&[("IPMAT_TRUSTED_PROXIES", "10.0.0.0/8")]);
        let forwarded = [
            ("host", "internal:8000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "ipmat.kr"),
        ];
        let (ext, h) = request("10.0.0.2:5000", &forwarded);
        assert_eq!(base_url(&proxied, &ext, &h), "https://ipmat.kr");
        // The same headers from a stranger are not believed.
        let (ext, h) = request("203.0.113.1:5000", &forwarded);
        assert_eq!(base_url(&proxied, &ext, &h), "http://internal:8000");
        let (ext, h) = request("203.0.113.1:5000", &[("host", "a\"b<c>")]);
        assert_eq!(base_url(&proxied, &ext, &h), "http://localhost");
    }
}
