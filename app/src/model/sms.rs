//! SMS segment counting (GSM 03.38) and recipient masking, shared by the editor and
//! the server.
use serde::{Deserialize, Serialize};

/// How an SMS text is split for sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    /// `GSM-7` or `UCS-2`.
    pub encoding: String,
    pub count: u32,
    /// Characters in GSM-7 septets (extension characters count 2) or UTF-16 units.
    pub units: u32,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Segments per GSM 03.38: 160 septets in one message, 153 per part when split; UCS-2
/// 70, or 67 per part. A character outside GSM-7 makes the whole text UCS-2.
pub fn sms_segments(text: &str) -> Segments {
    let mut septets = 0u32;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, multi) = if gsm {
        ("GSM-7", septets, 160, 153)
    } else {
        ("UCS-2", text.encode_utf16().count() as u32, 70, 67)
    };
    let count = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    Segments {
        encoding: encoding.into(),
        count,
        units,
    }
}

/// Shows the start and the end of an address or number, enough to recognise it.
pub fn mask_recipient(r: &str) -> String {
    if let Some((local, domain)) = r.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}…@{domain}");
    }
    let chars: Vec<char> = r.chars().collect();
    if chars.len() <= 4 {
        return "…".into();
    }
    let tail: String = chars[chars.len() - 2..].iter().collect();
    let head: String = chars.iter().take(3).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_text_fits_160_then_splits_by_153() {
        assert_eq!(sms_segments(&"a".repeat(160)).count, 1);
        assert_eq!(sms_segments(&"a".repeat(161)).count, 2);
        assert_eq!(sms_segments(&"a".repeat(306)).count, 2);
        assert_eq!(sms_segments(&"a".repeat(307)).count, 3);
        // `€` is an extension character: two septets.
        let s = sms_segments(&"€".repeat(80));
        assert_eq!((s.encoding.as_str(), s.units, s.count), ("GSM-7", 160, 1));
    }

    #[test]
    fn one_character_outside_gsm7_makes_it_ucs2() {
        let s = sms_segments(&format!("{}ł", "a".repeat(69)));
        assert_eq!((s.encoding.as_str(), s.count), ("UCS-2", 1));
        let s = sms_segments(&format!("{}ł", "a".repeat(70)));
        assert_eq!((s.encoding.as_str(), s.count), ("UCS-2", 2));
        // An emoji is two UTF-16 units.
        assert_eq!(sms_segments("🎉").units, 2);
    }

    #[test]
    fn masking_keeps_only_what_recognises_the_recipient() {
        assert_eq!(mask_recipient("ada@example.com"), "a…@example.com");
        assert_eq!(mask_recipient("+33612345678"), "+33…78");
        assert_eq!(mask_recipient("+33"), "…");
    }
}
