//! Turning an uploaded file into a stored image: judge the format by its bytes, refuse pixel
//! bombs before decoding, apply the EXIF orientation, shrink to fit 600×500 and re-encode
//! (which drops every piece of metadata), and make the lossy WebP variant of the result. Pure
//! and synchronous: callers run it under the image bound.

use std::io::Cursor;

use fast_image_resize as fr;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// Largest accepted file, in bytes.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest accepted image, in pixels (width × height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest accepted side, in pixels (an extreme aspect ratio is refused even under
/// [`MAX_PIXELS`]).
pub const MAX_SIDE: u32 = 16_384;
/// Largest decoded pixel buffer: 40 MP at 8 bits per channel with alpha. A 16-bit image is
/// accepted up to the same number of bytes (20 MP with alpha), so that one decode never
/// holds more than this.
pub const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4;
/// Stored images fit in this box.
pub const MAX_WIDTH: u32 = 600;
pub const MAX_HEIGHT: u32 = 500;
/// JPEG quality of stored images.
pub const JPEG_QUALITY: u8 = 82;
/// Quality of the lossy WebP variant of every stored image (libwebp's 0–100 scale).
pub const WEBP_QUALITY: f32 = 80.0;

/// How a processed image is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Jpeg,
    /// Only for images with transparent pixels.
    Png,
}

impl Encoding {
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Jpeg => "jpg",
            Encoding::Png => "png",
        }
    }
}

/// A processed image, ready to store.
#[derive(Debug)]
pub struct Processed {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub encoding: Encoding,
    /// The format the upload was in.
    pub source: ImageFormat,
    /// The stored image as lossy WebP ([`WEBP_QUALITY`], alpha kept): `webp_of_stored(bytes)`.
    pub webp: Vec<u8>,
}

/// Why an upload is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProcessError {
    #[error("the file is not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    #[error(
        "the image is {width}×{height} pixels; at most {} megapixels are accepted",
        MAX_PIXELS / 1_000_000
    )]
    TooManyPixels { width: u32, height: u32 },
    #[error(
        "the image is {width}×{height} pixels; each side may be at most {} pixels",
        MAX_SIDE
    )]
    SideTooLong { width: u32, height: u32 },
    #[error(
        "the image is {width}×{height} pixels at {bits} bits per channel, over {} MB once \
         decoded; at 16 bits at most 20 megapixels are accepted",
        MAX_DECODE_BYTES / 1_000_000
    )]
    TooDeep { width: u32, height: u32, bits: u8 },
    #[error("the image data is truncated or corrupt ({0})")]
    Corrupt(String),
    #[error("the image could not be encoded: {0}")]
    Encode(String),
}

/// The format of an upload, judged by its first bytes alone (never by its name or declared
/// type); `None` unless it is one of the four accepted formats.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif)) => {
            Some(f)
        }
        _ => None,
    }
}

/// The size of a `width`×`height` image shrunk to fit `max_width`×`max_height`, keeping its
/// aspect ratio; images that already fit keep their size (nothing is enlarged).
pub fn fit_within(width: u32, height: u32, max_width: u32, max_height: u32) -> (u32, u32) {
    if width <= max_width && height <= max_height {
        return (width, height);
    }
    let (w, h, mw, mh) = (
        u64::from(width),
        u64::from(height),
        u64::from(max_width),
        u64::from(max_height),
    );
    // Width-bound when w/h >= mw/mh; integer arithmetic, rounded to the nearest pixel.
    let (nw, nh) = if w * mh >= h * mw {
        (mw, (h * mw + w / 2) / w)
    } else {
        ((w * mh + h / 2) / h, mh)
    };
    (nw.max(1) as u32, nh.max(1) as u32)
}

fn decode_error(e: ImageError) -> ProcessError {
    match e {
        ImageError::Unsupported(_) => ProcessError::Unsupported,
        other => ProcessError::Corrupt(other.to_string()),
    }
}

