//! Resident identity card numbers (居民身份证号码, GB 11643-1999).
//!
//! 18 characters: a 6-digit region code, the birth date as YYYYMMDD, a 3-digit
//! sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character
//! (`0`-`9` or `X`).

use std::fmt;

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// A resident ID number that passed every check; always upper case.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId(String);

/// Why a string is not a valid resident ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("must be 18 characters long")]
    Length,
    #[error("must be 17 digits followed by a digit or X")]
    Characters,
    #[error("contains an impossible birth date")]
    BirthDate,
    #[error("has a wrong check digit (expected {expected})")]
    CheckDigit { expected: char },
}

impl ResidentId {
    pub fn parse(input: &str) -> Result<Self, IdNumberError> {
        let s = input.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        let bytes = s.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        if NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").is_err() {
            return Err(IdNumberError::BirthDate);
        }
        let expected = check_character(&s[..17]);
        if bytes[17] as char != expected {
            return Err(IdNumberError::CheckDigit { expected });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date embedded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }

    /// Odd sequence numbers are men, even are women.
    pub fn is_male(&self) -> bool {
        self.0.as_bytes()[16] % 2 == 1
    }
}

/// The MOD 11-2 check character of the first 17 digits.
pub fn check_character(first17: &str) -> char {
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

impl fmt::Debug for ResidentId {
    /// Never print the whole number (logs, panics).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", crate::crypto::mask_id_number(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_character(first17))
    }

    #[test]
    fn valid_numbers_parse_with_their_birth_date_and_sex() {
        let n = with_check("12010119450307002");
        let id = ResidentId::parse(&n).unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1945, 3, 7).unwrap());
        assert!(!id.is_male());
        // The published example from the standard.
        assert!(ResidentId::parse("11010519491231002X").is_ok());
    }

    #[test]
    fn a_lowercase_x_is_accepted_and_normalised() {
        let id = ResidentId::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn a_wrong_check_digit_names_the_expected_one() {
        assert_eq!(ResidentId::parse("110105194912310021"), Err(IdNumberError::CheckDigit { expected: 'X' }));
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert_eq!(ResidentId::parse("1101051949123100"), Err(IdNumberError::Length));
        assert_eq!(ResidentId::parse("1101051949123100AX"), Err(IdNumberError::Characters));
        let feb30 = with_check("12010119450230002");
        assert_eq!(ResidentId::parse(&feb30), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn debug_output_is_masked() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
    }
}
