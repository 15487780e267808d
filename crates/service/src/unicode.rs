//! Unicode hygiene for what users type: NFC normalisation, and spotting format characters.
//!
//! NFC makes text that looks the same compare and search the same ("é" typed as one code
//! point or as "e" plus a combining accent). Format characters (Unicode category Cf: bidi
//! overrides, zero-width spaces and joiners, invisible operators, tags) are invisible or
//! reorder what is shown around them, so in a name they serve to impersonate someone or to
//! disguise a link; names refuse them. Posts and comments keep them (emoji sequences and
//! right-to-left scripts rely on joiners and marks).

use unicode_normalization::UnicodeNormalization;

/// `text` in Normalization Form C.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Whether `text` holds a character of category Cf (format).
pub fn has_format_char(text: &str) -> bool {
    text.chars().any(is_format)
}

/// The Cf code points of Unicode 15.1.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_to_nfc() {
        assert_eq!(nfc("e\u{301}"), "\u{e9}");
        assert_eq!(nfc("plain"), "plain");
    }

    #[test]
    fn finds_bidi_overrides_and_zero_width_characters() {
        for sneaky in ["ab\u{202E}cd", "a\u{200B}b", "\u{2066}x", "x\u{FEFF}", "soft\u{AD}hyphen"] {
            assert!(has_format_char(sneaky), "{sneaky:?}");
        }
        for fine in ["Zoë", "Ἀθῆναι", "مرحبا", "名前", "🙂"] {
            assert!(!has_format_char(fine), "{fine:?}");
        }
    }
}
