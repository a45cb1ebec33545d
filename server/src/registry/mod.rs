//! The senior registry: parsing of identity and contact data.

pub mod export;
pub mod id_number;
pub mod import;
pub mod kinds;
pub mod phone;
pub mod records;
pub mod service;
pub mod tiering;

pub use id_number::{IdNumberError, ResidentId};
pub use kinds::{ChangeKind, ConsentScope, EconomicStatus, Gender, GrantedBy, LivingArrangement, SeniorStatus};
pub use phone::Phone;
