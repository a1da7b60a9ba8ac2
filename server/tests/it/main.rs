//! One integration-test binary. Each test boots the real app on port 0 with a fresh
//! database: SQLite by default, PostgreSQL with `HITCH_TEST_DATABASE=postgres`.
mod support;

mod api;
mod auth;
mod bookings;
mod caldav;
mod caldav_sync;
mod calendar_feeds;
mod calendar_sync;
mod calendar_view;
mod concurrency;
mod events;
mod fake_google;
mod fake_stripe;
mod invoices;
mod jobs;
mod notifications;
mod outbox;
mod payments;
mod portal;
mod radicale;
mod sqlite_log;
mod validation;
mod vault;
mod webhook_pacing;
mod webhooks;
