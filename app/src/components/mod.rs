pub mod drag_reschedule;
pub mod form;
pub mod guest_link;
pub mod layout;
pub mod live;
pub mod payment;
pub mod select_all;
pub mod ui;
