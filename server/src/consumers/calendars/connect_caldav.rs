//! Connecting a CalDAV account: the address is checked against the outbound policy,
//! the server asked for the account's calendars (which proves the password), then the
//! connection is made like a Google one, its password kept in the vault.
use app::error::AppError;
use app::model::auth::CurrentUser;
use app::model::calendar_sync::CalDavInput;
use app::ports::AppResult;
use url::Url;

use super::caldav::CalDav;
use super::caldav_sync::{Account, PROVIDER};
use super::connect::NewConnection;
use super::google::ApiError;
use super::manage::CalendarSyncService;

impl CalendarSyncService {
    pub async fn add_caldav(&self, user: &CurrentUser, input: &CalDavInput) -> AppResult<String> {
        input.validate()?;
        let url = Url::parse(input.url.trim())
            .map_err(|_| AppError::field("url", "This is not a web address."))?;
        self.deps
            .outbound
            .check_url(&url)
            .map_err(|e| AppError::field("url", e.to_string()))?;
        let username = input.username.trim();
        let dav = CalDav::new(
            self.deps.dav_http.clone(),
            url.clone(),
            username,
            &input.password,
        );
        let calendars = dav.calendars().await.map_err(|e| match e {
            ApiError::Unauthorized | ApiError::Refused(403, _) => AppError::field(
                "password",
                "The server refused this user name and password. Some providers (iCloud, Fastmail) need an app password.",
            ),
            ApiError::NotFound => {
                AppError::field("url", "The server has no CalDAV account at this address.")
            }
            other => AppError::field(
                "url",
                format!("The server could not be asked for calendars: {other}."),
            ),
        })?;
        // Bookings go to a calendar named for them if there is one, else the first.
        let named = |c: &&super::caldav::DavCalendar| {
            let n = c.name.to_lowercase();
            n.contains("booking") || n.contains("hitch")
        };
        let Some(first) = calendars.iter().find(named).or(calendars.first()) else {
            return Err(AppError::field(
                "url",
                "The account has no calendar for events. Make one in your calendar app first.",
            ));
        };
        let secret = serde_json::to_string(&Account {
            url: url.to_string(),
            user: username.to_string(),
            password: input.password.clone(),
        })
        .map_err(|e| crate::platform::internal(anyhow::anyhow!(e.to_string())))?;
        let target = Some(first.href.clone());
        let sources = calendars
            .iter()
            .map(|c| (c.href.clone(), c.name.clone(), c.href == first.href))
            .collect();
        let resource_id = Some(input.resource_id.trim()).filter(|r| !r.is_empty());
        self.save_connection(
            user,
            NewConnection {
                provider: PROVIDER,
                account: format!("{username} on {}", url.host_str().unwrap_or("the server")),
                resource_id,
                target,
                sources,
                secret,
                token_expires_at: None,
            },
        )
        .await
    }
}
