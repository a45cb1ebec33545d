use super::*;
use crate::assessment::{CognitionLevel as Cog, DependencyLevel as Dep};
use crate::registry::{EconomicStatus as Eco, LivingArrangement as Living};

fn facts() -> SeniorFacts {
    SeniorFacts {
        age_years: 70,
        dependency: Some(Dep::Independent),
        cognition: Some(Cog::Intact),
        living: Living::WithFamily,
        economic: Eco::Ordinary,
    }
}

fn keys(flags: &[Flag]) -> Vec<&'static str> {
    flags.iter().map(|f| f.key()).collect()
}

#[test]
fn the_shipped_file_parses_and_is_the_default() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/segmentation.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let rules = Rules::parse(&text).unwrap();
    assert_eq!(rules, Rules::defaults());
    assert_eq!(rules.version(), "2026-11-1");
    assert_eq!(rules.oldest_old_age(), 80);
    assert_eq!(rules.disabled_from(), Dep::Moderate);
    assert_eq!(rules.cognitive_impairment_from(), Cog::Moderate);
    let tiers: Vec<&str> = rules.tiers().iter().map(|t| t.id()).collect();
    assert_eq!(tiers, ["A", "B", "C", "D"]);
    assert_eq!(rules.default_rule().id(), "D.default");
    assert_eq!(rules.rule("B.destitute").map(|r| r.tier()), Some("B"));
    let prices: Vec<(&str, i64)> = rules.services().iter().map(|s| (s.key(), s.price_fen())).collect();
    assert_eq!(
        prices,
        [
            ("bathing", 6000),
            ("companionship", 3000),
            ("emergency_bell", 0),
            ("home_bed", 8000),
            ("housekeeping", 5000),
            ("meal_delivery", 1500)
        ]
    );
}

#[test]
fn each_flag_is_set_by_its_fact_alone() {
    let rules = Rules::defaults();
    let cases: Vec<(&str, SeniorFacts, &[&str])> = vec![
        ("nothing special", facts(), &[]),
        ("living alone", SeniorFacts { living: Living::Alone, ..facts() }, &["alone"]),
        ("couple only", SeniorFacts { living: Living::Couple, ..facts() }, &["empty_nest"]),
        ("in an institution", SeniorFacts { living: Living::Institution, ..facts() }, &[]),
        ("aged 79", SeniorFacts { age_years: 79, ..facts() }, &[]),
        ("aged 80", SeniorFacts { age_years: 80, ..facts() }, &["oldest_old"]),
        ("mild dependency", SeniorFacts { dependency: Some(Dep::Mild), ..facts() }, &[]),
        ("moderate dependency", SeniorFacts { dependency: Some(Dep::Moderate), ..facts() }, &["disabled"]),
        ("severe dependency", SeniorFacts { dependency: Some(Dep::Severe), ..facts() }, &["disabled"]),
        ("mild cognition", SeniorFacts { cognition: Some(Cog::Mild), ..facts() }, &[]),
        ("moderate cognition", SeniorFacts { cognition: Some(Cog::Moderate), ..facts() }, &["cognitive_impairment"]),
        ("severe cognition", SeniorFacts { cognition: Some(Cog::Severe), ..facts() }, &["cognitive_impairment"]),
        ("destitute", SeniorFacts { economic: Eco::Destitute, ..facts() }, &["destitute"]),
        ("subsistence", SeniorFacts { economic: Eco::Subsistence, ..facts() }, &["subsistence"]),
        ("low income is no flag", SeniorFacts { economic: Eco::LowIncome, ..facts() }, &[]),
        ("not assessed", SeniorFacts { dependency: None, cognition: None, ..facts() }, &[]),
        (
            "everything at once, in the fixed order",
            SeniorFacts {
                age_years: 91,
                dependency: Some(Dep::Severe),
                cognition: Some(Cog::Moderate),
                living: Living::Alone,
                economic: Eco::Subsistence,
            },
            &["alone", "oldest_old", "disabled", "cognitive_impairment", "subsistence"],
        ),
    ];
    for (reason, facts, expected) in cases {
        assert_eq!(keys(&rules.evaluate(&facts).flags), expected, "{reason}");
        assert_eq!(rules.decide(&facts).flags().to_vec(), rules.evaluate(&facts).flags, "{reason}");
    }
}

