use leptos::prelude::*;

use crate::error::AppError;
use crate::model::platform::{
    ApiKeyView, EventTypeView, IntegrationAlert, JobsOverview, NewApiKey,
};

/// What the integrations need an admin for; the frame shows it as a banner.
#[server(prefix = "/rpc", endpoint = "alerts")]
pub async fn integration_alerts() -> Result<Vec<IntegrationAlert>, AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    ctx::ports()?.platform.alerts(&user).await
}

#[server(prefix = "/rpc", endpoint = "jobs/overview")]
pub async fn load_jobs() -> Result<JobsOverview, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.platform.jobs(&user).await
}

#[server(prefix = "/rpc", endpoint = "jobs/retry")]
pub async fn retry_job(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.platform.retry_job(&user, &id).await?;
    leptos_axum::redirect("/jobs?notice=retried");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "api-keys/list")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.platform.api_keys(&user).await
}

/// Returns the new key's secret; it is shown once and never again.
#[server(prefix = "/rpc", endpoint = "api-keys/create")]
pub async fn create_api_key(
    name: String,
    #[server(default)] scope: String,
) -> Result<NewApiKey, AppError> {
    use super::ctx;
    use crate::model::api_scope::ApiScope;
    let user = ctx::manager().await?;
    let scope = match scope.as_str() {
        "" => ApiScope::ReadWrite,
        s => ApiScope::parse(s).ok_or_else(|| {
            AppError::field(
                "scope",
                "Choose read and write, read only, or webhooks only.",
            )
        })?,
    };
    ctx::ports()?
        .platform
        .create_api_key(&user, &name, scope)
        .await
}

#[server(prefix = "/rpc", endpoint = "api-keys/revoke")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.platform.revoke_api_key(&user, &id).await?;
    leptos_axum::redirect("/integrations?notice=revoked");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "event-types")]
pub async fn event_types() -> Result<Vec<EventTypeView>, AppError> {
    use super::ctx;
    ctx::user().await?;
    ctx::ports()?.platform.event_types().await
}