/// Processes an upload (see the module comment).
pub fn process(bytes: &[u8]) -> Result<Processed, ProcessError> {
    let format = sniff(bytes).ok_or(ProcessError::Unsupported)?;
    // The JPEG decoder fills a cut-off picture with grey rather than failing.
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ProcessError::Corrupt("the JPEG data ends early".into()));
    }
    let (image, orientation) = decode(bytes, format)?;
    // The full-size pixels are never copied: transparency is judged in place, the image is
    // shrunk in its own pixel format, and only the small result is converted.
    let transparent = has_transparency(&image);
    let image = shrink_upright(image, orientation, transparent)?;
    let (image, encoding) = if transparent {
        (DynamicImage::ImageRgba8(image.into_rgba8()), Encoding::Png)
    } else {
        (DynamicImage::ImageRgb8(image.into_rgb8()), Encoding::Jpeg)
    };

    let mut out = Vec::new();
    let written = match encoding {
        Encoding::Jpeg => {
            image.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        }
        Encoding::Png => image.write_with_encoder(PngEncoder::new(&mut out)),
    };
    written.map_err(|e| ProcessError::Encode(e.to_string()))?;
    // Made from the stored bytes, as for images stored without one (see `webp_of_stored`), so
    // that a variant depends on its image alone, whichever way it was made.
    let webp = webp_of_stored(&out)?;
    Ok(Processed {
        webp,
        bytes: out,
        width: image.width(),
        height: image.height(),
        encoding,
        source: format,
    })
}

/// Encodes pixels as lossy WebP at [`WEBP_QUALITY`] with libwebp (transparent images keep
/// their alpha channel; everything else is encoded as RGB).
pub fn encode_webp(image: &DynamicImage) -> Result<Vec<u8>, ProcessError> {
    let (width, height) = (image.width(), image.height());
    // libwebp takes at most 16383 pixels a side (larger is never stored: see MAX_SIDE and
    // the 600×500 box), and the wrapper panics on an empty picture.
    if width == 0 || height == 0 || width > 16_383 || height > 16_383 {
        return Err(ProcessError::Encode(format!(
            "a {width}×{height} image cannot be encoded as WebP"
        )));
    }
    let encoded = if has_transparency(image) {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), width, height)
            .encode_simple(false, WEBP_QUALITY)
            .map(|m| m.to_vec())
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), width, height)
            .encode_simple(false, WEBP_QUALITY)
            .map(|m| m.to_vec())
    };
    encoded.map_err(|e| ProcessError::Encode(format!("WebP encoding failed: {e:?}")))
}

/// The WebP variant of an image already stored (a bundled or imported picture, or one
/// stored before variants existed): decoded under the same limits as an upload and turned
/// upright as browsers show it, at its own size.
pub fn webp_of_stored(bytes: &[u8]) -> Result<Vec<u8>, ProcessError> {
    let format = sniff(bytes).ok_or(ProcessError::Unsupported)?;
    let (mut image, orientation) = decode(bytes, format)?;
    image.apply_orientation(orientation);
    encode_webp(&image)
}

/// Decodes the pixels (the first frame of an animation) after judging the size in the header.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<(DynamicImage, Orientation), ProcessError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Only the header is read here (so no limit applies yet): the size is known, and judged,
    // before any pixel is decoded.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ProcessError::Corrupt("the image has no pixels".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ProcessError::SideTooLong { width, height });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ProcessError::TooManyPixels { width, height });
    }
    let color = decoder.color_type();
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        let bits = color.bytes_per_pixel() / color.channel_count().max(1) * 8;
        return Err(ProcessError::TooDeep {
            width,
            height,
            bits,
        });
    }
    let too_large = |e: ImageError| match e {
        ImageError::Limits(_) => ProcessError::TooManyPixels { width, height },
        other => decode_error(other),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // The pixel buffer plus the decoders' own working memory.
    limits.max_alloc = Some(MAX_DECODE_BYTES + 32 * 1024 * 1024);
    decoder.set_limits(limits).map_err(too_large)?;
    // A broken EXIF block should not cost the whole image: keep it unrotated.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    Ok((image, orientation))
}

/// Shrinks a decoded image so that, once turned upright, it fits the box; then turns it.
/// Resizing first and rotating the small result costs far less than the other way round.
fn shrink_upright(
    image: DynamicImage,
    orientation: Orientation,
    transparent: bool,
) -> Result<DynamicImage, ProcessError> {
    let turned = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (width, height) = (image.width(), image.height());
    let mut image = if turned {
        let (w, h) = fit_within(height, width, MAX_WIDTH, MAX_HEIGHT);
        resize(image, h, w, transparent)?
    } else {
        let (w, h) = fit_within(width, height, MAX_WIDTH, MAX_HEIGHT);
        resize(image, w, h, transparent)?
    };
    image.apply_orientation(orientation);
    Ok(image)
}

