//! Checking, cleaning and thumbnailing uploaded images (pure logic, no I/O).
//!
//! Every upload to `POST /api/media` goes through [`clean`] before it is stored:
//!
//! 1. **The real type comes from the bytes** ([`sniff`]): a client's `Content-Type` is only a
//!    claim, and storing an HTML or SVG file as "image/png" would let it be served back as
//!    something else. Only JPEG, PNG, GIF and WebP are accepted.
//! 2. **Metadata is stripped without re-encoding**: photos straight off a phone carry GPS
//!    coordinates, the device's serial number, the owner's name, sometimes an embedded
//!    thumbnail of the un-cropped original. We walk each container format and drop the
//!    segments/chunks that carry such data, copying every other byte as is, so the stored
//!    image loses no quality. What is kept is what rendering needs (colour profiles, the
//!    Adobe colour-transform marker, GIF looping).
//! 3. **Decompression bombs are refused** before any pixel is decoded: a 100-byte PNG can
//!    claim 100 000 x 100 000 pixels. Above [`MAX_PIXELS`] (or [`MAX_SIDE`] on one side) the
//!    upload is [`ImageError::TooLarge`], and the decoder runs under allocation limits too.
//! 4. **A JPEG thumbnail** (longest side at most [`THUMB_MAX`], never upscaled, transparency
//!    flattened onto white) is made by decoding the *cleaned* bytes, which also proves that
//!    what we store still decodes.
//!
//! [`clean`] is CPU-bound (a large photo takes a noticeable fraction of a second): the caller
//! runs it on `spawn_blocking`.
//!
//! Known limitations:
//! - **JPEG EXIF orientation is lost.** Phones often store the sensor's pixels unrotated plus
//!   an EXIF Orientation tag (values 2..=8) telling viewers how to turn them. Stripping APP1
//!   drops that tag, and we neither rotate the pixels (that would mean re-encoding) nor keep
//!   a minimal EXIF with only the orientation, so such photos (and their thumbnails) display
//!   sideways or mirrored. `width`/`height` are those of the stored pixels, unrotated.
//! - Colour profiles are kept in the original but not applied to the thumbnail (the `image`
//!   crate does no colour management); wide-gamut photos give slightly dull thumbnails.
//! - Animated GIF/WebP: the original keeps every frame; the thumbnail is the first frame.
//! - PNG: only the textual/EXIF/time chunks listed in [`PNG_DROPPED`] are removed; other
//!   ancillary chunks (colour, physical size, private chunks) are kept as they are.
//!
//! Each container format's walk lives in its own module (`jpeg`, `png`, `gif`, `webp`); this
//! one holds the entry points, the limits and the thumbnail.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbaImage};

mod gif;
mod jpeg;
mod png;
mod webp;

pub use png::PNG_DROPPED;
use png::PNG_SIGNATURE;

/// Longest side of a thumbnail, in pixels.
pub const THUMB_MAX: u32 = 320;

/// Largest image accepted, in pixels (width x height): a 50 MP image already decodes to
/// 150-200 MB of RGB(A), which is as much as one upload should cost the server.
pub const MAX_PIXELS: u64 = 50_000_000;

/// Longest side accepted, in pixels: a 1 x 50 000 000 strip is within [`MAX_PIXELS`] but is
/// no photo; bigger than any real camera or panorama we expect to host.
pub const MAX_SIDE: u32 = 32_768;

/// What the decoder may allocate for one image: the 50 MP worst case in 8-bit RGBA (200 MB)
/// plus working room. A 16-bit image near the pixel limit exceeds it and is refused as
/// [`ImageError::TooLarge`] rather than taking twice the memory.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// JPEG quality of thumbnails: visually fine at 320 px, about 10-25 KB each.
const THUMB_QUALITY: u8 = 80;

