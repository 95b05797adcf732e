//! Drawing a preview image: 1200×630, the food photos on the left (one, two facing each other,
//! or a collage of up to four), the text on the right in the bundled Noto Sans KR subset, and
//! the ipmat mark. Text that does not fit is cut with an ellipsis; nothing is drawn outside
//! its box. Pure and synchronous: callers run it on a blocking thread.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use fast_image_resize as fr;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};

use super::meta::{IMAGE_HEIGHT, IMAGE_WIDTH};

static BOLD: &[u8] = include_bytes!("../../data/fonts/NotoSansKR-Bold-subset.otf");
static REGULAR: &[u8] = include_bytes!("../../data/fonts/NotoSansKR-Regular-subset.otf");

const TEAL: Rgb<u8> = Rgb([0x00, 0x70, 0x7a]);
const INK: Rgb<u8> = Rgb([0x1f, 0x23, 0x28]);
const MUTED: Rgb<u8> = Rgb([0x57, 0x5f, 0x67]);
const PAPER: Rgb<u8> = Rgb([0xff, 0xf8, 0xee]);
const WHITE: Rgb<u8> = Rgb([0xff, 0xff, 0xff]);

/// Width of the photo area on the left.
const PHOTO_WIDTH: u32 = 600;
/// Margin of the text panel.
const PAD: i32 = 52;
/// Gap between photos.
const GAP: u32 = 6;

/// How the photos are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One photo fills the area (a champion).
    Single,
    /// Two photos, one above the other, with "VS" between (a match, a quiz question).
    Versus,
    /// Up to four photos in a grid (a book).
    Collage,
}

/// Everything an image shows; two equal cards draw the same image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Card {
    /// The small coloured line above the title ("입맛 퀴즈", "월드컵 우승").
    pub kicker: String,
    pub title: String,
    pub subtitle: String,
    /// The line above the mark (the author, the round).
    pub footer: String,
    pub layout: Layout,
    /// Names of the foods pictured, in the order of `photos` given to [`draw`].
    pub names: Vec<String>,
}

/// The two weights of the bundled font.
pub struct Fonts {
    bold: FontRef<'static>,
    regular: FontRef<'static>,
}

impl Fonts {
    /// Parses the bundled fonts (cheap: the tables are read lazily).
    pub fn load() -> Fonts {
        Fonts {
            bold: FontRef::try_from_slice(BOLD).expect("the bundled bold font parses"),
            regular: FontRef::try_from_slice(REGULAR).expect("the bundled regular font parses"),
        }
    }
}

