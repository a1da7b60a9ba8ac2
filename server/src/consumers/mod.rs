//! Consumers of domain events: each subscribes through [`crate::events::Subscriber`]
//! and owns its job kinds, clients and management surface. A consumer may use
//! `events`, `jobs`, `db`, `vault` and `platform`; never another consumer, `services`
//! or `routes` (the layering test checks this).
pub mod calendars;
pub mod notifications;
pub mod webhooks;
