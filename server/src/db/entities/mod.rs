//! SeaORM entities, one per table (see `migrations/`).
pub mod audit_log;
pub mod booking;
pub mod client;
pub mod invoice;
pub mod invoice_line;
pub mod organization;
pub mod resource;
pub mod session;
pub mod user;
