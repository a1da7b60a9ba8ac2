//! Two-way calendar sync for the dashboard. Every call works as a plain form POST too
//! (it redirects back to the page with a notice).
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::calendar_sync::CalendarSyncOverview;

#[server(prefix = "/rpc", endpoint = "calendar/sync")]
pub async fn load_calendar_sync() -> Result<CalendarSyncOverview, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.calendar_sync.overview(&user).await
}

/// Changes the calendar that receives bookings and the conflict rule; the busy
/// calendars stay as they are unless `busy_calendar` toggles one.
#[server(prefix = "/rpc", endpoint = "calendar/sync/update")]
pub async fn update_calendar_connection(
    id: String,
    target_calendar_id: Option<String>,
    strategy: Option<String>,
    busy_calendar: Option<String>,
    busy: Option<String>,
) -> Result<(), AppError> {
    use super::ctx;
    use crate::model::calendar_sync::ConnectionSettings;
    let user = ctx::manager().await?;
    let port = ctx::ports()?.calendar_sync;
    let now = port.overview(&user).await?;
    let c = now
        .connections
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::not_found("calendar connection"))?;
    let mut busy_ids: Vec<String> = c
        .calendars
        .iter()
        .filter(|k| k.busy)
        .map(|k| k.id.clone())
        .collect();
    if let Some(cal) = busy_calendar {
        busy_ids.retain(|k| *k != cal);
        if busy.as_deref() == Some("true") {
            busy_ids.push(cal);
        }
    }
    let settings = ConnectionSettings {
        target_calendar_id: target_calendar_id
            .unwrap_or_else(|| c.target_calendar_id.clone().unwrap_or_default()),
        busy: busy_ids,
        strategy: strategy.unwrap_or_else(|| c.strategy.clone()),
    };
    port.update_connection(&user, &id, &settings).await?;
    leptos_axum::redirect(&format!("/calendar/sync?notice=calendar_saved#{id}"));
    Ok(())
}

/// Connects a CalDAV account (the server is asked for its calendars first, so a wrong
/// address or password is said at once).
#[server(prefix = "/rpc", endpoint = "calendar/sync/caldav")]
pub async fn connect_caldav(
    input: crate::model::calendar_sync::CalDavInput,
) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let id = ctx::ports()?
        .calendar_sync
        .connect_caldav(&user, &input)
        .await?;
    leptos_axum::redirect(&format!("/calendar/sync?notice=caldav_connected#{id}"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "calendar/sync/now")]
pub async fn sync_calendar_now(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.calendar_sync.sync_now(&user, &id).await?;
    leptos_axum::redirect(&format!("/calendar/sync?notice=calendar_syncing#{id}"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "calendar/sync/disconnect")]
pub async fn disconnect_calendar(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.calendar_sync.disconnect(&user, &id).await?;
    leptos_axum::redirect("/calendar/sync?notice=calendar_disconnected");
    Ok(())
}

/// `decision` is `accept` (apply the calendar's change) or `reject` (keep Hitch's).
#[server(prefix = "/rpc", endpoint = "calendar/sync/decide")]
pub async fn decide_calendar_change(id: String, decision: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(AppError::field("decision", "Choose accept or reject.")),
    };
    ctx::ports()?
        .calendar_sync
        .decide(&user, &id, accept)
        .await?;
    leptos_axum::redirect(&format!("/calendar/sync?notice=change_{decision}ed"));
    Ok(())
}