/// Draws a card with its photos (`None` where a food has no usable photo) and encodes it as
/// PNG.
pub fn draw(
    fonts: &Fonts,
    card: &Card,
    photos: &[Option<DynamicImage>],
) -> anyhow::Result<Vec<u8>> {
    let mut canvas = RgbImage::from_pixel(IMAGE_WIDTH, IMAGE_HEIGHT, PAPER);
    draw_photos(fonts, &mut canvas, card, photos)?;
    draw_text(fonts, &mut canvas, card);
    let mut out = Vec::with_capacity(512 * 1024);
    PngEncoder::new_with_quality(
        Cursor::new(&mut out),
        CompressionType::Fast,
        FilterType::Sub,
    )
    .write_image(
        canvas.as_raw(),
        IMAGE_WIDTH,
        IMAGE_HEIGHT,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// A rectangle of the canvas.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

fn tiles(layout: Layout, count: usize) -> Vec<Rect> {
    let (w, h) = (PHOTO_WIDTH, IMAGE_HEIGHT);
    let half_h = (h - GAP) / 2;
    let half_w = (w - GAP) / 2;
    let full = Rect { x: 0, y: 0, w, h };
    let top = Rect {
        x: 0,
        y: 0,
        w,
        h: half_h,
    };
    let bottom = Rect {
        x: 0,
        y: h - half_h,
        w,
        h: half_h,
    };
    match (layout, count) {
        (_, 0) => Vec::new(),
        (Layout::Single, _) | (_, 1) => vec![full],
        (Layout::Versus, _) | (Layout::Collage, 2) => vec![top, bottom],
        (Layout::Collage, 3) => vec![
            top,
            Rect {
                x: 0,
                y: h - half_h,
                w: half_w,
                h: half_h,
            },
            Rect {
                x: w - half_w,
                y: h - half_h,
                w: half_w,
                h: half_h,
            },
        ],
        (Layout::Collage, _) => vec![
            Rect {
                x: 0,
                y: 0,
                w: half_w,
                h: half_h,
            },
            Rect {
                x: w - half_w,
                y: 0,
                w: half_w,
                h: half_h,
            },
            Rect {
                x: 0,
                y: h - half_h,
                w: half_w,
                h: half_h,
            },
            Rect {
                x: w - half_w,
                y: h - half_h,
                w: half_w,
                h: half_h,
            },
        ],
    }
}

fn draw_photos(
    fonts: &Fonts,
    canvas: &mut RgbImage,
    card: &Card,
    photos: &[Option<DynamicImage>],
) -> anyhow::Result<()> {
    let area = Rect {
        x: 0,
        y: 0,
        w: PHOTO_WIDTH,
        h: IMAGE_HEIGHT,
    };
    let rects = tiles(card.layout, photos.len().min(4));
    if rects.is_empty() {
        fill(canvas, area, TEAL);
        let text = "입맛";
        let scale = PxScale::from(150.0);
        let width = text_width(&fonts.bold, scale, text);
        let x = (PHOTO_WIDTH as f32 - width) / 2.0;
        draw_line(
            canvas,
            &fonts.bold,
            scale,
            text,
            x,
            230.0,
            WHITE,
            PHOTO_WIDTH as f32,
        );
        return Ok(());
    }
    fill(canvas, area, WHITE);
    for (i, rect) in rects.iter().enumerate() {
        let name = card.names.get(i).map(String::as_str).unwrap_or_default();
        match &photos[i] {
            Some(photo) => {
                let tile = cover(photo, rect.w, rect.h)?;
                image::imageops::replace(canvas, &tile, i64::from(rect.x), i64::from(rect.y));
            }
            None => placeholder(fonts, canvas, *rect, name),
        }
    }
    if card.layout == Layout::Versus && rects.len() == 2 {
        let (cx, cy, r) = (PHOTO_WIDTH as f32 / 2.0, IMAGE_HEIGHT as f32 / 2.0, 46.0);
        circle(canvas, cx, cy, r + 5.0, WHITE);
        circle(canvas, cx, cy, r, TEAL);
        let scale = PxScale::from(40.0);
        let w = text_width(&fonts.bold, scale, "VS");
        draw_line(
            canvas,
            &fonts.bold,
            scale,
            "VS",
            cx - w / 2.0,
            cy - 29.0,
            WHITE,
            2.0 * r,
        );
    }
    Ok(())
}

/// A tile for a food without a photo: a soft colour chosen by its name, and the name.
fn placeholder(fonts: &Fonts, canvas: &mut RgbImage, rect: Rect, name: &str) {
    let hash = name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    const SOFT: [Rgb<u8>; 4] = [
        Rgb([0xf4, 0xa2, 0x61]),
        Rgb([0x2a, 0x9d, 0x8f]),
        Rgb([0xe7, 0x6f, 0x51]),
        Rgb([0x8a, 0xb1, 0x7d]),
    ];
    fill(canvas, rect, SOFT[(hash % 4) as usize]);
    let scale = PxScale::from(if rect.w > 400 { 64.0 } else { 44.0 });
    let max = rect.w as f32 - 40.0;
    let line = fit_line(&fonts.bold, scale, name, max);
    let w = text_width(&fonts.bold, scale, &line);
    let x = rect.x as f32 + (rect.w as f32 - w) / 2.0;
    let y = rect.y as f32 + rect.h as f32 / 2.0 - scale.y * 0.7;
    draw_line(canvas, &fonts.bold, scale, &line, x, y, WHITE, max);
}

fn draw_text(fonts: &Fonts, canvas: &mut RgbImage, card: &Card) {
    let left = PHOTO_WIDTH as i32 + PAD;
    let width = (IMAGE_WIDTH as i32 - left - PAD) as f32;
    let x = left as f32;
    let mut y = 56.0;

    // `PxScale` is the font's ascent-to-descent height: for Noto CJK about 1.45 em, so 72
    // gives 50-px glyphs.
    let kicker = PxScale::from(34.0);
    let line = fit_line(&fonts.bold, kicker, &card.kicker, width);
    draw_line(canvas, &fonts.bold, kicker, &line, x, y, TEAL, width);
    y += 64.0;

    let title = PxScale::from(72.0);
    let lines = wrap(&fonts.bold, title, &card.title, width, 3);
    for line in &lines {
        draw_line(canvas, &fonts.bold, title, line, x, y, INK, width);
        y += 86.0;
    }
    y += 10.0;

    // The subtitle takes the lines left above the footer.
    let footer_y = IMAGE_HEIGHT as f32 - PAD as f32 - 64.0 - 58.0;
    let sub = PxScale::from(40.0);
    let room = ((footer_y - 8.0 - y) / 54.0).floor().max(0.0) as usize;
    for line in wrap(&fonts.regular, sub, &card.subtitle, width, room.min(3)) {
        draw_line(canvas, &fonts.regular, sub, &line, x, y, MUTED, width);
        y += 54.0;
    }

    let foot = PxScale::from(36.0);
    let line = fit_line(&fonts.regular, foot, &card.footer, width);
    draw_line(canvas, &fonts.regular, foot, &line, x, footer_y, INK, width);

    // The mark: "입맛" on a rounded teal square, then the name in Latin letters.
    let size = 64u32;
    let my = IMAGE_HEIGHT - PAD as u32 - size;
    let mx = left as u32;
    rounded_rect(
        canvas,
        Rect {
            x: mx,
            y: my,
            w: size,
            h: size,
        },
        16.0,
        TEAL,
    );
    let mark = PxScale::from(25.0);
    let w = text_width(&fonts.bold, mark, "입맛");
    draw_line(
        canvas,
        &fonts.bold,
        mark,
        "입맛",
        mx as f32 + (size as f32 - w) / 2.0,
        my as f32 + 14.0,
        WHITE,
        size as f32,
    );
    let name = PxScale::from(36.0);
    draw_line(
        canvas,
        &fonts.bold,
        name,
        "ipmat",
        mx as f32 + size as f32 + 18.0,
        my as f32 + 6.0,
        TEAL,
        width,
    );
}

/// Scales and centre-crops a photo to cover `w`×`h`.
fn cover(photo: &DynamicImage, w: u32, h: u32) -> anyhow::Result<RgbImage> {
    let src = DynamicImage::ImageRgb8(photo.to_rgb8());
    let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
    let scale = (f64::from(w) / sw).max(f64::from(h) / sh);
    let (cw, ch) = (f64::from(w) / scale, f64::from(h) / scale);
    let mut dst = DynamicImage::new_rgb8(w, h);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom))
        .crop((sw - cw) / 2.0, (sh - ch) / 2.0, cw, ch);
    fr::Resizer::new().resize(&src, &mut dst, &options)?;
    Ok(dst.to_rgb8())
}

