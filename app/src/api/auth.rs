use leptos::prelude::*;

use crate::error::AppError;
use crate::model::auth::CurrentUser;

#[server(prefix = "/rpc", endpoint = "auth/login")]
pub async fn login(email: String, password: String) -> Result<CurrentUser, AppError> {
    use super::ctx;
    if email.trim().is_empty() {
        return Err(AppError::field("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    let user = ctx::ports()?
        .auth
        .login(&ctx::parts()?, email.trim(), &password)
        .await?;
    leptos_axum::redirect("/bookings");
    Ok(user)
}

#[server(prefix = "/rpc", endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::ctx;
    ctx::ports()?.auth.logout(&ctx::parts()?).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`: pages use it to decide between the dashboard and the login.
#[server(prefix = "/rpc", endpoint = "auth/me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use super::ctx;
    ctx::ports()?.auth.current_user(&ctx::parts()?).await
}
