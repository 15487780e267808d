//! JPEG: SOI, then marker segments (FF xx + 2-byte big-endian length that counts itself),
//! entropy-coded data after each SOS (where FF is escaped as FF 00 and RSTn markers may
//! appear), up to EOI. Whatever follows EOI is dropped: phones append extra images (MPF)
//! and tools hide data there.

use super::{be16, corrupt, slice, ImageError};

pub(super) const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const JFIF_HEADER_LEN: usize = 14;

/// What to do with one marker segment.
enum Segment {
    Keep,
    Drop,
    Replace(Vec<u8>),
}

/// Decides on a segment from its marker and payload (the bytes after the length).
fn jpeg_segment(marker: u8, payload: &[u8]) -> Segment {
    match marker {
        // APP0: keep JFIF (density, version) but not its optional embedded thumbnail, which
        // can show the photo before it was cropped. JFXX and others are thumbnails or junk.
        0xE0 if payload.starts_with(b"JFIF\0") && payload.len() >= JFIF_HEADER_LEN => {
            if payload.len() == JFIF_HEADER_LEN && payload[12] == 0 && payload[13] == 0 {
                Segment::Keep
            } else {
                let mut header = payload[..JFIF_HEADER_LEN].to_vec();
                header[12] = 0; // thumbnail width
                header[13] = 0; // thumbnail height
                Segment::Replace(header)
            }
        }
        // APP2: only the ICC profile (colours render wrong without it); not MPF, FlashPix...
        0xE2 if payload.starts_with(b"ICC_PROFILE\0") => Segment::Keep,
        // APP14 "Adobe": says whether the 3/4 components are YCbCr/YCCK or RGB/CMYK.
        0xEE if payload.starts_with(b"Adobe") => Segment::Keep,
        // Any other APPn (APP1 EXIF/XMP, APP13 IPTC/Photoshop, maker notes...) and COM.
        0xE0..=0xEF | 0xFE => Segment::Drop,
        // Tables, frame and scan headers, restart intervals...: image data.
        _ => Segment::Keep,
    }
}

/// `data` without its metadata segments and without anything after EOI.
pub(super) fn strip(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut pos = 2; // after SOI, which `Kind::of` checked
    let mut seen_scan = false;
    loop {
        if data.get(pos) != Some(&0xFF) {
            return Err(corrupt(if pos >= data.len() {
                "truncated JPEG (no EOI)"
            } else {
                "JPEG: expected a marker"
            }));
        }
        // Any number of FF fill bytes may precede a marker code.
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data.get(pos).ok_or_else(|| corrupt("truncated JPEG (no EOI)"))?;
        pos += 1;
        match marker {
            EOI if seen_scan => {
                out.extend_from_slice(&[0xFF, EOI]);
                return Ok(out);
            }
            EOI => return Err(corrupt("JPEG ends before any scan")),
            // Standalone markers (no length): restart markers and TEM.
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | 0xD8 => return Err(corrupt("JPEG: invalid marker")),
            _ => {}
        }
        let len = be16(data, pos, "JPEG segment")?;
        if len < 2 {
            return Err(corrupt("JPEG: invalid segment length"));
        }
        let payload = slice(data, pos + 2, len - 2, "JPEG segment")?;
        match jpeg_segment(marker, payload) {
            Segment::Keep => {
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(&data[pos..pos + len]);
            }
            Segment::Drop => {}
            Segment::Replace(new_payload) => {
                let new_len = u16::try_from(new_payload.len() + 2).map_err(|_| corrupt("JPEG segment"))?;
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(&new_len.to_be_bytes());
                out.extend_from_slice(&new_payload);
            }
        }
        pos += len;
        if marker == SOS {
            seen_scan = true;
            let end = entropy_coded_end(data, pos)?;
            out.extend_from_slice(&data[pos..end]);
            pos = end;
        }
    }
}

