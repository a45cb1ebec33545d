//! Care-needs assessment: the Barthel index of activities of daily living and the
//! Short Portable Mental Status Questionnaire (SPMSQ).

pub mod barthel;
pub mod service;
pub mod spmsq;

pub use barthel::{BarthelItems, BarthelScore, DependencyLevel};
pub use spmsq::{CognitionLevel, SpmsqErrors};