/// Collapses runs of white space and drops control characters.
fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn glyph(font: &FontRef<'static>, c: char) -> GlyphId {
    let id = font.glyph_id(c);
    if id.0 == 0 { font.glyph_id('?') } else { id }
}

/// Width of one line of text.
fn text_width(font: &FontRef<'static>, scale: PxScale, text: &str) -> f32 {
    let scaled = font.as_scaled(scale);
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = glyph(font, c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    width
}

/// `text` on one line, cut with an ellipsis if it is wider than `max`.
fn fit_line(font: &FontRef<'static>, scale: PxScale, text: &str, max: f32) -> String {
    let text = clean(text);
    if text_width(font, scale, &text) <= max {
        return text;
    }
    ellipsize(font, scale, &text, max)
}

/// The longest start of `text` that fits in `max` with "…" after it.
fn ellipsize(font: &FontRef<'static>, scale: PxScale, text: &str, max: f32) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    loop {
        let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
        if chars.is_empty() || text_width(font, scale, &candidate) <= max {
            return candidate;
        }
        chars.pop();
    }
}

/// Breaks `text` into at most `max_lines` lines of at most `max` wide: at spaces where it can,
/// inside a word where a word alone is too wide; the last line ends with "…" when text is
/// left over.
pub(crate) fn wrap(
    font: &FontRef<'static>,
    scale: PxScale,
    text: &str,
    max: f32,
    max_lines: usize,
) -> Vec<String> {
    let text = clean(text);
    let mut lines: Vec<String> = Vec::new();
    let mut rest: &str = &text;
    while !rest.is_empty() && lines.len() < max_lines {
        if text_width(font, scale, rest) <= max {
            lines.push(rest.to_owned());
            rest = "";
            break;
        }
        // The longest prefix that fits, then back to the last space in it if there is one.
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let next = i + c.len_utf8();
            if text_width(font, scale, &rest[..next]) > max {
                break;
            }
            end = next;
        }
        if end == 0 {
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let cut = match rest[..end].rfind(' ') {
            Some(space) if space > 0 && !rest[end..].starts_with(' ') => space,
            _ => end,
        };
        lines.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty()
        && let Some(last) = lines.last_mut()
    {
        let joined = format!("{last} {rest}");
        *last = ellipsize(font, scale, &joined, max);
    }
    lines
}

/// Draws one line whose top is at `y`, clipped to `x..x + max` and to the canvas.
#[allow(clippy::too_many_arguments)]
fn draw_line(
    canvas: &mut RgbImage,
    font: &FontRef<'static>,
    scale: PxScale,
    text: &str,
    x: f32,
    y: f32,
    color: Rgb<u8>,
    max: f32,
) {
    let scaled = font.as_scaled(scale);
    let baseline = y + scaled.ascent();
    let (clip_left, clip_right) = (x.max(0.0), (x + max).min(canvas.width() as f32));
    let mut caret = x;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = glyph(font, c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let g = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        prev = Some(id);
        let Some(outline) = font.outline_glyph(g) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x + gx as f32;
            let py = bounds.min.y + gy as f32;
            if px < clip_left || px >= clip_right || py < 0.0 || py >= canvas.height() as f32 {
                return;
            }
            blend(canvas.get_pixel_mut(px as u32, py as u32), color, coverage);
        });
    }
}

