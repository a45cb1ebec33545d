//! `ResidentId::parse` on arbitrary text: never panics, and what it accepts is a
//! well-formed 18-character number that parses again to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use linli::registry::id_number::{ResidentId, check_character};

fuzz_target!(|text: &str| {
    let Ok(id) = ResidentId::parse(text) else { return };
    let number = id.as_str();
    assert_eq!(number.len(), 18, "{number}");
    assert_eq!(ResidentId::parse(number).as_ref(), Ok(&id), "parses again to itself");
    assert_eq!(number.chars().last(), Some(check_character(&number[..17])), "{number}");
    assert_eq!(number.to_ascii_uppercase(), number, "upper case");
    assert_eq!(id.birth_date().format("%Y%m%d").to_string(), number[6..14], "{number}");
    let _ = id.is_male();
});
