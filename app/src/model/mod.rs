//! Wire types shared by the browser and the server, and the pure rules that check them.
pub mod api_scope;
pub mod auth;
pub mod booking;
pub mod calendar;
pub mod calendar_sync;
pub mod client;
pub mod invoice;
pub mod money;
pub mod notification;
pub mod org;
pub mod page;
pub mod payment;
pub mod platform;
pub mod portal;
pub mod resource;
pub mod sms;
pub mod webhook;
