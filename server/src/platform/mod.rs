//! Leaf utilities every layer may use: ids, the clock, SQL helpers, the internal error,
//! the in-process bus (live refresh and job wake-ups), client addresses and the
//! SSRF-guarded outbound policy. Nothing here imports another part of the server.
pub mod access;
pub mod batch;
pub mod bus;
pub mod client_ip;
pub mod clock;
pub mod error;
pub mod hash;
pub mod ical;
pub mod ids;
pub mod org_cache;
pub mod outbound;
pub mod shared_limits;
pub mod sql;

pub use bus::{Change, Hub};
pub use clock::now_ms;
pub use error::{Internal, OrInternal, internal};