#[test]
fn each_default_rule_is_hit_and_missed_on_both_sides() {
    let rules = Rules::defaults();
    let f = facts;
    let cases: Vec<(&str, SeniorFacts, &str, &str)> = vec![
        ("nothing special", f(), "D", "D.default"),
        // A.severe_dependency
        ("severe dependency", SeniorFacts { dependency: Some(Dep::Severe), ..f() }, "A", "A.severe_dependency"),
        (
            "moderate is not severe",
            SeniorFacts { dependency: Some(Dep::Moderate), ..f() },
            "B",
            "B.moderate_dependency",
        ),
        // A.severe_cognition
        ("severe cognition", SeniorFacts { cognition: Some(Cog::Severe), ..f() }, "A", "A.severe_cognition"),
        ("moderate cognition", SeniorFacts { cognition: Some(Cog::Moderate), ..f() }, "B", "B.moderate_cognition"),
        // A.moderate_dependency_alone
        (
            "moderate dependency, alone",
            SeniorFacts { dependency: Some(Dep::Moderate), living: Living::Alone, ..f() },
            "A",
            "A.moderate_dependency_alone",
        ),
        (
            "moderate dependency, couple only",
            SeniorFacts { dependency: Some(Dep::Moderate), living: Living::Couple, ..f() },
            "B",
            "B.moderate_dependency",
        ),
        (
            "mild dependency, alone",
            SeniorFacts { dependency: Some(Dep::Mild), living: Living::Alone, ..f() },
            "C",
            "C.mild_dependency",
        ),
        (
            "severe dependency, alone: the first rule wins",
            SeniorFacts { dependency: Some(Dep::Severe), living: Living::Alone, ..f() },
            "A",
            "A.severe_dependency",
        ),
        // B.moderate_cognition and its lower side
        ("mild cognition counts for nothing", SeniorFacts { cognition: Some(Cog::Mild), ..f() }, "D", "D.default"),
        (
            "moderate cognition, alone",
            SeniorFacts { cognition: Some(Cog::Moderate), living: Living::Alone, ..f() },
            "B",
            "B.moderate_cognition",
        ),
        // B.oldest_old_alone
        ("80 and alone", SeniorFacts { age_years: 80, living: Living::Alone, ..f() }, "B", "B.oldest_old_alone"),
        ("79 and alone", SeniorFacts { age_years: 79, living: Living::Alone, ..f() }, "C", "C.alone"),
        ("80, couple only", SeniorFacts { age_years: 80, living: Living::Couple, ..f() }, "C", "C.oldest_old"),
        // B.destitute
        ("destitute", SeniorFacts { economic: Eco::Destitute, ..f() }, "B", "B.destitute"),
        (
            "destitute with severe dependency",
            SeniorFacts { economic: Eco::Destitute, dependency: Some(Dep::Severe), ..f() },
            "A",
            "A.severe_dependency",
        ),
        ("subsistence", SeniorFacts { economic: Eco::Subsistence, ..f() }, "C", "C.subsistence"),
        // C rules and their lower sides
        ("mild dependency", SeniorFacts { dependency: Some(Dep::Mild), ..f() }, "C", "C.mild_dependency"),
        ("alone", SeniorFacts { living: Living::Alone, ..f() }, "C", "C.alone"),
        ("aged 80", SeniorFacts { age_years: 80, ..f() }, "C", "C.oldest_old"),
        ("aged 79", SeniorFacts { age_years: 79, ..f() }, "D", "D.default"),
        ("low income", SeniorFacts { economic: Eco::LowIncome, ..f() }, "D", "D.default"),
        ("couple only", SeniorFacts { living: Living::Couple, ..f() }, "D", "D.default"),
        ("in an institution", SeniorFacts { living: Living::Institution, ..f() }, "D", "D.default"),
        ("not assessed", SeniorFacts { dependency: None, cognition: None, ..f() }, "D", "D.default"),
        (
            "not assessed, alone",
            SeniorFacts { dependency: None, cognition: None, living: Living::Alone, ..f() },
            "C",
            "C.alone",
        ),
    ];
    for (reason, facts, tier, rule) in cases {
        let segment = rules.evaluate(&facts);
        assert_eq!((segment.tier.as_str(), segment.rule_id.as_str()), (tier, rule), "{reason}");
        let decision = rules.decide(&facts);
        assert_eq!((decision.tier(), decision.rule_id()), (tier, rule), "{reason}");
    }
}

