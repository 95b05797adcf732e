//! `ipmat-media-bench OUT.jpg [WIDTH HEIGHT]`: writes a photo-like JPEG (a colour gradient
//! with sensor-like noise, quality 90, an EXIF block saying "rotate 90°" as phones write in
//! portrait) for bench/media.sh to upload. Default size 4032×3024, a 12 MP phone photo.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).expect("usage: ipmat-media-bench OUT.jpg [WIDTH HEIGHT]");
    let width: u32 = args.get(2).map_or(4032, |w| w.parse().expect("a width"));
    let height: u32 = args.get(3).map_or(3024, |h| h.parse().expect("a height"));

    let mut state = 0x9E37_79B9_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 13) as i32 - 6
    };
    let picture = RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let base = [
            40.0 + 180.0 * fx,
            60.0 + 120.0 * fy,
            200.0 - 150.0 * (fx * fy).sqrt(),
        ];
        Rgb(base.map(|c| (c as i32 + noise()).clamp(0, 255) as u8))
    });
    let mut jpeg = Cursor::new(Vec::new());
    picture
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 90))
        .expect("JPEG encoding");
    let jpeg = jpeg.into_inner();

    // EXIF APP1 right after SOI: a big-endian TIFF block with Orientation = 6.
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
    let mut file = jpeg[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    file.append(&mut app1);
    file.extend_from_slice(&jpeg[2..]);
    std::fs::write(out, &file).expect("writing the photo");
    eprintln!("{out}: {width}×{height}, {} bytes", file.len());
}
