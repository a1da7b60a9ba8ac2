pub mod bookings;
pub mod clients;
pub mod integrations;
pub mod invoices;
pub mod login;
pub mod settings;
