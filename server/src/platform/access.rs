//! Who may do what, beyond being signed in.
use app::error::AppError;
use app::model::auth::CurrentUser;

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
