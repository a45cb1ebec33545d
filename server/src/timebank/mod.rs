//! The volunteer time bank (see docs/timebank.md): accounts, the double-entry
//! ledger, earning from verified visits, redemption bookings, transfers to
//! relatives and the fund, grants to priority seniors, statements, and flags for
//! review.

pub mod accounts;
pub mod earning;
pub mod flags;
pub mod ledger;
pub mod redemption;
pub mod rules;
pub mod statement;
pub mod transfers;

use crate::registry::kinds::vocabulary;

pub use rules::Rules;

vocabulary!(
    /// Whose minutes an account holds.
    AccountKind {
        Volunteer = "volunteer",
        Senior = "senior",
        /// The district fund: issues earned credits, receives redeemed and donated
        /// ones, grants hours to priority seniors. The only account that may go
        /// below zero (it is the issuer).
        Fund = "fund",
    }
);

vocabulary!(
    /// What a ledger transaction records.
    TxKind {
        /// A verified visit: fund -> volunteer. Key: the task.
        Earn = "earn",
        /// A booked service delivered: payer -> fund. Key: the booking.
        Redeem = "redeem",
        /// To a registered relative or to the fund. Key: the client's idempotency key.
        Transfer = "transfer",
        /// Fund -> a priority senior, approved by a worker.
        Grant = "grant",
        /// The mirror of an earlier transaction. Key: the reversed transaction.
        Reversal = "reversal",
    }
);

vocabulary!(
    /// How a senior is related to the volunteer who spends credits on them.
    Relation {
        /// The volunteer's own care (from the redemption age).
        SelfCare = "self_care",
        Parent = "parent",
        Spouse = "spouse",
        ParentInLaw = "parent_in_law",
    }
);

vocabulary!(
    /// Who confirmed that a visit took place.
    ConfirmationSource {
        Senior = "senior",
        Family = "family",
        Worker = "worker",
    }
);
