//! Names, resident ID numbers (GB 11643-1999) and mobile numbers.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use crate::util::{pick, pick_weighted_copy};

/// Administrative division code of 天津市和平区.
pub const HEPING_AREA_CODE: &str = "120101";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

/// Surnames with their approximate share (per cent) in northern China.
const SURNAMES: &[(&str, f64)] = &[
    ("王", 8.2),
    ("李", 7.6),
    ("张", 7.4),
    ("刘", 6.2),
    ("杨", 3.4),
    ("赵", 2.6),
    ("陈", 2.6),
    ("孙", 2.0),
    ("马", 1.8),
    ("高", 1.6),
    ("郭", 1.5),
    ("周", 1.4),
    ("徐", 1.3),
    ("吴", 1.2),
    ("朱", 1.1),
    ("于", 1.1),
    ("韩", 1.0),
    ("胡", 0.9),
    ("黄", 0.9),
    ("田", 0.8),
    ("董", 0.8),
    ("杜", 0.7),
    ("宋", 0.7),
    ("曹", 0.7),
    ("魏", 0.6),
    ("冯", 0.6),
    ("崔", 0.6),
    ("石", 0.6),
    ("何", 0.5),
    ("吕", 0.5),
    ("郑", 0.5),
    ("梁", 0.5),
    ("任", 0.5),
    ("邢", 0.4),
    ("姜", 0.4),
    ("苏", 0.4),
    ("孟", 0.4),
    ("邵", 0.3),
    ("林", 0.3),
    ("罗", 0.3),
    ("唐", 0.3),
    ("许", 0.3),
    ("侯", 0.3),
    ("袁", 0.3),
    ("谢", 0.3),
    ("贾", 0.3),
    ("薛", 0.3),
    ("闫", 0.3),
    ("齐", 0.2),
    ("金", 0.2),
    ("卢", 0.2),
    ("沈", 0.2),
    ("白", 0.2),
    ("庞", 0.2),
    ("穆", 0.1),
    ("尹", 0.1),
];

/// Given names typical of people born 1925–1971.
const OLD_MALE: &[&str] = &[
    "建国", "建华", "国强", "志刚", "德明", "福生", "振华", "玉林", "文华", "国庆", "卫东", "长林", "宝山", "树林",
    "永福", "德胜", "金生", "立新", "学文", "庆祥", "凤山", "宝华", "俊峰", "广田", "士杰", "玉祥", "维汉", "家骏",
    "铁柱", "振东", "秉义", "连生", "恩普", "德林", "世英", "洪亮", "少华", "根宝", "福来", "春生", "兆丰", "万里",
];
const OLD_FEMALE: &[&str] = &[
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "淑珍", "淑兰", "秀珍", "玉珍", "凤兰", "素珍", "淑英", "桂芳",
    "丽华", "秀云", "玉梅", "桂珍", "淑芬", "凤琴", "玉芬", "淑华", "秀荣", "建英", "金凤", "亚琴", "慧敏", "俊英",
    "淑贤", "玉华", "凤霞", "桂荣", "淑琴", "文秀", "美华", "秀芝", "月娥", "兰芝", "素云", "翠英",
];
const OLD_SINGLE_MALE: &[&str] = &["平", "军", "明", "华", "林", "忠", "义", "信", "德", "山", "勇", "斌"];
const OLD_SINGLE_FEMALE: &[&str] = &["敏", "芳", "英", "珍", "霞", "琴", "萍", "兰", "红", "梅", "玲", "荣"];

/// Given names typical of people born 1972–2006 (children, caregivers).
const YOUNG_MALE: &[&str] = &[
    "伟", "磊", "强", "军", "勇", "涛", "杰", "鹏", "浩", "宇", "志强", "海涛", "建军", "俊峰", "晓东", "明", "超",
    "亮", "刚", "斌", "洪波", "立伟", "晓光", "文博", "子豪", "振宇", "家乐", "国栋", "一鸣", "浩然",
];
const YOUNG_FEMALE: &[&str] = &[
    "丽", "静", "敏", "燕", "艳", "娟", "霞", "婷", "芳", "丹", "雪梅", "晓燕", "海燕", "丽娜", "春燕", "秀梅", "丽丽",
    "晓丽", "慧", "娜", "雅琪", "梦瑶", "欣怡", "佳怡", "文静", "晓雪", "玉洁", "思雨", "晶晶", "红艳",
];

pub fn surname<R: Rng>(rng: &mut R) -> &'static str {
    pick_weighted_copy(rng, SURNAMES)
}

/// A full name for someone born in `birth_year`.
pub fn full_name<R: Rng>(rng: &mut R, gender: Gender, birth_year: i32) -> String {
    let family = surname(rng);
    format!("{family}{}", given_name(rng, gender, birth_year))
}