/// Whether a JPEG runs from its start marker to its end marker: walks the marker segments,
/// skipping each entropy-coded scan up to the marker after it.
fn jpeg_is_complete(b: &[u8]) -> bool {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    loop {
        if b.get(i) != Some(&0xFF) {
            return false;
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            // Restart markers and TEM carry no length.
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let Some(len) = b
            .get(i..i + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return false;
        };
        if len < 2 || i + len > b.len() {
            return false;
        }
        i += len;
        if marker == 0xDA {
            // Scan data: 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; any
            // other byte after it starts the next segment.
            let next = b[i..]
                .windows(2)
                .position(|w| w[0] == 0xFF && !matches!(w[1], 0x00 | 0xD0..=0xD7 | 0xFF));
            match next {
                Some(offset) => i += offset,
                None => return false,
            }
        }
    }
}

/// Lanczos3 resampling (alpha premultiplied, so transparent edges do not darken); an image
/// already of that size is answered as is.
/// Whether any pixel is not fully opaque, judged without copying the pixels.
fn has_transparency(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(i) => i.pixels().any(|p| p.0[1] != u8::MAX),
        DynamicImage::ImageRgba8(i) => i.pixels().any(|p| p.0[3] != u8::MAX),
        DynamicImage::ImageLumaA16(i) => i.pixels().any(|p| p.0[1] != u16::MAX),
        DynamicImage::ImageRgba16(i) => i.pixels().any(|p| p.0[3] != u16::MAX),
        DynamicImage::ImageRgba32F(i) => i.pixels().any(|p| p.0[3] < 1.0),
        _ => false,
    }
}

