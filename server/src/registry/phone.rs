//! Mainland China phone numbers: mobiles (`1[3-9]` + 9 digits) and landlines with an
//! area code (`0` + 2–3 digits, then 7–8 digits, an optional hyphen between).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and hyphens as separators and an optional `+86` prefix.
    pub fn parse(input: &str) -> Option<Self> {
        let compact: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix("+86").or_else(|| compact.strip_prefix("0086")).unwrap_or(&compact);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let b = digits.as_bytes();
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if mobile {
            return Some(Self(digits.to_owned()));
        }
        // Landline: 0 + area code (2 or 3 more digits) + 7–8 digit number: 10 to 12 digits.
        let landline = b.first() == Some(&b'0') && b.get(1) != Some(&b'0') && (10..=12).contains(&b.len());
        landline.then(|| Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String = self.0.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        write!(f, "Phone(***{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_and_landlines() {
        for ok in ["13800138000", "+86 138 0013 8000", "022-23456789", "02223456789", "0311-1234567", "19912345678"] {
            assert!(Phone::parse(ok).is_some(), "{ok}");
        }
        for bad in ["12800138000", "1380013800", "138001380001", "23456789", "00-23456789", "phone", ""] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Phone::parse("+86 138-0013-8000").unwrap().as_str(), "13800138000");
    }
}
