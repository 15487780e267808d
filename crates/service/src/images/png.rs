//! PNG: signature, then chunks (4-byte big-endian length, 4-byte type, data, CRC over type and
//! data) from IHDR to IEND. Kept chunks are copied byte for byte, CRC included; nothing after
//! IEND is kept.

use super::{be32, corrupt, slice, to_usize, ImageError};

/// PNG chunks that carry metadata rather than pixels, removed by [`clean`](super::clean).
pub const PNG_DROPPED: [&[u8; 4]; 5] = [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"];

pub(super) const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// `data` without the chunks in [`PNG_DROPPED`] and without anything after IEND.
pub(super) fn strip(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let len = be32(data, pos, "PNG chunk")?;
        if len > 0x7FFF_FFFF {
            return Err(corrupt("PNG: invalid chunk length"));
        }
        let chunk = slice(data, pos, to_usize(len)? + 12, "PNG chunk")?;
        let kind: [u8; 4] = [chunk[4], chunk[5], chunk[6], chunk[7]];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(corrupt("PNG: invalid chunk type"));
        }
        if first && &kind != b"IHDR" {
            return Err(corrupt("PNG: first chunk is not IHDR"));
        }
        first = false;
        if !PNG_DROPPED.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        pos += chunk.len();
        if &kind == b"IEND" {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::images::clean;
    use crate::images::tests::{app1_exif, contains, dimensions, encode, gradient, png_chunk, SECRET};
    use image::ImageFormat;

    #[test]
    fn png_loses_text_exif_and_time_chunks() {
        let original = encode(&gradient(21, 13), ImageFormat::Png);
        // Text and EXIF after IHDR, a tIME before IEND.
        let ihdr_end = 8 + 8 + 13 + 4;
        let iend_start = original.len() - 12;
        let mut dirty = original[..ihdr_end].to_vec();
        dirty.extend(png_chunk(b"tEXt", b"Comment\0TEXT-SECRET"));
        dirty.extend(png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0ITXT-SECRET"));
        dirty.extend(png_chunk(b"eXIf", &app1_exif()[10..]));
        dirty.extend(png_chunk(b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1]));
        dirty.extend_from_slice(&original[ihdr_end..iend_start]);
        dirty.extend(png_chunk(b"tIME", &[0x07, 0xE8, 1, 2, 3, 4, 5]));
        dirty.extend_from_slice(&original[iend_start..]);
        assert_eq!(dimensions(&dirty), (21, 13));

        let clean = clean(&dirty).unwrap();
        for gone in [&b"tEXt"[..], b"iTXt", b"eXIf", b"tIME", b"TEXT-SECRET", b"ITXT-SECRET", SECRET] {
            assert!(!contains(&clean.bytes, gone), "{}", String::from_utf8_lossy(gone));
        }
        assert!(contains(&clean.bytes, &png_chunk(b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1])));
        assert_eq!((clean.width, clean.height), (21, 13));
        assert_eq!(dimensions(&clean.bytes), (21, 13));
        assert_eq!(clean.bytes.len(), original.len() + 21);
    }
}
