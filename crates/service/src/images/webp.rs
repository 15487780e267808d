//! WebP: a RIFF file ("RIFF", little-endian size of what follows, "WEBP") holding chunks
//! (fourcc, little-endian payload size, payload, one pad byte if the size is odd). The
//! extended format's VP8X chunk has flags announcing EXIF and XMP chunks: they must be
//! cleared when those chunks go, and the RIFF size rewritten.

use super::{corrupt, le32, slice, to_usize, ImageError};

const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;
const VP8X_LEN: usize = 10;

/// `data` without its EXIF and XMP chunks (and their VP8X flags), nor bytes past the RIFF.
pub(super) fn strip(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let riff_size = to_usize(le32(data, 4, "RIFF header")?)?;
    // Bytes after the RIFF's declared end are not part of the image; dropped.
    let body = slice(data, 0, riff_size.checked_add(8).ok_or_else(|| corrupt("RIFF size"))?, "WebP")?;
    let mut chunks = Vec::with_capacity(body.len());
    let mut pos = 12;
    let mut first = true;
    while pos < body.len() {
        let fourcc = slice(body, pos, 4, "WebP chunk")?;
        let size = to_usize(le32(body, pos + 4, "WebP chunk")?)?;
        let payload = slice(body, pos + 8, size, "WebP chunk")?;
        if first && !matches!(fourcc, b"VP8 " | b"VP8L" | b"VP8X") {
            return Err(corrupt("WebP: no VP8/VP8L/VP8X chunk first"));
        }
        first = false;
        let header = &body[pos..pos + 8];
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                if payload.len() < VP8X_LEN {
                    return Err(corrupt("WebP: short VP8X chunk"));
                }
                chunks.extend_from_slice(header);
                chunks.push(payload[0] & !(VP8X_EXIF | VP8X_XMP));
                chunks.extend_from_slice(&payload[1..]);
                if size % 2 == 1 {
                    chunks.push(0);
                }
            }
            _ => {
                chunks.extend_from_slice(header);
                chunks.extend_from_slice(payload);
                if size % 2 == 1 {
                    // Some encoders omit the very last pad byte; write it anyway.
                    chunks.push(0);
                }
            }
        }
        pos += 8 + size + size % 2;
    }
    if first {
        return Err(corrupt("WebP has no chunks"));
    }
    let new_size = u32::try_from(chunks.len() + 4).map_err(|_| corrupt("WebP too large"))?;
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&new_size.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::clean;
    use crate::images::tests::{app1_exif, contains, dimensions, encode, gradient, SECRET};
    use image::ImageFormat;

    fn riff_chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = fourcc.to_vec();
        chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
        chunk.extend_from_slice(data);
        if data.len() % 2 == 1 {
            chunk.push(0);
        }
        chunk
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn webp_loses_exif_and_xmp_chunks_and_flags() {
        let original = encode(&gradient(25, 11), ImageFormat::WebP);
        assert_eq!(&original[12..16], b"VP8L");
        let image_chunk = original[12..].to_vec();
        // Extended format: VP8X announcing EXIF and XMP, the image, then the metadata.
        let mut vp8x = vec![VP8X_EXIF | VP8X_XMP, 0, 0, 0];
        vp8x.extend_from_slice(&(25u32 - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(11u32 - 1).to_le_bytes()[..3]);
        let exif = riff_chunk(b"EXIF", &app1_exif()[10..]); // odd length: padded
        let xmp = riff_chunk(b"XMP ", b"<x:xmpmeta>XMP-SECRET</x:xmpmeta>");
        let dirty = riff(&[riff_chunk(b"VP8X", &vp8x), image_chunk.clone(), exif, xmp]);
        assert_eq!(dimensions(&dirty), (25, 11));

        let clean = clean(&dirty).unwrap();
        assert!(!contains(&clean.bytes, SECRET));
        assert!(!contains(&clean.bytes, b"XMP-SECRET"));
        assert!(!contains(&clean.bytes, b"EXIF"));
        assert_eq!(clean.bytes[20] & (VP8X_EXIF | VP8X_XMP), 0);
        let mut cleared = vp8x.clone();
        cleared[0] = 0;
        assert_eq!(&clean.bytes[..], &riff(&[riff_chunk(b"VP8X", &cleared), image_chunk])[..]);
        assert_eq!(le32(&clean.bytes, 4, "").unwrap() as usize, clean.bytes.len() - 8);
        assert_eq!(dimensions(&clean.bytes), (25, 11));
    }
}