/// Where the entropy-coded data starting at `pos` ends: at the first FF that begins a real
/// marker (not FF 00 stuffing, not a restart marker RSTn, which belong to the scan).
fn entropy_coded_end(data: &[u8], mut pos: usize) -> Result<usize, ImageError> {
    loop {
        let next_ff = data
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
            .ok_or_else(|| corrupt("truncated JPEG scan (no EOI)"))?;
        pos += next_ff;
        match data.get(pos + 1) {
            None => return Err(corrupt("truncated JPEG scan (no EOI)")),
            Some(0x00 | 0xD0..=0xD7) => pos += 2,
            Some(0xFF) => pos += 1, // fill byte: the marker code comes later
            Some(_) => return Ok(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::clean;
    use crate::images::tests::{
        app1_exif, contains, dimensions, encode, gradient, jpeg_segment_bytes, SECRET,
    };
    use image::ImageFormat;

    /// Inserts segments right after SOI.
    fn jpeg_with(segments: &[Vec<u8>], image: &[u8]) -> Vec<u8> {
        let mut out = image[..2].to_vec();
        for s in segments {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&image[2..]);
        out
    }

    #[test]
    fn jpeg_loses_exif_iptc_comments_but_keeps_icc_and_adobe() {
        let original = encode(&gradient(33, 17), ImageFormat::Jpeg);
        let icc = jpeg_segment_bytes(0xE2, b"ICC_PROFILE\0\x01\x01fake-profile");
        let adobe = jpeg_segment_bytes(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        let iptc = jpeg_segment_bytes(0xED, b"Photoshop 3.0\08BIM\x04\x04 IPTC-SECRET");
        let comment = jpeg_segment_bytes(0xFE, b"COMMENT-SECRET");
        let xmp = jpeg_segment_bytes(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>XMP-SECRET");
        let dirty = jpeg_with(&[app1_exif(), icc.clone(), iptc, comment, xmp, adobe.clone()], &original);
        assert!(contains(&dirty, SECRET));
        assert_eq!(dimensions(&dirty), (33, 17));

        let clean = clean(&dirty).unwrap();
        for secret in [SECRET, b"Exif\0\0", b"IPTC-SECRET", b"COMMENT-SECRET", b"XMP-SECRET", b"8BIM"] {
            assert!(!contains(&clean.bytes, secret), "{}", String::from_utf8_lossy(secret));
        }
        assert!(contains(&clean.bytes, &icc));
        assert!(contains(&clean.bytes, &adobe));
        assert_eq!((clean.width, clean.height), (33, 17));
        assert_eq!(dimensions(&clean.bytes), (33, 17));
        // Nothing else changed: the cleaned file is the original plus the kept segments.
        assert_eq!(&clean.bytes[..], &jpeg_with(&[icc, adobe], &original)[..]);
    }

    #[test]
    fn jpeg_jfif_thumbnail_and_trailing_data_are_dropped() {
        let original = encode(&gradient(16, 16), ImageFormat::Jpeg);
        // Replace the encoder's APP0 (if any) with a JFIF carrying a 1x1 thumbnail.
        let mut jfif = b"JFIF\0\x01\x02\0\0\x01\0\x01".to_vec();
        jfif.extend_from_slice(&[1, 1, 0xAB, 0xCD, 0xEF]);
        let mut dirty = jpeg_with(&[jpeg_segment_bytes(0xE0, &jfif)], &original);
        dirty.extend_from_slice(b"TRAILER-SECRET");
        let clean = clean(&dirty).unwrap();
        assert!(!contains(&clean.bytes, &[0xAB, 0xCD, 0xEF]));
        assert!(!contains(&clean.bytes, b"TRAILER-SECRET"));
        assert!(clean.bytes.ends_with(&[0xFF, 0xD9]));
        assert!(contains(&clean.bytes, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        assert_eq!(dimensions(&clean.bytes), (16, 16));
    }

    #[test]
    fn jpeg_walk_handles_multiple_scans_stuffing_and_restarts() {
        // Structure only (not decodable): two scans as in a progressive JPEG, with FF 00
        // stuffing, a restart marker and fill bytes, and a comment between them.
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(jpeg_segment_bytes(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        jpeg.extend(jpeg_segment_bytes(SOS, &[1, 1, 0, 0, 63, 0]));
        let scan1 = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF];
        jpeg.extend(scan1);
        jpeg.extend(jpeg_segment_bytes(0xFE, b"between scans"));
        jpeg.extend(jpeg_segment_bytes(0xC4, &[0; 17]));
        jpeg.extend(jpeg_segment_bytes(SOS, &[1, 1, 0, 1, 63, 0]));
        jpeg.extend([0x78, 0xFF, 0x00, 0xFF, 0xD9]);

        let out = strip(&jpeg).unwrap();
        assert!(!contains(&out, b"between scans"));
        let mut expected = vec![0xFF, 0xD8];
        expected.extend(jpeg_segment_bytes(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        expected.extend(jpeg_segment_bytes(SOS, &[1, 1, 0, 0, 63, 0]));
        // The fill bytes before the comment stay with the scan; harmless.
        expected.extend(scan1);
        expected.extend(jpeg_segment_bytes(0xC4, &[0; 17]));
        expected.extend(jpeg_segment_bytes(SOS, &[1, 1, 0, 1, 63, 0]));
        expected.extend([0x78, 0xFF, 0x00, 0xFF, 0xD9]);
        assert_eq!(out, expected);
    }
}