/// An image checked and cleaned by [`clean`], ready to store.
#[derive(Debug, Clone)]
pub struct CleanImage {
    /// The real type, from the bytes: `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub content_type: &'static str,
    /// The original image with its metadata removed, not re-encoded.
    pub bytes: Bytes,
    /// Dimensions from the image's header (for GIF, the logical screen).
    pub width: u32,
    /// Height in pixels, from the image's header.
    pub height: u32,
    /// A JPEG whose longest side is at most [`THUMB_MAX`] (never larger than the original).
    pub thumbnail: Bytes,
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Not a JPEG, PNG, GIF or WebP, judging by its bytes (HTTP 415).
    #[error("unsupported image type: only JPEG, PNG, GIF and WebP are accepted")]
    Unsupported,
    /// It starts like one of the accepted types but its structure is broken or it does not
    /// decode (HTTP 400/422).
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Its header claims more than [`MAX_PIXELS`] pixels or a side longer than [`MAX_SIDE`],
    /// or decoding it would need more memory than allowed; refused before decoding the
    /// pixels (a decompression bomb, or simply too big; HTTP 413).
    #[error("image too large: at most {MAX_PIXELS} pixels and {MAX_SIDE} pixels a side")]
    TooLarge,
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(what.to_owned())
}

/// The accepted formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl Kind {
    fn of(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(Kind::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Kind::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Kind::WebP)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::WebP => "image/webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Gif => ImageFormat::Gif,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

/// The image type from its magic bytes alone, as a MIME type; `None` for anything else.
/// Never trust the client's `Content-Type` instead.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    Kind::of(bytes).map(Kind::content_type)
}

/// Checks an uploaded image, strips its metadata and makes its thumbnail.
///
/// CPU-bound: run it on `spawn_blocking`. See the module doc for what is removed and the
/// known limitations (notably, JPEG EXIF orientation is dropped, not applied).
pub fn clean(bytes: &[u8]) -> Result<CleanImage, ImageError> {
    let kind = Kind::of(bytes).ok_or(ImageError::Unsupported)?;
    let cleaned = match kind {
        Kind::Jpeg => jpeg::strip(bytes)?,
        Kind::Png => png::strip(bytes)?,
        Kind::Gif => gif::strip(bytes)?,
        Kind::WebP => webp::strip(bytes)?,
    };
    // Everything below reads the cleaned bytes: what we store is what we proved decodes.
    let (width, height) = header_dimensions(&cleaned, kind)?;
    let image = decode(&cleaned, kind)?;
    let thumbnail = thumbnail(image)?;
    Ok(CleanImage {
        content_type: kind.content_type(),
        bytes: Bytes::from(cleaned),
        width,
        height,
        thumbnail: Bytes::from(thumbnail),
    })
}

fn decoder_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

fn map_decode_error(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(_) => ImageError::TooLarge,
        e => ImageError::Corrupt(e.to_string()),
    }
}

/// Reads only the header (no pixel buffer is allocated) and refuses bombs before [`decode`].
fn header_dimensions(data: &[u8], kind: Kind) -> Result<(u32, u32), ImageError> {
    let mut reader = ImageReader::with_format(Cursor::new(data), kind.format());
    reader.limits(decoder_limits());
    let (width, height) = reader.into_dimensions().map_err(map_decode_error)?;
    if width == 0 || height == 0 {
        return Err(corrupt("image has no pixels"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge);
    }
    Ok((width, height))
}

fn decode(data: &[u8], kind: Kind) -> Result<DynamicImage, ImageError> {
    let mut reader = ImageReader::with_format(Cursor::new(data), kind.format());
    reader.limits(decoder_limits());
    reader.decode().map_err(map_decode_error)
}

/// Size of the thumbnail of a `width` x `height` image: fits in [`THUMB_MAX`] squared,
/// keeps the aspect ratio, never upscales, never has a zero side.
fn thumb_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= THUMB_MAX {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(THUMB_MAX) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(THUMB_MAX).clamp(1, THUMB_MAX)
    };
    (scale(width), scale(height))
}

fn thumbnail(image: DynamicImage) -> Result<Vec<u8>, ImageError> {
    let (width, height) = (image.width(), image.height());
    let (tw, th) = thumb_size(width, height);
    // JPEG has no alpha: composite onto white *before* resizing, otherwise the (often black)
    // colour of fully transparent pixels bleeds into the edges while filtering.
    let image = if image.color().has_alpha() {
        let mut rgba = image.into_rgba8();
        flatten_onto_white(&mut rgba);
        DynamicImage::ImageRgba8(rgba)
    } else {
        image
    };
    let small = if (tw, th) == (width, height) {
        image
    } else {
        // A filtered resize from a huge image is slow (its kernel widens with the ratio), so
        // big reductions go first through the cheap area-averaging `thumbnail_exact` down to
        // twice the target, then Triangle does the last, quality-relevant 2x.
        let image =
            if width / tw >= 4 && height / th >= 4 { image.thumbnail_exact(tw * 2, th * 2) } else { image };
        image.resize_exact(tw, th, FilterType::Triangle)
    };
    let rgb = small.into_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| ImageError::Corrupt(format!("thumbnail encoding failed: {e}")))?;
    Ok(out)
}

