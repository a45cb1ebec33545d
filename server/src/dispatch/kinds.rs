//! The closed vocabularies of dispatch: skills, travel modes, task kinds and states.

use crate::registry::kinds::vocabulary;

vocabulary!(
    /// What a responder can do.
    Skill {
        MealDelivery = "meal_delivery",
        /// Requires a licence number and an expiry date.
        Nursing = "nursing",
        Housekeeping = "housekeeping",
        Bathing = "bathing",
        Companionship = "companionship",
        EmergencyResponse = "emergency_response",
    }
);

impl Skill {
    /// A bit per skill, for the in-memory index.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

vocabulary!(
    ResponderKind {
        /// Paid staff.
        Caregiver = "caregiver",
        /// A time-bank member.
        Volunteer = "volunteer",
    }
);

vocabulary!(
    TravelMode {
        Walk = "walk",
        Bicycle = "bicycle",
        Ebike = "ebike",
    }
);

vocabulary!(
    /// What a task is for.
    TaskKind {
        Emergency = "emergency",
        MealDelivery = "meal_delivery",
        /// 家庭病床: a home nursing visit.
        HomeBed = "home_bed",
        Housekeeping = "housekeeping",
        Bathing = "bathing",
        Companionship = "companionship",
        /// Opened when a meal courier finds nobody at home.
        WelfareCheck = "welfare_check",
    }
);

impl TaskKind {
    /// The skill a responder needs for this kind; a welfare check is run by workers.
    pub fn skill(self) -> Option<Skill> {
        match self {
            TaskKind::Emergency => Some(Skill::EmergencyResponse),
            TaskKind::MealDelivery => Some(Skill::MealDelivery),
            TaskKind::HomeBed => Some(Skill::Nursing),
            TaskKind::Housekeeping => Some(Skill::Housekeeping),
            TaskKind::Bathing => Some(Skill::Bathing),
            TaskKind::Companionship => Some(Skill::Companionship),
            TaskKind::WelfareCheck => None,
        }
    }

    /// Routine kinds come from service plans and have a time window.
    pub fn is_routine(self) -> bool {
        !matches!(self, TaskKind::Emergency | TaskKind::WelfareCheck)
    }
}

vocabulary!(
    /// One state machine for every kind of task.
    TaskStatus {
        Created = "created",
        Offered = "offered",
        Accepted = "accepted",
        EnRoute = "en_route",
        OnSite = "on_site",
        Completed = "completed",
        Cancelled = "cancelled",
        Failed = "failed",
        Escalated = "escalated",
    }
);

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled | TaskStatus::Failed)
    }

    /// Someone holds the task and has not finished it.
    pub fn is_active(self) -> bool {
        matches!(self, TaskStatus::Accepted | TaskStatus::EnRoute | TaskStatus::OnSite)
    }

    /// The transitions the state machine allows.
    pub fn can_become(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        match self {
            Created => matches!(to, Offered | Accepted | Cancelled | Escalated),
            Offered => matches!(to, Accepted | Created | Escalated | Cancelled),
            Escalated => matches!(to, Offered | Accepted | Cancelled | Failed),
            Accepted => matches!(to, EnRoute | OnSite | Created | Cancelled | Failed),
            EnRoute => matches!(to, OnSite | Created | Cancelled | Failed),
            OnSite => matches!(to, Completed | Failed),
            Completed | Cancelled | Failed => false,
        }
    }

    pub const ACTIVE: [TaskStatus; 3] = [TaskStatus::Accepted, TaskStatus::EnRoute, TaskStatus::OnSite];
    pub const OPEN: [TaskStatus; 6] = [
        TaskStatus::Created,
        TaskStatus::Offered,
        TaskStatus::Escalated,
        TaskStatus::Accepted,
        TaskStatus::EnRoute,
        TaskStatus::OnSite,
    ];
}

vocabulary!(
    /// Why a visit did not happen.
    FailureReason {
        NotHome = "not_home",
        Refused = "refused",
        Unsafe = "unsafe",
    }
);

vocabulary!(
    /// How an emergency ended.
    AlarmOutcome {
        FalseAlarm = "false_alarm",
        HelpedAtHome = "helped_at_home",
        SentToHospital = "sent_to_hospital",
    }
);

vocabulary!(
    /// Why a responder was left out of a candidate list.
    Exclusion {
        NoSkill = "no_skill",
        LicenceExpired = "licence_expired",
        OffDuty = "off_duty",
        OffShift = "off_shift",
        Absent = "absent",
        StalePosition = "stale_position",
        NoPosition = "no_position",
        AtCapacity = "at_capacity",
        TooFar = "too_far",
        OtherCommunity = "other_community",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_go_nowhere() {
        for from in [TaskStatus::Completed, TaskStatus::Cancelled, TaskStatus::Failed] {
            assert!(TaskStatus::ALL.iter().all(|to| !from.can_become(*to)), "{from}");
        }
        assert!(TaskStatus::Offered.can_become(TaskStatus::Accepted));
        assert!(!TaskStatus::Created.can_become(TaskStatus::Completed));
        assert!(!TaskStatus::Accepted.can_become(TaskStatus::Completed), "completion needs a check-in");
    }

    #[test]
    fn skill_bits_are_distinct() {
        let all = Skill::ALL.iter().fold(0u8, |acc, s| {
            assert_eq!(acc & s.bit(), 0);
            acc | s.bit()
        });
        assert_eq!(all.count_ones() as usize, Skill::ALL.len());
    }
}
