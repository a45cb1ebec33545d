//! The closed vocabularies of the registry, as they appear in the API and the database.

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The allowed values, for error messages.
            pub fn choices() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(Gender { Male = "male", Female = "female" });

vocabulary!(
    /// Who the senior lives with.
    LivingArrangement {
        /// 独居
        Alone = "alone",
        /// 空巢: with a spouse only
        Couple = "couple",
        WithFamily = "with_family",
        /// in a care institution
        Institution = "institution",
    }
);

vocabulary!(
    /// Economic status, which sets the fee ratio.
    EconomicStatus {
        /// 特困 (destitute, extreme poverty support)
        Destitute = "destitute",
        /// 低保 (minimum subsistence allowance)
        Subsistence = "subsistence",
        /// 低收入
        LowIncome = "low_income",
        Ordinary = "ordinary",
    }
);

vocabulary!(
    SeniorStatus {
        Active = "active",
        Hospitalised = "hospitalised",
        MovedAway = "moved_away",
        Deceased = "deceased",
    }
);

vocabulary!(
    /// What a senior may agree to share; each is recorded separately.
    ConsentScope {
        /// Medical notes shown to the caregiver who visits.
        HealthToResponders = "health_to_responders",
        /// Family contacts told about alarms and missed visits.
        NotifyFamily = "notify_family",
        /// An emergency bell and its location are monitored.
        BellMonitoring = "bell_monitoring",
        /// Satisfaction surveys by phone, in person or by a family link.
        Surveys = "surveys",
        /// Photos taken at visits as proof of service.
        Photos = "photos",
    }
);

vocabulary!(
    /// Who gave (or refused) a consent.
    GrantedBy {
        /// The senior themself.
        Senior = "senior",
        /// A legal guardian, whose name is recorded.
        Guardian = "guardian",
    }
);

vocabulary!(
    /// A change in a senior's condition that makes a reassessment due at once.
    ChangeKind {
        HospitalDischarge = "hospital_discharge",
        Fall = "fall",
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip() {
        for v in EconomicStatus::ALL {
            assert_eq!(EconomicStatus::parse(v.as_str()), Some(*v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.as_str()));
        }
        assert_eq!(LivingArrangement::parse("with_family"), Some(LivingArrangement::WithFamily));
        assert_eq!(LivingArrangement::parse("alone "), None);
        assert_eq!(Gender::choices(), "male, female");
    }
}
