//! The language of an answer: Korean (the default and the fallback) or English.
//!
//! Every API request is answered in one language, chosen once here: `?lang=ko|en` first, then
//! the `Accept-Language` header (q-values honoured, `en-US` counts as `en`), else Korean.
//! [`scope`] runs the request with its [`Choice`] in a task-local, so that the catalog code
//! that turns rows into foods, books and categories picks their texts without each handler
//! passing the language along. `?translations=true` adds every language's text beside the
//! chosen one (`name_ko`, `name_en`, …), for the admin forms. Answers say which language they
//! chose (`Content-Language`) and that they vary by `Accept-Language`; caches of answers key on
//! [`Choice::tag`]. See `docs/catalog-format.md` for the fields.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// A language the catalog is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    Ko,
    En,
}

impl Lang {
    /// The language tag (`ko`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// A language by its tag or any regional form of it (`en-US`), case-insensitive.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text in this language: English when asked for and written, else the Korean.
    pub fn pick<'a>(self, ko: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::En if !en.trim().is_empty() => en,
            _ => ko,
        }
    }
}

/// How one request wants its texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub lang: Lang,
    /// Whether answers carry every language's text too (`?translations=true`).
    pub translations: bool,
}

impl Choice {
    /// Tells cached answers of different choices apart.
    pub fn tag(self) -> &'static str {
        match (self.lang, self.translations) {
            (Lang::Ko, false) => "ko",
            (Lang::En, false) => "en",
            (Lang::Ko, true) => "ko+all",
            (Lang::En, true) => "en+all",
        }
    }

    /// Every tag, for forgetting all variants of a cached answer.
    pub const TAGS: [&'static str; 4] = ["ko", "en", "ko+all", "en+all"];
}

tokio::task_local! {
    static CURRENT: Choice;
}

/// The choice of the request being served (Korean without translations outside one).
pub fn current() -> Choice {
    CURRENT.try_with(|c| *c).unwrap_or_default()
}

/// Runs `f` with `choice` as the current choice.
pub async fn within<F: Future>(choice: Choice, f: F) -> F::Output {
    CURRENT.scope(choice, f).await
}

/// Runs `f` with every language's text included (admin writes answer so).
pub async fn with_translations<F: Future>(f: F) -> F::Output {
    let choice = Choice {
        translations: true,
        ..current()
    };
    CURRENT.scope(choice, f).await
}

/// The language a client prefers by its `Accept-Language` header: the supported language of
/// the highest q-value (the first listed on a tie); `None` when it names none of ours.
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(Lang::from_tag) else {
            continue;
        };
        let mut q = 1000;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(v.trim()).unwrap_or(0);
            }
        }
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// A q-value (`0`, `0.8`, `1.000`) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = whole + frac;
    (q <= 1000).then_some(q)
}

/// The choice a request makes: `?lang=` beats `Accept-Language`; an unknown `lang` or a
/// `translations` other than true/false is refused.
pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Result<Choice, AppError> {
    let mut lang = None;
    let mut translations = false;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "lang" => {
                lang = Some(
                    Lang::from_tag(&value)
                        .filter(|_| !value.contains(','))
                        .ok_or_else(|| AppError::field("lang", "must be ko or en"))?,
                )
            }
            "translations" => {
                translations = match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" | "" => false,
                    _ => return Err(AppError::field("translations", "must be true or false")),
                }
            }
            _ => {}
        }
    }
    let lang = lang
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or_default();
    Ok(Choice { lang, translations })
}

/// Whether a query parameter is one of this module's (the other extractors skip them).
pub fn is_lang_param(key: &str) -> bool {
    key == "lang" || key == "translations"
}

/// Middleware of the API: chooses the request's language, serves it in that scope, and marks
/// the answer (`Content-Language`, `Vary: Accept-Language`).
pub async fn scope(request: Request, next: Next) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let choice = match choose(request.uri().query(), accept) {
        Ok(choice) => choice,
        Err(e) => return e.into_response(),
    };
    let mut response = CURRENT.scope(choice, next.run(request)).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Accept-Language"));
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(choice.lang.code()),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_honours_q_values_and_regions() {
        let cases = [
            ("en-US,en;q=0.9", Some(Lang::En)),
            ("ko-KR,ko;q=0.9,en-US;q=0.8", Some(Lang::Ko)),
            ("fr-FR, en;q=0.5, ko;q=0.7", Some(Lang::Ko)),
            ("ko;q=0.2, EN-gb;q=0.9", Some(Lang::En)),
            ("ko;q=0, en;q=0.1", Some(Lang::En)),
            ("en;q=0.5, ko;q=0.5", Some(Lang::En)),
            ("ja, zh-CN", None),
            ("*", None),
            ("", None),
            ("en;q=abc", None),
            ("en;q=1.5", None),
        ];
        for (header, want) in cases {
            assert_eq!(from_accept_language(header), want, "{header:?}");
        }
    }

    #[test]
    fn the_query_beats_the_header_and_korean_is_the_default() {
        let en = |q, h| choose(q, h).unwrap().lang;
        assert_eq!(en(Some("lang=ko"), Some("en-US")), Lang::Ko);
        assert_eq!(en(Some("q=x&lang=en"), Some("ko")), Lang::En);
        assert_eq!(en(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(en(None, None), Lang::Ko);
        assert_eq!(en(Some("lang=EN-us"), None), Lang::En);
        assert!(choose(Some("lang=fr"), None).is_err());
        assert!(choose(Some("lang="), None).is_err());
        assert!(choose(Some("translations=maybe"), None).is_err());
        assert!(
            choose(Some("translations=true"), None)
                .unwrap()
                .translations
        );
    }

    #[test]
    fn english_falls_back_to_korean_when_empty() {
        assert_eq!(Lang::En.pick("떡볶이", "Tteokbokki"), "Tteokbokki");
        assert_eq!(Lang::En.pick("떡볶이", " "), "떡볶이");
        assert_eq!(Lang::Ko.pick("떡볶이", "Tteokbokki"), "떡볶이");
    }

    #[tokio::test]
    async fn the_choice_is_read_inside_its_scope_only() {
        assert_eq!(current(), Choice::default());
        let en = Choice {
            lang: Lang::En,
            translations: false,
        };
        CURRENT
            .scope(en, async {
                assert_eq!(current().lang, Lang::En);
                let inner = with_translations(async { current() }).await;
                assert_eq!((inner.lang, inner.translations), (Lang::En, true));
                assert!(!current().translations);
            })
            .await;
    }
}
