//! Server functions: thin wrappers that find the signed-in user, call a port and map
//! errors. They are mounted under `/rpc` (the REST API will live under `/api/v1`).
pub mod auth;
pub mod bookings;
pub mod calendar;
pub mod calendar_sync;
pub mod clients;
pub mod invoices;
pub mod notifications;
pub mod payments;
pub mod platform;
pub mod portal;
pub mod settings;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use leptos::prelude::*;

    use crate::error::AppError;
    use crate::model::auth::CurrentUser;
    use crate::ports::Ports;

    pub fn ports() -> Result<Ports, AppError> {
        use_context::<Ports>().ok_or_else(|| AppError::Internal {
            reference: "ports missing from context".into(),
        })
    }

    pub fn parts() -> Result<http::request::Parts, AppError> {
        use_context::<http::request::Parts>().ok_or_else(|| AppError::Internal {
            reference: "request missing from context".into(),
        })
    }

    /// A browser's own form POST (JavaScript off) asks for HTML; the WASM asks for JSON.
    pub fn wants_html() -> Result<bool, AppError> {
        Ok(parts()?
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html")))
    }

    /// The signed-in user, or `Unauthenticated`.
    pub async fn user() -> Result<CurrentUser, AppError> {
        ports()?
            .auth
            .current_user(&parts()?)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// The signed-in user if their role may manage money and settings.
    pub async fn manager() -> Result<CurrentUser, AppError> {
        let user = user().await?;
        if user.role.can_manage() {
            Ok(user)
        } else {
            Err(AppError::Forbidden {
                role: user.role.as_str().into(),
            })
        }
    }
}
