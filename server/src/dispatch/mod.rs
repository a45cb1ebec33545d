//! Dispatch: responders and their index, service plans and the tasks they make,
//! the task state machine, emergency bells and their escalation, welfare checks,
//! and the notifications all of these send.

pub mod alarms;
pub mod candidates;
pub mod events;
pub mod index;
pub mod kinds;
pub mod meals;
pub mod notify;
pub mod plans;
pub mod responders;
pub mod sweep;
pub mod tasks;
pub mod today;
pub mod welfare;

pub use index::ResponderIndex;
pub use kinds::{Skill, TaskKind, TaskStatus};
