//! Plain axum routes and middleware around the Leptos app.
pub mod health;
pub mod limits;
pub mod rpc_status;