fn blend(pixel: &mut Rgb<u8>, color: Rgb<u8>, alpha: f32) {
    let a = alpha.clamp(0.0, 1.0);
    for (p, c) in pixel.0.iter_mut().zip(color.0) {
        *p = (f32::from(*p) * (1.0 - a) + f32::from(c) * a).round() as u8;
    }
}

fn fill(canvas: &mut RgbImage, rect: Rect, color: Rgb<u8>) {
    for y in rect.y..(rect.y + rect.h).min(canvas.height()) {
        for x in rect.x..(rect.x + rect.w).min(canvas.width()) {
            canvas.put_pixel(x, y, color);
        }
    }
}

/// A filled circle with a soft (anti-aliased) edge.
fn circle(canvas: &mut RgbImage, cx: f32, cy: f32, r: f32, color: Rgb<u8>) {
    let (x0, x1) = (
        (cx - r - 1.0).max(0.0) as u32,
        ((cx + r + 1.0) as u32).min(canvas.width()),
    );
    let (y0, y1) = (
        (cy - r - 1.0).max(0.0) as u32,
        ((cy + r + 1.0) as u32).min(canvas.height()),
    );
    for y in y0..y1 {
        for x in x0..x1 {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let a = (r + 0.5 - d).clamp(0.0, 1.0);
            if a > 0.0 {
                blend(canvas.get_pixel_mut(x, y), color, a);
            }
        }
    }
}

