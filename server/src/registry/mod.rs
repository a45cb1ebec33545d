//! The senior registry: parsing of identity and contact data.

pub mod id_number;
pub mod phone;

pub use id_number::{IdNumberError, ResidentId};
pub use phone::Phone;
