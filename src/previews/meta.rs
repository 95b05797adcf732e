//! The `<head>` tags of an app page: title, description, Open Graph and X (Twitter) cards and
//! the canonical link. Every value is escaped, so titles and names cannot inject markup.

use std::fmt::Write;

/// The site's name in previews.
pub const SITE_NAME: &str = "입맛";

/// What one page tells link previews.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageMeta {
    pub title: String,
    pub description: String,
    /// Path of the page (`/quiz/ABC234`), made absolute when rendered.
    pub path: String,
    /// Path of the preview image (`/og/quiz/ABC234.png?v=…`).
    pub image_path: String,
    /// Text alternative of the image.
    pub image_alt: String,
    /// Not-found pages ask crawlers not to index them.
    pub noindex: bool,
}

/// Width and height of every preview image.
pub const IMAGE_WIDTH: u32 = 1200;
pub const IMAGE_HEIGHT: u32 = 630;

impl PageMeta {
    /// The tags, one per line, with absolute URLs on `base` (`https://host`, no trailing
    /// slash).
    pub fn render(&self, base: &str) -> String {
        let url = format!("{base}{}", self.path);
        let image = format!("{base}{}", self.image_path);
        let mut out = String::with_capacity(1500);
        let _ = writeln!(out, "<title>{}</title>", escape(&self.title));
        let meta = |out: &mut String, attr: &str, key: &str, value: &str| {
            let _ = writeln!(
                out,
                "  <meta {attr}=\"{key}\" content=\"{}\">",
                escape(value)
            );
        };
        meta(&mut out, "name", "description", &self.description);
        if self.noindex {
            meta(&mut out, "name", "robots", "noindex");
        }
        let _ = writeln!(out, "  <link rel=\"canonical\" href=\"{}\">", escape(&url));
        meta(&mut out, "property", "og:site_name", SITE_NAME);
        meta(&mut out, "property", "og:type", "website");
        meta(&mut out, "property", "og:locale", "ko_KR");
        meta(&mut out, "property", "og:title", &self.title);
        meta(&mut out, "property", "og:description", &self.description);
        meta(&mut out, "property", "og:url", &url);
        meta(&mut out, "property", "og:image", &image);
        meta(&mut out, "property", "og:image:type", "image/png");
        meta(
            &mut out,
            "property",
            "og:image:width",
            &IMAGE_WIDTH.to_string(),
        );
        meta(
            &mut out,
            "property",
            "og:image:height",
            &IMAGE_HEIGHT.to_string(),
        );
        meta(&mut out, "property", "og:image:alt", &self.image_alt);
        meta(&mut out, "name", "twitter:card", "summary_large_image");
        meta(&mut out, "name", "twitter:title", &self.title);
        meta(&mut out, "name", "twitter:description", &self.description);
        meta(&mut out, "name", "twitter:image", &image);
        meta(&mut out, "name", "twitter:image:alt", &self.image_alt);
        out.truncate(out.trim_end().len());
        out
    }
}

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a word ends in a consonant (받침) when read in Korean, which picks the particle
/// after it: `이`/`가`, `은`/`는`. A final digit is read as its Korean numeral (1 일, 3 삼…);
/// Latin letters and other scripts count as ending in a vowel.
pub fn has_final_consonant(word: &str) -> bool {
    word.trim_end()
        .chars()
        .next_back()
        .is_some_and(|c| match c {
            '0' | '1' | '3' | '6' | '7' | '8' => true,
            c => {
                let c = c as u32;
                (0xAC00..=0xD7A3).contains(&c) && !(c - 0xAC00).is_multiple_of(28)
            }
        })
}

/// `word` followed by the subject particle `이` or `가`.
pub fn with_subject(word: &str) -> String {
    format!(
        "{word}{}",
        if has_final_consonant(word) {
            "이"
        } else {
            "가"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape(r#"a "b" <c> & 'd'"#),
            "a &quot;b&quot; &lt;c&gt; &amp; &#39;d&#39;"
        );
    }

    #[test]
    fn particles_follow_the_last_syllable() {
        assert_eq!(with_subject("순대"), "순대가");
        assert_eq!(with_subject("김밥"), "김밥이");
        assert_eq!(with_subject("Pizza"), "Pizza가");
        assert_eq!(with_subject("분식2"), "분식2가");
        assert_eq!(with_subject("분식3"), "분식3이");
        assert!(!has_final_consonant(""));
    }

    #[test]
    fn every_tag_is_rendered_with_absolute_urls() {
        let meta = PageMeta {
            title: "<t>".into(),
            description: "d".into(),
            path: "/quiz/ABC234".into(),
            image_path: "/og/quiz/ABC234.png?v=1".into(),
            image_alt: "alt".into(),
            noindex: false,
        };
        let html = meta.render("https://ipmat.example");
        assert!(html.starts_with("<title>&lt;t&gt;</title>"));
        assert!(
            html.contains(
                r#"<meta property="og:url" content="https://ipmat.example/quiz/ABC234">"#
            )
        );
        assert!(html.contains(
            r#"<meta property="og:image" content="https://ipmat.example/og/quiz/ABC234.png?v=1">"#
        ));
        assert!(html.contains(r#"<meta name="twitter:card" content="summary_large_image">"#));
        assert!(!html.contains("noindex"));
    }
}
