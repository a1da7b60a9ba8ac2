pub mod form;
pub mod layout;
pub mod live;
pub mod payment;
pub mod ui;
