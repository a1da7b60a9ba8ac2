//! The calendar view and calendar feeds for the dashboard. Every call works as a plain form POST too (it
//! redirects back with a notice).
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::calendar::{Agenda, AgendaQuery, FeedForm, FeedView};
use crate::model::resource::ResourceView;

/// A day or a week of bookings, laid out.
#[server(prefix = "/rpc", endpoint = "calendar/agenda")]
pub async fn load_agenda(query: AgendaQuery) -> Result<Agenda, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.calendar.agenda(&user, &query).await
}

/// The organization's live feeds and its resources (for the form).
#[server(prefix = "/rpc", endpoint = "calendar/feeds")]
pub async fn list_feeds() -> Result<(Vec<FeedView>, Vec<ResourceView>), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let ports = ctx::ports()?;
    Ok((
        ports.calendar.feeds(&user).await?,
        ports.org.resources(&user).await?,
    ))
}

#[server(prefix = "/rpc", endpoint = "calendar/feeds/create")]
pub async fn create_feed(input: FeedForm) -> Result<FeedView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let input = input.to_input()?;
    let f = ctx::ports()?.calendar.create_feed(&user, &input).await?;
    leptos_axum::redirect(&format!("/calendar/feeds?notice=feed_created#{}", f.id));
    Ok(f)
}

#[server(prefix = "/rpc", endpoint = "calendar/feeds/rotate")]
pub async fn rotate_feed(id: String) -> Result<FeedView, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let f = ctx::ports()?.calendar.rotate_feed(&user, &id).await?;
    leptos_axum::redirect(&format!("/calendar/feeds?notice=feed_rotated#{}", f.id));
    Ok(f)
}

#[server(prefix = "/rpc", endpoint = "calendar/feeds/revoke")]
pub async fn revoke_feed(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.calendar.revoke_feed(&user, &id).await?;
    leptos_axum::redirect("/calendar/feeds?notice=feed_revoked");
    Ok(())
}
