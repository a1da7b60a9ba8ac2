//! Implementations of `app::ports` over SeaORM, one module per domain.
pub mod api_keys;
pub mod auth;
pub mod bookings;
pub mod calendars;
pub mod clients;
pub mod demo;
pub mod guest_links;
pub mod invoices;
pub mod org;
pub mod payments;
pub mod placement;
pub mod platform;
pub mod portal;
pub mod throttle;
