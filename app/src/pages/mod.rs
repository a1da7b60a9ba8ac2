pub mod bookings;
pub mod clients;
pub mod integrations;
pub mod invoices;
pub mod jobs;
pub mod login;
pub mod settings;
pub mod webhooks;
