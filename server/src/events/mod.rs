//! Domain events through a transactional outbox: a change and its events are written in
//! one transaction ([`UnitOfWork`]), subscribers add their rows in it, and committing
//! announces the events. `events` knows its consumers only as [`Subscriber`]s.
pub mod catalog;
pub mod outbox;
pub mod payloads;

pub use catalog::EventType;
pub use outbox::{Emitted, EventRecord, Outbox, Subscriber, UnitOfWork, WeakOutbox};