pub fn given_name<R: Rng>(rng: &mut R, gender: Gender, birth_year: i32) -> &'static str {
    let old = birth_year < 1972;
    let single = rng.random_bool(if old { 0.2 } else { 0.35 });
    match (old, gender, single) {
        (true, Gender::Male, false) => pick(rng, OLD_MALE),
        (true, Gender::Female, false) => pick(rng, OLD_FEMALE),
        (true, Gender::Male, true) => pick(rng, OLD_SINGLE_MALE),
        (true, Gender::Female, true) => pick(rng, OLD_SINGLE_FEMALE),
        (false, Gender::Male, _) => pick(rng, YOUNG_MALE),
        (false, Gender::Female, _) => pick(rng, YOUNG_FEMALE),
    }
}

/// ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID.
pub fn check_digit(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CODES: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(CODES[(sum % 11) as usize])
}

/// Whether `id` is a well-formed 18-character resident ID with a valid check
/// character and a real birth date.
pub fn is_valid_resident_id(id: &str) -> bool {
    if id.len() != 18 || !id.is_ascii() {
        return false;
    }
    let (body, check) = id.split_at(17);
    let birth_ok = NaiveDate::parse_from_str(&body[6..14], "%Y%m%d").is_ok();
    birth_ok && check_digit(body).is_some_and(|c| check.starts_with(c))
}

/// A resident ID number registered in `area` (和平区 is [`HEPING_AREA_CODE`]): area
/// code, birth date, a sequence whose last digit is odd for men and even for women,
/// and the check character.
pub fn resident_id<R: Rng>(rng: &mut R, birth: NaiveDate, gender: Gender, area: &str) -> String {
    let parity = match gender {
        Gender::Male => 1,
        Gender::Female => 0,
    };
    // Sequence 001..999 whose last digit carries the gender.
    let seq: u32 = rng.random_range(1..500) * 2 - parity;
    let first17 = format!("{area}{:04}{:02}{:02}{seq:03}", birth.year(), birth.month(), birth.day());
    let check = check_digit(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Gender encoded in a resident ID (the 17th digit).
#[cfg(test)]
pub fn gender_of_resident_id(id: &str) -> Option<Gender> {
    let digit = id.chars().nth(16)?.to_digit(10)?;
    Some(if digit % 2 == 1 { Gender::Male } else { Gender::Female })
}

/// A mainland mobile number on a real prefix (1[3-9]x).
pub fn mobile<R: Rng>(rng: &mut R) -> String {
    const PREFIXES: &[&str] = &[
        "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
        "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189",
        "191", "198", "199",
    ];
    let prefix = pick(rng, PREFIXES);
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{Stream, rng};

    #[test]
    fn check_digits_match_published_examples() {
        // GB 11643-1999 appendix example and a well-known 'X' case.
        assert_eq!(check_digit("11010519491231002"), Some('X'));
        assert_eq!(check_digit("44052418800101001"), Some('4'));
        assert!(is_valid_resident_id("11010519491231002X"));
        assert!(!is_valid_resident_id("110105194912310021"));
        assert!(!is_valid_resident_id("11010519491331002X"), "month 13");
    }

    #[test]
    fn generated_ids_are_valid_and_carry_birth_date_and_gender() {
        let mut r = rng(1, Stream::Seniors);
        let mut saw_x = false;
        for i in 0..5000 {
            let birth = NaiveDate::from_ymd_opt(1930 + (i % 60), 1 + (i % 12) as u32, 1 + (i % 28) as u32).unwrap();
            let gender = if i % 3 == 0 { Gender::Male } else { Gender::Female };
            let id = resident_id(&mut r, birth, gender, HEPING_AREA_CODE);
            assert!(is_valid_resident_id(&id), "{id}");
            assert!(id.starts_with("120101"));
            assert_eq!(&id[6..14], birth.format("%Y%m%d").to_string());
            assert_eq!(gender_of_resident_id(&id), Some(gender));
            saw_x |= id.ends_with('X');
        }
        assert!(saw_x, "about one in eleven ends in X");
    }

    #[test]
    fn mobiles_have_eleven_digits_on_mainland_prefixes() {
        let mut r = rng(2, Stream::Seniors);
        for _ in 0..1000 {
            let m = mobile(&mut r);
            assert_eq!(m.len(), 11);
            assert!(m.starts_with('1'));
            assert!(('3'..='9').contains(&m.chars().nth(1).unwrap()));
            assert!(m.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn names_are_two_to_four_characters() {
        let mut r = rng(3, Stream::Seniors);
        for year in [1930, 1950, 1975, 1995] {
            for g in [Gender::Male, Gender::Female] {
                let n = full_name(&mut r, g, year);
                let len = n.chars().count();
                assert!((2..=4).contains(&len), "{n}");
            }
        }
    }
}