/// Shrinks in the image's own pixel format. Transparent images are premultiplied in place
/// (no second full-size buffer) and the small result divided back.
fn resize(
    mut image: DynamicImage,
    width: u32,
    height: u32,
    transparent: bool,
) -> Result<DynamicImage, ProcessError> {
    if (width, height) == (image.width(), image.height()) {
        return Ok(image);
    }
    let failed = |e: &dyn std::fmt::Display| ProcessError::Encode(format!("resizing failed: {e}"));
    let mul_div = fr::MulDiv::default();
    if transparent {
        mul_div
            .multiply_alpha_inplace(&mut image)
            .map_err(|e| failed(&e))?;
    }
    let mut target = DynamicImage::new(width, height, image.color());
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .use_alpha(false);
    fr::Resizer::new()
        .resize(&image, &mut target, &options)
        .map_err(|e| failed(&e))?;
    drop(image);
    if transparent {
        mul_div
            .divide_alpha_inplace(&mut target)
            .map_err(|e| failed(&e))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
        }))
    }

    #[test]
    fn a_jpeg_must_reach_its_end_marker() {
        let jpeg = encode(&gradient(64, 48), ImageFormat::Jpeg);
        assert!(jpeg_is_complete(&jpeg));
        let mut padded = jpeg.clone();
        padded.extend_from_slice(b"data some phones append after the end marker");
        assert!(jpeg_is_complete(&padded));
        assert!(!jpeg_is_complete(&jpeg[..jpeg.len() - 2]));
        assert!(!jpeg_is_complete(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"));
    }

    #[test]
    fn sizes_fit_the_box_without_enlarging() {
        let cases = [
            ((4000, 3000), (600, 450)),
            ((300, 200), (300, 200)),
            ((1000, 1000), (500, 500)),
            ((600, 500), (600, 500)),
            ((601, 500), (600, 499)),
            ((500, 4000), (63, 500)),
            ((20000, 1), (600, 1)),
            ((1, 20000), (1, 500)),
            ((3024, 4032), (375, 500)),
        ];
        for ((w, h), want) in cases {
            assert_eq!(fit_within(w, h, 600, 500), want, "{w}×{h}");
        }
    }

    #[test]
    fn formats_are_judged_by_content() {
        let png = encode(&gradient(4, 4), ImageFormat::Png);
        assert_eq!(sniff(&png), Some(ImageFormat::Png));
        assert_eq!(sniff(b"GIF89a......"), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"hello, I am a JPEG"), None);
        let bmp = b"BM\x46\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00";
        assert_eq!(image::guess_format(bmp).ok(), Some(ImageFormat::Bmp));
        assert_eq!(
            sniff(bmp),
            None,
            "BMP is an image, but not one of the four accepted"
        );
        assert_eq!(process(b"").unwrap_err(), ProcessError::Unsupported);
    }

    #[test]
    fn opaque_images_become_jpeg_and_transparent_ones_stay_png() {
        let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 40, Rgba([1, 2, 3, 255])));
        let done = process(&encode(&opaque, ImageFormat::Png)).unwrap();
        assert_eq!(done.encoding, Encoding::Jpeg);
        assert_eq!(sniff(&done.bytes), Some(ImageFormat::Jpeg));
        assert_eq!((done.width, done.height), (50, 40));

        let mut clear = RgbaImage::from_pixel(1200, 800, Rgba([200, 0, 0, 255]));
        clear.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        let done = process(&encode(&DynamicImage::ImageRgba8(clear), ImageFormat::Png)).unwrap();
        assert_eq!(done.encoding, Encoding::Png);
        assert_eq!((done.width, done.height), (600, 400));
        let back = image::load_from_memory(&done.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (600, 400));
    }

    #[test]
    fn every_processed_image_has_a_lossy_webp_of_the_same_pixels() {
        let done = process(&encode(&gradient(1200, 900), ImageFormat::Jpeg)).unwrap();
        assert_eq!(sniff(&done.webp), Some(ImageFormat::WebP));
        // VP8 (lossy), not VP8L (lossless), in the RIFF container.
        assert_eq!(&done.webp[12..16], b"VP8 ", "lossy WebP");
        let back = image::load_from_memory_with_format(&done.webp, ImageFormat::WebP).unwrap();
        assert_eq!((back.width(), back.height()), (600, 450));
        let jpeg = image::load_from_memory(&done.bytes).unwrap().to_rgb8();
        let webp = back.to_rgb8();
        let diff: u64 = jpeg
            .as_raw()
            .iter()
            .zip(webp.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / jpeg.as_raw().len() as f64;
        assert!(
            mean < 4.0,
            "the WebP shows the same picture (mean difference {mean})"
        );

        let mut clear = RgbaImage::from_pixel(40, 30, Rgba([200, 0, 0, 255]));
        for x in 0..20 {
            clear.put_pixel(x, 0, Rgba([0, 0, 0, 0]));
        }
        let done = process(&encode(&DynamicImage::ImageRgba8(clear), ImageFormat::Png)).unwrap();
        let back = image::load_from_memory(&done.webp).unwrap().to_rgba8();
        assert_eq!(back.get_pixel(0, 0).0[3], 0, "transparency is kept");
        assert_eq!(back.get_pixel(30, 20).0[3], 255);
    }

    #[test]
    fn stored_images_get_their_webp_upright_and_at_their_own_size() {
        let webp = webp_of_stored(&encode(&gradient(640, 480), ImageFormat::Jpeg)).unwrap();
        let back = image::load_from_memory_with_format(&webp, ImageFormat::WebP).unwrap();
        assert_eq!((back.width(), back.height()), (640, 480));
        assert_eq!(
            webp_of_stored(b"not an image"),
            Err(ProcessError::Unsupported)
        );
    }

    #[test]
    fn truncated_and_lying_files_are_refused_without_panicking() {
        let png = encode(&gradient(300, 200), ImageFormat::Png);
        for cut in [8, 30, png.len() / 2, png.len() - 13] {
            let err = process(&png[..cut]).unwrap_err();
            assert!(
                matches!(err, ProcessError::Corrupt(_)),
                "cut {cut}: {err:?}"
            );
        }
        for format in [ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP] {
            let whole = encode(&gradient(300, 200), format);
            assert!(process(&whole).is_ok(), "{format:?}");
            // (A GIF missing only its trailer still holds a whole first frame, and is fine.)
            for cut in [3, 20, 200, whole.len() / 2, whole.len() * 9 / 10] {
                let result = process(&whole[..cut]).map(|p| (p.width, p.height));
                assert!(
                    matches!(
                        result,
                        Err(ProcessError::Corrupt(_) | ProcessError::Unsupported)
                    ),
                    "{format:?} cut at {cut} of {}: {result:?}",
                    whole.len()
                );
            }
        }
    }
}
