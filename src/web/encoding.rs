//! Content coding of the web app's answers: brotli or gzip as the request's `Accept-Encoding`
//! allows. The files are compressed once per content hash at the highest settings (they never
//! change under one hash); pages, rendered per request, at a cheaper level.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{HeaderMap, header};

/// Bodies smaller than this go as they are: the coding would save less than it costs.
pub const MIN_COMPRESS_BYTES: usize = 1024;

/// A content coding the app answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Brotli => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }

    /// The suffix that sets this coding's ETag apart from the others (`"…-br"`).
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Coding::Brotli => "-br",
            Coding::Gzip => "-gz",
            Coding::Identity => "",
        }
    }
}

/// The best coding the request accepts: brotli, then gzip, else identity. `q=0` refuses one;
/// `*` stands for any coding not named.
pub fn negotiate(request: &HeaderMap) -> Coding {
    let mut br = None;
    let mut gzip = None;
    let mut any = None;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let accepted = q > 0.0;
            match name.as_str() {
                "br" => br = Some(accepted),
                "gzip" | "x-gzip" => gzip = Some(accepted),
                "*" => any = Some(accepted),
                _ => {}
            }
        }
    }
    if br.or(any) == Some(true) {
        Coding::Brotli
    } else if gzip.or(any) == Some(true) {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Whether answers of this content type are worth compressing (text, scripts, JSON, SVG; not
/// pictures, which are compressed already).
pub fn is_compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence == "application/javascript"
        || essence == "image/svg+xml"
        || essence.ends_with("+json")
        || essence == "application/json"
}

/// `body` in `coding` at `level` (0..=11 for brotli, 0..=9 for gzip), or `None` when the coded
/// body would not be smaller.
pub fn compress(body: &[u8], coding: Coding, level: u32) -> Option<Vec<u8>> {
    let coded = match coding {
        Coding::Identity => return None,
        Coding::Brotli => {
            let mut out = Vec::with_capacity(body.len() / 3);
            let params = brotli::enc::BrotliEncoderParams {
                quality: level.min(11) as i32,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
            out
        }
        Coding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 3),
                flate2::Compression::new(level.min(9)),
            );
            encoder.write_all(body).ok()?;
            encoder.finish().ok()?
        }
    };
    (coded.len() < body.len()).then_some(coded)
}

/// A file's coded bodies, made once per content hash and kept for the process's life (an
/// embedded file never changes under its hash; a debug build's edited file gets a new hash).
pub fn coded_file(hash: &str, coding: Coding, body: &[u8]) -> Option<Arc<Vec<u8>>> {
    type Memo = Mutex<HashMap<(String, Coding), Option<Arc<Vec<u8>>>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    if coding == Coding::Identity || body.len() < MIN_COMPRESS_BYTES {
        return None;
    }
    let memo = MEMO.get_or_init(Default::default);
    let key = (hash.to_owned(), coding);
    if let Some(found) = memo.lock().ok()?.get(&key) {
        return found.clone();
    }
    // Best settings: paid once per file, and every visitor downloads the result.
    let level = if coding == Coding::Brotli { 11 } else { 9 };
    let coded = compress(body, coding, level).map(Arc::new);
    memo.lock().ok()?.insert(key, coded.clone());
    coded
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn the_best_accepted_coding_is_chosen() {
        let cases = [
            ("gzip, deflate, br, zstd", Coding::Brotli),
            ("gzip", Coding::Gzip),
            ("br;q=0, gzip;q=0.5", Coding::Gzip),
            ("gzip;q=0", Coding::Identity),
            ("identity", Coding::Identity),
            ("*", Coding::Brotli),
            ("*;q=0, gzip", Coding::Gzip),
            ("deflate", Coding::Identity),
        ];
        for (value, expected) in cases {
            assert_eq!(negotiate(&accepting(value)), expected, "{value}");
        }
        assert_eq!(negotiate(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn coded_bodies_decode_to_the_original() {
        let body = "입맛 월드컵 ".repeat(500);
        let br = compress(body.as_bytes(), Coding::Brotli, 5).unwrap();
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut decoded).unwrap();
        assert_eq!(decoded, body.as_bytes());
        let gz = compress(body.as_bytes(), Coding::Gzip, 6).unwrap();
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(
            compress(b"ab", Coding::Gzip, 6).is_none(),
            "no gain, no coding"
        );
    }

    #[test]
    fn text_is_compressible_and_pictures_are_not() {
        for t in [
            "text/html; charset=utf-8",
            "application/javascript",
            "text/css",
            "application/json",
            "application/problem+json",
            "application/manifest+json",
            "image/svg+xml",
        ] {
            assert!(is_compressible(t), "{t}");
        }
        for t in ["image/png", "image/jpeg", "image/webp", "font/woff2"] {
            assert!(!is_compressible(t), "{t}");
        }
    }
}