fn flatten_onto_white(image: &mut RgbaImage) {
    for pixel in image.pixels_mut() {
        let alpha = u16::from(pixel[3]);
        if alpha == 255 {
            continue;
        }
        for channel in &mut pixel.0[..3] {
            // At most 255 * 255 + 127 before the division: fits u16, result fits u8.
            let blended = (u16::from(*channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            *channel = u8::try_from(blended).unwrap_or(u8::MAX);
        }
        pixel[3] = 255;
    }
}

/// `len` bytes of `data` from `start`, or Corrupt if the file ends first.
fn slice<'a>(data: &'a [u8], start: usize, len: usize, what: &str) -> Result<&'a [u8], ImageError> {
    start
        .checked_add(len)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| ImageError::Corrupt(format!("truncated {what}")))
}

fn be16(data: &[u8], at: usize, what: &str) -> Result<usize, ImageError> {
    let b = slice(data, at, 2, what)?;
    Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

fn be32(data: &[u8], at: usize, what: &str) -> Result<u32, ImageError> {
    let b = slice(data, at, 4, what)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le32(data: &[u8], at: usize, what: &str) -> Result<u32, ImageError> {
    let b = slice(data, at, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn to_usize(n: u32) -> Result<usize, ImageError> {
    usize::try_from(n).map_err(|_| corrupt("length does not fit in memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba};

    pub(super) const SECRET: &[u8] = b"GPS 48.8584N 2.2945E SECRET";

    pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    pub(super) fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, 128])
        }))
    }

    pub(super) fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    pub(super) fn dimensions(bytes: &[u8]) -> (u32, u32) {
        image::load_from_memory(bytes).unwrap().to_rgb8().dimensions()
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    pub(super) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }

    /// An APP1 Exif segment: TIFF header, one IFD with an Orientation tag, and GPS-like text.
    pub(super) fn app1_exif() -> Vec<u8> {
        let mut payload = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
        payload.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(SECRET);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        segment.extend_from_slice(&payload);
        segment
    }

    pub(super) fn jpeg_segment_bytes(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut segment = vec![0xFF, marker];
        segment.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        segment.extend_from_slice(payload);
        segment
    }

    #[test]
    fn sniffs_by_magic_bytes_only() {
        let img = gradient(4, 4);
        assert_eq!(sniff(&encode(&img, ImageFormat::Jpeg)), Some("image/jpeg"));
        assert_eq!(sniff(&encode(&img, ImageFormat::Png)), Some("image/png"));
        assert_eq!(sniff(&encode(&img, ImageFormat::Gif)), Some("image/gif"));
        assert_eq!(sniff(&encode(&img, ImageFormat::WebP)), Some("image/webp"));
        assert_eq!(sniff(b"GIF87a"), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF, 0xD8]), None);
    }

    #[test]
    fn cleans_each_format() {
        let img = gradient(40, 30);
        for (format, mime) in [
            (ImageFormat::Jpeg, "image/jpeg"),
            (ImageFormat::Png, "image/png"),
            (ImageFormat::Gif, "image/gif"),
            (ImageFormat::WebP, "image/webp"),
        ] {
            let clean = clean(&encode(&img, format)).unwrap();
            assert_eq!(clean.content_type, mime);
            assert_eq!((clean.width, clean.height), (40, 30));
            assert_eq!(sniff(&clean.bytes), Some(mime));
            assert_eq!(dimensions(&clean.bytes), (40, 30), "{mime}");
            assert_eq!(sniff(&clean.thumbnail), Some("image/jpeg"));
            assert_eq!(dimensions(&clean.thumbnail), (40, 30), "{mime}");
        }
    }

    #[test]
    fn image_without_metadata_is_unchanged() {
        for format in [ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif] {
            let original = encode(&gradient(9, 7), format);
            assert_eq!(clean(&original).unwrap().bytes, original, "{format:?}");
        }
    }

    #[test]
    fn not_images_are_unsupported() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(clean(&random).unwrap_err(), ImageError::Unsupported);
        assert_eq!(clean(b"Hello, this is a text file.\n").unwrap_err(), ImageError::Unsupported);
        assert_eq!(
            clean(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap_err(),
            ImageError::Unsupported
        );
        assert_eq!(clean(b"").unwrap_err(), ImageError::Unsupported);
    }

    #[test]
    fn truncated_or_broken_images_are_corrupt() {
        let img = gradient(20, 20);
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Gif, ImageFormat::WebP] {
            let bytes = encode(&img, format);
            let half = &bytes[..bytes.len() / 2];
            assert!(matches!(clean(half), Err(ImageError::Corrupt(_))), "{format:?}");
        }
        assert!(matches!(clean(&[0xFF, 0xD8, 0xFF]), Err(ImageError::Corrupt(_))));
        assert!(matches!(clean(PNG_SIGNATURE), Err(ImageError::Corrupt(_))));
        assert!(matches!(clean(b"RIFF\x04\0\0\0WEBP"), Err(ImageError::Corrupt(_))));
        assert!(matches!(clean(b"GIF89a\x01\0\x01\0\0\0\0\x3B"), Err(ImageError::Corrupt(_))));
        // Well-formed PNG structure whose pixel data is garbage: caught by decoding.
        let png = encode(&img, ImageFormat::Png);
        let mut bad = png[..33].to_vec();
        bad.extend(png_chunk(b"IDAT", b"definitely not zlib"));
        bad.extend(png_chunk(b"IEND", b""));
        assert!(matches!(clean(&bad), Err(ImageError::Corrupt(_))));
    }

    #[test]
    fn no_panic_on_any_prefix_or_bit_flip() {
        let img = gradient(8, 6);
        let mut state = 0x9E37_79B9u32;
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Gif, ImageFormat::WebP] {
            let bytes = encode(&img, format);
            for len in 0..bytes.len() {
                let _ = clean(&bytes[..len]);
            }
            for _ in 0..200 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let mut flipped = bytes.clone();
                let at = (state as usize >> 8) % flipped.len();
                flipped[at] ^= 1 << (state % 8);
                let _ = clean(&flipped);
            }
        }
    }

    #[test]
    fn thumbnails_fit_in_320_and_never_upscale() {
        for ((w, h), expected) in [((1000, 500), (320, 160)), ((300, 900), (107, 320)), ((20, 10), (20, 10))]
        {
            let clean = clean(&encode(&gradient(w, h), ImageFormat::Png)).unwrap();
            assert_eq!((clean.width, clean.height), (w, h));
            assert_eq!(sniff(&clean.thumbnail), Some("image/jpeg"));
            assert_eq!(dimensions(&clean.thumbnail), expected, "{w}x{h}");
        }
        assert_eq!(thumb_size(320, 320), (320, 320));
        assert_eq!(thumb_size(321, 1), (320, 1));
        assert_eq!(thumb_size(32_000, 10), (320, 1));
    }

    #[test]
    fn transparency_is_flattened_onto_white() {
        let transparent = DynamicImage::ImageRgba8(RgbaImage::from_pixel(10, 10, Rgba([0, 0, 0, 0])));
        let clean = clean(&encode(&transparent, ImageFormat::Png)).unwrap();
        let thumb = image::load_from_memory(&clean.thumbnail).unwrap().to_rgb8();
        assert!(thumb.pixels().all(|p| p.0.iter().all(|&c| c > 245)), "{:?}", thumb.get_pixel(5, 5));
    }

    #[test]
    fn decompression_bombs_are_refused_before_decoding() {
        let png_bomb = |width: u32, height: u32| {
            let mut ihdr = width.to_be_bytes().to_vec();
            ihdr.extend_from_slice(&height.to_be_bytes());
            ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
            let mut png = PNG_SIGNATURE.to_vec();
            png.extend(png_chunk(b"IHDR", &ihdr));
            png.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
            png.extend(png_chunk(b"IEND", b""));
            png
        };
        assert_eq!(clean(&png_bomb(100_000, 100_000)).unwrap_err(), ImageError::TooLarge);
        assert_eq!(clean(&png_bomb(10_000, 5_001)).unwrap_err(), ImageError::TooLarge);
        assert_eq!(clean(&png_bomb(40_000, 10)).unwrap_err(), ImageError::TooLarge);
        // Within the limits the same file is merely corrupt (its pixel data is empty).
        assert!(matches!(clean(&png_bomb(100, 100)), Err(ImageError::Corrupt(_))));

        // GIF: a 65535 x 65535 logical screen and image, with a few bytes of data.
        let mut gif = b"GIF89a\xFF\xFF\xFF\xFF\x00\x00\x00".to_vec();
        gif.extend_from_slice(b"\x2C\0\0\0\0\xFF\xFF\xFF\xFF\x00\x02\x02\x4C\x01\x00\x3B");
        assert_eq!(clean(&gif).unwrap_err(), ImageError::TooLarge);

        // JPEG: an SOF0 claiming 60000 x 60000.
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(jpeg_segment_bytes(0xC0, &[8, 0xEA, 0x60, 0xEA, 0x60, 1, 1, 0x11, 0]));
        jpeg.extend(jpeg_segment_bytes(jpeg::SOS, &[1, 1, 0, 0, 63, 0]));
        jpeg.extend([0x00, 0xFF, 0xD9]);
        assert_eq!(clean(&jpeg).unwrap_err(), ImageError::TooLarge);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// What `clean` must guarantee of whatever it accepts: its type is what the bytes
        /// say, its sides are within the limits, and its thumbnail decodes to the promised size.
        fn check_accepted(input: &[u8], image: &CleanImage) -> Result<(), TestCaseError> {
            prop_assert_eq!(Some(image.content_type), sniff(input));
            prop_assert!((1..=MAX_SIDE).contains(&image.width) && (1..=MAX_SIDE).contains(&image.height));
            prop_assert!(u64::from(image.width) * u64::from(image.height) <= MAX_PIXELS);
            prop_assert_eq!(dimensions(&image.thumbnail), thumb_size(image.width, image.height));
            Ok(())
        }

        /// Small real images of each accepted type, for the mutations below to start from.
        fn samples() -> Vec<Vec<u8>> {
            let image = gradient(7, 5);
            [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP]
                .into_iter()
                .map(|format| encode(&image, format))
                .collect()
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                if let Ok(image) = clean(&bytes) {
                    check_accepted(&bytes, &image)?;
                }
            }

            /// Past the magic bytes, into each format's walk: arbitrary headers and chunks.
            #[test]
            fn arbitrary_bytes_after_a_magic_never_panic(
                magic in prop::sample::select(vec![
                    &[0xFF, 0xD8, 0xFF][..], &PNG_SIGNATURE[..], &b"GIF89a"[..], &b"GIF87a"[..],
                    &b"RIFF\x20\0\0\0WEBPVP8 "[..],
                ]),
                tail in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                let bytes = [magic, &tail[..]].concat();
                prop_assert_eq!(sniff(&bytes).is_some(), true);
                if let Ok(image) = clean(&bytes) {
                    check_accepted(&bytes, &image)?;
                }
            }

            /// Real images with a few bytes changed, cut short or grown: refused or sane.
            #[test]
            fn damaged_real_images_are_refused_or_sane(
                which in 0usize..4,
                changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                cut in any::<prop::sample::Index>(),
                truncate in any::<bool>(),
            ) {
                let mut bytes = samples().swap_remove(which);
                for (at, value) in changes {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len()));
                }
                if let Ok(image) = clean(&bytes) {
                    check_accepted(&bytes, &image)?;
                }
            }

            #[test]
            fn thumbnail_sizes_fit_and_never_upscale(width in 1..=MAX_SIDE, height in 1..=MAX_SIDE) {
                let (w, h) = thumb_size(width, height);
                prop_assert!((1..=THUMB_MAX.min(width)).contains(&w));
                prop_assert!((1..=THUMB_MAX.min(height)).contains(&h));
            }
        }
    }
}
