//! The guest portal's server functions. Guests have no session: every call carries the
//! manage token from the page's address. Each action also works as a plain form post,
//! which lands back on the portal page with a notice saying what happened.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::portal::{GuestLinkView, PortalView, RescheduleInput};

#[server(prefix = "/rpc", endpoint = "portal/view")]
pub async fn load_portal(token: String) -> Result<PortalView, AppError> {
    use super::ctx;
    ctx::ports()?.portal.view(&ctx::parts()?, &token).await
}

#[server(prefix = "/rpc", endpoint = "portal/cancel")]
pub async fn portal_cancel(token: String, reason: String) -> Result<PortalView, AppError> {
    use super::ctx;
    let view = ctx::ports()?
        .portal
        .cancel(&ctx::parts()?, &token, &reason)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!("/manage/{token}?notice=guest_cancelled"));
    }
    Ok(view)
}

#[server(prefix = "/rpc", endpoint = "portal/reschedule")]
pub async fn portal_reschedule(
    token: String,
    input: RescheduleInput,
) -> Result<PortalView, AppError> {
    use super::ctx;
    let view = ctx::ports()?
        .portal
        .reschedule(&ctx::parts()?, &token, &input)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!("/manage/{token}?notice=guest_moved"));
    }
    Ok(view)
}

/// A plain form: `wanted` is `on` or `off`; lands back on the page with a notice.
#[server(prefix = "/rpc", endpoint = "portal/reminders")]
pub async fn portal_reminders(token: String, wanted: String) -> Result<(), AppError> {
    use super::ctx;
    let on = wanted == "on";
    ctx::ports()?
        .portal
        .set_reminders(&ctx::parts()?, &token, on)
        .await?;
    let notice = if on { "reminders_on" } else { "reminders_off" };
    leptos_axum::redirect(&format!("/manage/{token}?notice={notice}"));
    Ok(())
}

/// Posted by a plain form (with or without JavaScript): answers with a redirect to
/// Stripe's payment page.
#[server(prefix = "/rpc", endpoint = "portal/pay")]
pub async fn portal_pay(token: String) -> Result<String, AppError> {
    use super::ctx;
    let url = ctx::ports()?.portal.pay(&ctx::parts()?, &token).await?;
    leptos_axum::redirect(&url);
    Ok(url)
}

#[server(prefix = "/rpc", endpoint = "guest-links/get")]
pub async fn guest_link(booking_id: String) -> Result<Option<GuestLinkView>, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.portal.guest_link(&user, &booking_id).await
}

#[server(prefix = "/rpc", endpoint = "guest-links/issue")]
pub async fn issue_guest_link(booking_id: String) -> Result<GuestLinkView, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let link = ctx::ports()?
        .portal
        .issue_guest_link(&user, &booking_id)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!("/bookings/{booking_id}?notice=guest_link"));
    }
    Ok(link)
}

#[server(prefix = "/rpc", endpoint = "guest-links/revoke")]
pub async fn revoke_guest_link(booking_id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?
        .portal
        .revoke_guest_link(&user, &booking_id)
        .await?;
    if ctx::wants_html()? {
        leptos_axum::redirect(&format!("/bookings/{booking_id}?notice=guest_link_revoked"));
    }
    Ok(())
}
