//! The senior registry: parsing of identity and contact data.

pub mod export;
pub mod id_number;
pub mod import;
pub mod kinds;
pub mod phone;
pub mod service;
pub mod tiering;

pub use id_number::{IdNumberError, ResidentId};
pub use kinds::{EconomicStatus, Gender, LivingArrangement, SeniorStatus};
pub use phone::Phone;
