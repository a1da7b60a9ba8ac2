//! Implementations of `app::ports` over SeaORM, one module per domain.
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod clients;
pub mod demo;
pub mod ids;
pub mod invoices;
pub mod org;
pub mod payments;
pub mod platform;
pub mod portal;
pub mod sql;
pub mod throttle;
pub mod webhooks;

use app::error::AppError;
use app::model::auth::CurrentUser;

/// Logs a database failure with a reference the user can quote, and hides the details.
pub fn internal(err: impl std::fmt::Display) -> AppError {
    let reference = ids::new("err");
    tracing::error!(%reference, error = %err, "internal error");
    AppError::Internal { reference }
}

pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T, AppError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self) -> Result<T, AppError> {
        self.map_err(internal)
    }
}

/// Owners and admins only (money, integrations, settings).
pub fn require_manager(user: &CurrentUser) -> Result<(), AppError> {
    if user.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            role: user.role.as_str().into(),
        })
    }
}
