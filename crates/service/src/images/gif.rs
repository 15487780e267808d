//! GIF: header, logical screen descriptor, optional global colour table, then blocks: images
//! (descriptor, optional local colour table, LZW code size, data sub-blocks) and extensions
//! (21, label, sub-blocks), up to the trailer 3B. Sub-blocks are a length byte and that many
//! bytes, ended by a zero length.

use super::{corrupt, slice, ImageError};

const GIF_TRAILER: u8 = 0x3B;

/// Application extensions that only say how an animation loops; anything else (XMP, ICC
/// profiles, editors' private data) is metadata.
const GIF_KEPT_APPS: [&[u8; 11]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];

/// Size of a colour table announced by a packed field (flag 0x80, size in the low 3 bits).
fn gif_color_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Position just after the sub-blocks starting at `pos` (after their zero terminator).
fn gif_sub_blocks_end(data: &[u8], mut pos: usize) -> Result<usize, ImageError> {
    loop {
        let len = usize::from(*data.get(pos).ok_or_else(|| corrupt("truncated GIF data"))?);
        pos += 1;
        if len == 0 {
            return Ok(pos);
        }
        pos += len;
        if pos > data.len() {
            return Err(corrupt("truncated GIF data"));
        }
    }
}

/// `data` without comments and application extensions other than looping.
pub(super) fn strip(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let screen = slice(data, 6, 7, "GIF header")?;
    let header_len = 13 + gif_color_table_len(screen[4]);
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(slice(data, 0, header_len, "GIF colour table")?);
    let mut pos = header_len;
    loop {
        match data.get(pos) {
            // Everything before is complete, only the trailer is missing (some encoders do
            // that, and decoders accept it): add it.
            None | Some(&GIF_TRAILER) => {
                out.push(GIF_TRAILER);
                return Ok(out);
            }
            Some(0x2C) => {
                let descriptor = slice(data, pos, 10, "GIF image descriptor")?;
                // Descriptor, local colour table, LZW minimum code size, then the data.
                let data_start = pos + 10 + gif_color_table_len(descriptor[9]) + 1;
                if data_start > data.len() {
                    return Err(corrupt("truncated GIF image"));
                }
                let end = gif_sub_blocks_end(data, data_start)?;
                out.extend_from_slice(&data[pos..end]);
                pos = end;
            }
            Some(0x21) => {
                let label = *data.get(pos + 1).ok_or_else(|| corrupt("truncated GIF extension"))?;
                let end = gif_sub_blocks_end(data, pos + 2)?;
                let blocks = &data[pos + 2..end];
                let keep = match label {
                    0xFE => false, // comment
                    0xFF => {
                        blocks.first() == Some(&11)
                            && blocks
                                .get(1..12)
                                .is_some_and(|id| GIF_KEPT_APPS.iter().any(|kept| kept[..] == *id))
                    }
                    _ => true, // graphic control (frame timing, transparency), plain text
                };
                if keep {
                    out.extend_from_slice(&data[pos..end]);
                }
                pos = end;
            }
            Some(_) => return Err(corrupt("GIF: unknown block")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::clean;
    use crate::images::tests::{contains, dimensions, encode, gradient};
    use image::ImageFormat;

    #[test]
    fn gif_loses_comments_and_foreign_app_extensions_keeps_looping() {
        let original = encode(&gradient(12, 10), ImageFormat::Gif);
        let header_len = 13 + gif_color_table_len(original[10]);
        let netscape = b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00".to_vec();
        let mut dirty = original[..header_len].to_vec();
        dirty.extend_from_slice(&netscape);
        dirty.extend_from_slice(b"\x21\xFE\x0ECOMMENT-SECRET\x00");
        dirty.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x0AXMP-SECRET\x00");
        dirty.extend_from_slice(&original[header_len..]);
        assert_eq!(dimensions(&dirty), (12, 10));

        let clean = clean(&dirty).unwrap();
        assert!(!contains(&clean.bytes, b"COMMENT-SECRET"));
        assert!(!contains(&clean.bytes, b"XMP"));
        let mut expected = original[..header_len].to_vec();
        expected.extend_from_slice(&netscape);
        expected.extend_from_slice(&original[header_len..]);
        assert_eq!(&clean.bytes[..], &expected[..]);
        assert_eq!(dimensions(&clean.bytes), (12, 10));
    }
}
