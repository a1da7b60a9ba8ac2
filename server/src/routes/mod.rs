//! Plain axum routes and middleware around the Leptos app.
pub mod api;
pub mod cross_site;
pub mod exports;
pub mod feeds;
pub mod google;
pub mod guard;
pub mod headers;
pub mod health;
pub mod limits;
pub mod live;
pub mod metrics_access;
pub mod rpc_status;
