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

/// A new password for the signed-in user; every other session of theirs ends (a
/// stolen cookie or a forgotten tablet is signed out).
#[server(prefix = "/rpc", endpoint = "auth/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?
        .auth
        .change_password(&ctx::parts()?, &user, &current_password, &new_password)
        .await?;
    leptos_axum::redirect("/settings?notice=password_changed");
    Ok(())
}

/// The signed-in user, or `None`: pages use it to decide between the dashboard and the login.
#[server(prefix = "/rpc", endpoint = "auth/me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use super::ctx;
    ctx::ports()?.auth.current_user(&ctx::parts()?).await
}

/// Where sign-in leads: the page the visitor asked for when it is a path on this
/// site, else bookings. Browsers drop tabs and newlines from a URL and read `\` as `/`,
/// so `/\t/evil.example` or `/\\evil.example` would leave the site: a path must start
/// with exactly one `/` and hold only visible ASCII (which is also all a `Location`
/// header may carry).
pub fn after_sign_in(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with(['/', '\\'])
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/bookings",
    }
}

#[cfg(test)]
mod tests {
    use super::after_sign_in;

    #[test]
    fn sign_in_returns_only_to_local_pages() {
        assert_eq!(
            after_sign_in(Some("/invoices/new?client=c1&x=%20y")),
            "/invoices/new?client=c1&x=%20y"
        );
        assert_eq!(after_sign_in(Some("/bookings/bk_1")), "/bookings/bk_1");
        assert_eq!(after_sign_in(None), "/bookings");
    }

    /// Known ways to leave a site through a "local" redirect, as browsers read them.
    #[test]
    fn known_open_redirect_bypasses_land_on_the_dashboard() {
        for next in [
            "//evil.example/x",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "evil.example",
            " /evil",
            "/\u{3000}/evil.example",
            "/%ef/\u{ff0f}evil.example",
            "",
        ] {
            assert_eq!(after_sign_in(Some(next)), "/bookings", "{next:?}");
        }
    }
}