/// The default rules decide exactly as the demo seed's `demo-1` rules did, for
/// every combination of levels, living arrangement, economic status and age.
#[test]
fn the_defaults_agree_with_the_demo_seed_everywhere() {
    use linli_seed::{Cognition, Dependency, Economic, Living as SeedLiving, TierInput, decide_tier};
    let rules = Rules::defaults();
    let dependencies = [
        (Dep::Independent, Dependency::Independent, 100),
        (Dep::Mild, Dependency::Mild, 80),
        (Dep::Moderate, Dependency::Moderate, 50),
        (Dep::Severe, Dependency::Severe, 20),
    ];
    let cognitions = [
        (Cog::Intact, Cognition::Intact, 0),
        (Cog::Mild, Cognition::Mild, 3),
        (Cog::Moderate, Cognition::Moderate, 6),
        (Cog::Severe, Cognition::Severe, 9),
    ];
    let livings = [
        (Living::Alone, SeedLiving::Alone),
        (Living::Couple, SeedLiving::Couple),
        (Living::WithFamily, SeedLiving::WithFamily),
        (Living::Institution, SeedLiving::Institution),
    ];
    let economics = [
        (Eco::Destitute, Economic::Destitute),
        (Eco::Subsistence, Economic::Subsistence),
        (Eco::LowIncome, Economic::LowIncome),
        (Eco::Ordinary, Economic::Ordinary),
    ];
    let mut checked = 0;
    for age in [60u8, 79, 80, 95] {
        for (dep, seed_dep, total) in dependencies {
            for (cog, seed_cog, errors) in cognitions {
                for (living, seed_living) in livings {
                    for (economic, seed_economic) in economics {
                        let facts = SeniorFacts {
                            age_years: u32::from(age),
                            dependency: Some(dep),
                            cognition: Some(cog),
                            living,
                            economic,
                        };
                        let seed = decide_tier(&TierInput {
                            age,
                            living: seed_living,
                            economic: seed_economic,
                            dependency: seed_dep,
                            barthel_total: total,
                            cognition: seed_cog,
                            spmsq_errors: errors,
                        });
                        let segment = rules.evaluate(&facts);
                        assert_eq!(segment.tier, seed.tier.as_str(), "{facts:?}");
                        assert_eq!(segment.rule_id, seed.rule, "{facts:?}");
                        assert_eq!(keys(&segment.flags), seed.flags, "{facts:?}");
                        for service in &segment.services {
                            assert_eq!(service.fee_fen, seed_economic.fee_fen(service.price_fen), "{facts:?}");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 4 * 4 * 4);
}

#[test]
fn fees_follow_the_economic_status() {
    let rules = Rules::defaults();
    // (status, home_bed fee, meal fee, ratio)
    let cases = [
        (Eco::Destitute, 0, 0, 0),
        (Eco::Subsistence, 0, 0, 0),
        (Eco::LowIncome, 4000, 750, 50),
        (Eco::Ordinary, 8000, 1500, 100),
    ];
    for (economic, bed_fee, meal_fee, ratio) in cases {
        let segment = rules.evaluate(&SeniorFacts { economic, dependency: Some(Dep::Severe), ..facts() });
        let bed = &segment.services[0];
        assert_eq!(
            (bed.service.as_str(), bed.price_fen, bed.fee_fen, bed.subsidy_fen, bed.fee_ratio_percent),
            ("home_bed", 8000, bed_fee, 8000 - bed_fee, ratio),
            "{economic}"
        );
        let meal = segment.services.iter().find(|s| s.service == "meal_delivery").unwrap();
        assert_eq!((meal.fee_fen, meal.subsidy_fen), (meal_fee, 1500 - meal_fee), "{economic}");
        let bell = segment.services.iter().find(|s| s.service == "emergency_bell").unwrap();
        assert_eq!((bell.fee_fen, bell.subsidy_fen), (0, 0), "{economic}");
        assert_eq!(rules.fee_ratio_percent(economic), ratio);
    }
}

#[test]
fn each_tier_has_its_services_in_file_order() {
    let rules = Rules::defaults();
    let services = |facts: SeniorFacts| -> Vec<String> {
        rules.evaluate(&facts).services.into_iter().map(|s| s.service).collect()
    };
    assert_eq!(
        services(SeniorFacts { dependency: Some(Dep::Severe), ..facts() }),
        ["home_bed", "bathing", "meal_delivery", "housekeeping", "companionship", "emergency_bell"]
    );
    assert_eq!(
        services(SeniorFacts { dependency: Some(Dep::Moderate), ..facts() }),
        ["home_bed", "meal_delivery", "housekeeping", "companionship", "emergency_bell"]
    );
    assert_eq!(
        services(SeniorFacts { living: Living::Alone, ..facts() }),
        ["meal_delivery", "housekeeping", "companionship", "emergency_bell"]
    );
    assert_eq!(services(facts()), ["meal_delivery", "housekeeping", "emergency_bell"]);
}

#[test]
fn reasons_name_the_facts_that_made_the_rule_match() {
    let rules = Rules::defaults();
    let cases: Vec<(&str, SeniorFacts, &[&str], &[&str])> = vec![
        (
            "severe dependency",
            SeniorFacts { dependency: Some(Dep::Severe), cognition: Some(Cog::Severe), ..facts() },
            &["severe dependency (Barthel 0-40)"],
            &["重度依赖（Barthel 0-40分）"],
        ),
        (
            "moderate dependency and alone",
            SeniorFacts { dependency: Some(Dep::Moderate), living: Living::Alone, ..facts() },
            &["moderate dependency (Barthel 41-60)", "lives alone"],
            &["中度依赖（Barthel 41-60分）", "独居"],
        ),
        (
            "oldest-old and alone",
            SeniorFacts { age_years: 85, living: Living::Alone, ..facts() },
            &["oldest-old: aged 85 (80 or over)", "lives alone"],
            &["高龄（85岁）", "独居"],
        ),
        (
            "destitute",
            SeniorFacts { economic: Eco::Destitute, ..facts() },
            &["destitute (extreme poverty support)"],
            &["特困供养"],
        ),
        ("default", facts(), &["no priority care factor"], &["无重点照护因素"]),
        (
            "not assessed",
            SeniorFacts { dependency: None, cognition: None, ..facts() },
            &[
                "no priority care factor",
                "dependency not yet assessed (no Barthel index); counted as independent",
                "cognition not yet assessed (no SPMSQ); counted as intact",
            ],
            &[
                "无重点照护因素",
                "尚未进行自理能力评估（Barthel），暂按自理计",
                "尚未进行认知筛查（SPMSQ），暂按认知正常计",
            ],
        ),
        (
            "cognition not screened, alone",
            SeniorFacts { cognition: None, living: Living::Alone, ..facts() },
            &["lives alone", "cognition not yet assessed (no SPMSQ); counted as intact"],
            &["独居", "尚未进行认知筛查（SPMSQ），暂按认知正常计"],
        ),
    ];
    for (reason, facts, en, zh) in cases {
        let segment = rules.evaluate(&facts);
        assert_eq!(segment.reasons, en, "{reason}");
        assert_eq!(segment.reasons_zh, zh, "{reason}");
    }
}

/// A small valid rules file; error tests change one line of it.
const SMALL: &str = r#"version = "test-1"

[fee_ratio_percent]
destitute = 0
subsistence = 0
low_income = 50
ordinary = 100

[services.meal_delivery]
zh = "助餐"
en = "meal delivery"
price_fen = 1500

[[tier]]
id = "A"
zh = "A"
en = "A"
services = ["meal_delivery"]

[[tier]]
id = "D"
zh = "D"
en = "D"
services = []

[[rule]]
id = "A.alone"
tier = "A"
zh = "独居"
en = "alone"
flags_all = ["alone"]

[default]
id = "D.default"
tier = "D"
zh = "其他"
en = "other"
"#;

/// `SMALL` with line `n` (1-based) replaced by `text` (which may span lines).
fn small_with(n: usize, text: &str) -> String {
    let mut lines: Vec<&str> = SMALL.lines().collect();
    lines[n - 1] = text;
    lines.join("\n") + "\n"
}

#[test]
fn a_small_file_parses_with_default_thresholds() {
    let rules = Rules::parse(SMALL).unwrap();
    assert_eq!(rules.oldest_old_age(), 80);
    assert_eq!(rules.disabled_from(), Dep::Moderate);
    let segment = rules.evaluate(&SeniorFacts { living: Living::Alone, economic: Eco::LowIncome, ..facts() });
    assert_eq!((segment.tier.as_str(), segment.rule_id.as_str()), ("A", "A.alone"));
    assert_eq!(segment.services[0].fee_fen, 750);
    assert!(rules.evaluate(&facts()).services.is_empty());
}

#[test]
fn errors_name_their_line_and_column() {
    use RulesErrorKind::{Meaning, Syntax};
    // (reason, file, line, column, kind, text the message must contain)
    let cases: Vec<(&str, String, usize, usize, RulesErrorKind, &str)> = vec![
        ("unterminated string", small_with(28, r#"tier = "A"#), 28, 10, Syntax, "invalid basic string"),
        ("unknown key in a rule", small_with(31, r#"flags_al = ["alone"]"#), 31, 1, Syntax, "unknown field `flags_al`"),
        ("unknown top-level key", small_with(2, "colour = 1"), 2, 1, Syntax, "unknown field `colour`"),
        ("a value of the wrong type", small_with(31, r#"min_age = "80""#), 31, 11, Syntax, "expected i64"),
        (
            "unknown flag",
            small_with(31, r#"flags_all = ["alone", "lonely"]"#),
            31,
            23,
            Meaning,
            "unknown flag `lonely`; allowed: alone, empty_nest, oldest_old, disabled, cognitive_impairment, destitute, subsistence",
        ),
        (
            "unknown dependency level",
            small_with(31, r#"dependency = ["very_severe"]"#),
            31,
            15,
            Meaning,
            "unknown dependency level `very_severe`; allowed: independent, mild, moderate, severe",
        ),
        (
            "unknown cognition level",
            small_with(31, r#"cognition = ["confused"]"#),
            31,
            14,
            Meaning,
            "allowed: intact, mild, moderate, severe",
        ),
        (
            "a rule with an undefined tier",
            small_with(28, r#"tier = "E""#),
            28,
            8,
            Meaning,
            "undefined tier `E`; defined tiers: A, D",
        ),
        ("a default with an undefined tier", small_with(35, r#"tier = "Z""#), 35, 8, Meaning, "undefined tier `Z`"),
        (
            "a duplicate rule id",
            small_with(32, "[[rule]]\nid = \"A.alone\"\ntier = \"A\"\nzh = \"x\"\nen = \"x\"\nmin_age = 90\n"),
            33,
            6,
            Meaning,
            "duplicate rule id `A.alone` (first defined on line 27)",
        ),
        ("the default reusing a rule id", small_with(34, r#"id = "A.alone""#), 34, 6, Meaning, "duplicate rule id"),
        ("a ratio above 100", small_with(6, "low_income = 101"), 6, 14, Meaning, "from 0 to 100"),
        ("a negative ratio", small_with(4, "destitute = -5"), 4, 13, Meaning, "from 0 to 100"),
        (
            "a missing ratio",
            small_with(7, ""),
            3,
            1,
            Meaning,
            "no ratio for `ordinary`; every status needs one: destitute, subsistence, low_income, ordinary",
        ),
        ("an unknown economic status", small_with(7, "rich = 100"), 7, 1, Syntax, "unknown field `rich`"),
        ("a negative price", small_with(12, "price_fen = -1"), 12, 13, Meaning, "price_fen of `meal_delivery` is -1"),
        (
            "an unknown service in a tier",
            small_with(18, r#"services = ["meal_delivery", "massage"]"#),
            18,
            30,
            Meaning,
            "unknown service `massage`; defined services: meal_delivery",
        ),
        (
            "a service listed twice",
            small_with(18, r#"services = ["meal_delivery", "meal_delivery"]"#),
            18,
            30,
            Meaning,
            "twice",
        ),
        (
            "a duplicate tier id",
            small_with(21, r#"id = "A""#),
            21,
            6,
            Meaning,
            "duplicate tier id `A` (first defined on line 15)",
        ),
        ("an empty condition list", small_with(31, "flags_any = []"), 31, 13, Meaning, "flags_any must not be empty"),
        ("a rule without conditions", small_with(31, ""), 26, 1, Meaning, "rule `A.alone` has no condition"),
        (
            "a default with a condition",
            small_with(37, "en = \"other\"\nmin_age = 1"),
            33,
            1,
            Meaning,
            "takes no conditions",
        ),
        ("an age out of range", small_with(31, "min_age = 200"), 31, 11, Meaning, "min_age must be a whole number"),
        ("an empty version", small_with(1, r#"version = " ""#), 1, 11, Meaning, "version must not be empty"),
        ("a missing version", small_with(1, ""), 1, 1, Syntax, "missing field `version`"),
        (
            "a missing default",
            SMALL.split("[default]").next().unwrap().to_owned(),
            1,
            1,
            Meaning,
            "missing [default] table",
        ),
        (
            "an unknown flag threshold",
            small_with(2, "[flags]\ndisabled_from = \"serious\"\n"),
            3,
            17,
            Meaning,
            "unknown dependency level `serious`",
        ),
    ];
    for (reason, text, line, column, kind, message) in cases {
        let error = Rules::parse(&text).expect_err(reason);
        assert_eq!((error.line, error.column, error.kind), (line, column, kind), "{reason}: {error}");
        assert!(error.message.contains(message), "{reason}: {error}");
        assert!(error.to_string().starts_with(&format!("line {line}, column {column}: ")), "{reason}");
    }
}

#[test]
fn an_error_becomes_a_field_error() {
    let error = Rules::parse(&small_with(28, r#"tier = "E""#)).unwrap_err();
    let field = error.to_field_error("rules");
    assert_eq!((field.field.as_str(), field.code.as_str()), ("rules", "rules_invalid"));
    assert!(field.message.starts_with("line 28, column 8: "));
}

#[test]
fn thresholds_are_configurable() {
    let text = small_with(
        2,
        "[flags]\noldest_old_age = 75\ndisabled_from = \"severe\"\ncognitive_impairment_from = \"mild\"\n",
    );
    let rules = Rules::parse(&text).unwrap();
    let flags = |facts: SeniorFacts| keys(&rules.evaluate(&facts).flags);
    assert_eq!(flags(SeniorFacts { age_years: 74, ..facts() }), Vec::<&str>::new());
    assert_eq!(flags(SeniorFacts { age_years: 75, ..facts() }), ["oldest_old"]);
    assert_eq!(flags(SeniorFacts { dependency: Some(Dep::Moderate), ..facts() }), Vec::<&str>::new());
    assert_eq!(flags(SeniorFacts { dependency: Some(Dep::Severe), ..facts() }), ["disabled"]);
    assert_eq!(flags(SeniorFacts { cognition: Some(Cog::Mild), ..facts() }), ["cognitive_impairment"]);
}

#[test]
fn any_of_flags_min_age_and_tier_fee_overrides_work() {
    let text = small_with(
        32,
        r#"
[[rule]]
id = "A.old_and_poor"
tier = "A"
zh = "高龄且困难"
en = "old and poor"
flags_any = ["destitute", "subsistence", "empty_nest"]
min_age = 90
"#,
    )
    .replace(
        r#"services = ["meal_delivery"]"#,
        "services = [\"meal_delivery\"]\nfee_ratio_percent = { low_income = 20 }",
    );
    let rules = Rules::parse(&text).unwrap();
    let old_poor = SeniorFacts { age_years: 90, economic: Eco::Subsistence, living: Living::Couple, ..facts() };
    let segment = rules.evaluate(&old_poor);
    assert_eq!(segment.rule_id, "A.old_and_poor");
    // In the order the rule lists its flags.
    assert_eq!(
        segment.reasons,
        ["minimum subsistence allowance", "lives with the spouse only", "aged 90 (90 or over)"]
    );
    assert_eq!(segment.reasons_zh, ["低保", "空巢（仅与配偶同住）", "90岁（90岁及以上）"]);
    assert_eq!(rules.evaluate(&SeniorFacts { age_years: 89, ..old_poor }).rule_id, "D.default");
    assert_eq!(
        rules.evaluate(&SeniorFacts { economic: Eco::LowIncome, living: Living::WithFamily, ..old_poor }).rule_id,
        "D.default"
    );
    // Tier A charges low income 20 %; others keep the general ratios.
    let low_income = rules.evaluate(&SeniorFacts { economic: Eco::LowIncome, living: Living::Alone, ..facts() });
    assert_eq!((low_income.services[0].fee_fen, low_income.services[0].fee_ratio_percent), (300, 20));
    assert_eq!(rules.tiers()[0].fee_ratio_percent(Eco::Ordinary), 100);
    assert_eq!(rules.fee_ratio_percent(Eco::LowIncome), 50);
}

#[test]
fn compare_lists_who_moves_and_counts_every_pair() {
    let old = Rules::defaults();
    let new = Rules::parse(&DEFAULT_RULES.replace("oldest_old_age = 80", "oldest_old_age = 75")).unwrap();
    let seniors = vec![
        (3, SeniorFacts { age_years: 77, living: Living::Alone, ..facts() }), // C.alone -> B.oldest_old_alone
        (1, SeniorFacts { age_years: 76, ..facts() }),                        // D -> C.oldest_old
        (2, SeniorFacts { age_years: 70, ..facts() }),                        // D -> D
        (4, SeniorFacts { age_years: 85, dependency: Some(Dep::Severe), ..facts() }), // A -> A
        (5, SeniorFacts { age_years: 74, ..facts() }),                        // D -> D
    ];
    let comparison = compare(&old, &new, seniors.into_iter());
    assert_eq!(comparison.seniors, 5);
    assert_eq!(comparison.moved, [(1, "D".to_owned(), "C".to_owned()), (3, "C".to_owned(), "B".to_owned())]);
    assert_eq!(
        comparison.counts,
        [
            ("A".to_owned(), "A".to_owned(), 1),
            ("C".to_owned(), "B".to_owned(), 1),
            ("D".to_owned(), "C".to_owned(), 1),
            ("D".to_owned(), "D".to_owned(), 2),
        ]
    );
    assert_eq!(comparison.count("D", "D"), 2);
    assert_eq!(comparison.count("A", "D"), 0);
    assert_eq!((comparison.old_version.as_str(), comparison.new_version.as_str()), ("2026-11-1", "2026-11-1"));
}
