//! Hitch's user interface: the Leptos app, its wire types and server functions.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ports;

pub use app::{App, shell};
