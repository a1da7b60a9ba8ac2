use leptos::prelude::*;

use crate::error::AppError;
use crate::model::auth::CurrentUser;

#[server(prefix = "/rpc", endpoint = "auth/login")]
pub async fn login(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<CurrentUser, AppError> {
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
    leptos_axum::redirect(after_sign_in(next.as_deref()));
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

/// Where sign-in leads: the page the visitor asked for when it is one of ours (a local
/// path, never `//host` or `/\\host`, which browsers treat as another site), else bookings.
pub fn after_sign_in(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/bookings",
    }
}

#[cfg(test)]
mod tests {
    use super::after_sign_in;

    #[test]
    fn sign_in_returns_only_to_local_pages() {
        assert_eq!(
            after_sign_in(Some("/invoices/new?client=c1")),
            "/invoices/new?client=c1"
        );
        assert_eq!(after_sign_in(Some("//evil.example/x")), "/bookings");
        assert_eq!(after_sign_in(Some("/\\evil.example")), "/bookings");
        assert_eq!(after_sign_in(Some("https://evil.example")), "/bookings");
        assert_eq!(after_sign_in(Some("")), "/bookings");
        assert_eq!(after_sign_in(None), "/bookings");
    }
}