fn rounded_rect(canvas: &mut RgbImage, rect: Rect, radius: f32, color: Rgb<u8>) {
    let (l, t) = (rect.x as f32, rect.y as f32);
    let (r, b) = (l + rect.w as f32, t + rect.h as f32);
    for y in rect.y..(rect.y + rect.h).min(canvas.height()) {
        for x in rect.x..(rect.x + rect.w).min(canvas.width()) {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let qx = (l + radius - px).max(px - (r - radius)).max(0.0);
            let qy = (t + radius - py).max(py - (b - radius)).max(0.0);
            let d = (qx * qx + qy * qy).sqrt();
            let a = (radius + 0.5 - d).clamp(0.0, 1.0);
            if a > 0.0 {
                blend(canvas.get_pixel_mut(x, y), color, a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_wrapped_then_cut_with_an_ellipsis() {
        let fonts = Fonts::load();
        let scale = PxScale::from(72.0);
        let text =
            "아주아주 긴 제목이 들어가면 세 줄 안에서 잘리고 말줄임표로 끝나야 합니다 정말로";
        let lines = wrap(&fonts.bold, scale, text, 496.0, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with('…'), "{lines:?}");
        for line in &lines {
            assert!(text_width(&fonts.bold, scale, line) <= 496.0, "{line}");
        }
        let short = wrap(&fonts.bold, scale, "순대", 496.0, 3);
        assert_eq!(short, vec!["순대".to_owned()]);
    }

    #[test]
    fn a_word_wider_than_the_line_is_broken_inside() {
        let fonts = Fonts::load();
        let scale = PxScale::from(72.0);
        let lines = wrap(&fonts.bold, scale, &"가".repeat(40), 496.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'));
    }

    #[test]
    fn overlong_text_never_leaves_the_text_panel() {
        let fonts = Fonts::load();
        let long = "아주 긴 글 ".repeat(30) + &"W".repeat(80);
        let card = Card {
            kicker: long.clone(),
            title: long.clone(),
            subtitle: long.clone(),
            footer: long.clone(),
            layout: Layout::Single,
            names: vec![long.clone()],
        };
        let png = draw(&fonts, &card, &[None]).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        // The right margin and the gap between photo and text stay blank paper.
        for y in 0..IMAGE_HEIGHT {
            for x in (IMAGE_WIDTH - PAD as u32 + 2)..IMAGE_WIDTH {
                assert_eq!(*img.get_pixel(x, y), PAPER, "ink at ({x}, {y})");
            }
            for x in PHOTO_WIDTH..(PHOTO_WIDTH + PAD as u32 - 2) {
                assert_eq!(*img.get_pixel(x, y), PAPER, "ink at ({x}, {y})");
            }
        }
    }

    #[test]
    fn every_layout_draws_a_png_of_the_preview_size() {
        let fonts = Fonts::load();
        let photo = DynamicImage::new_rgb8(300, 200);
        for (layout, n) in [
            (Layout::Single, 1),
            (Layout::Versus, 2),
            (Layout::Collage, 3),
            (Layout::Collage, 0),
        ] {
            let card = Card {
                kicker: "입맛 퀴즈".into(),
                title: "제목".into(),
                subtitle: "부제".into(),
                footer: "만든 사람".into(),
                layout,
                names: vec!["김밥".into(); n],
            };
            let mut photos = vec![Some(photo.clone()); n];
            if n > 1 {
                photos[1] = None;
            }
            let png = draw(&fonts, &card, &photos).unwrap();
            let img = image::load_from_memory(&png).unwrap();
            assert_eq!((img.width(), img.height()), (1200, 630));
        }
    }
}
