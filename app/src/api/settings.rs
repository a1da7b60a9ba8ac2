use leptos::prelude::*;

use crate::error::AppError;
use crate::model::org::{AuditEntry, OrgSettings, OrgSettingsInput};
use crate::model::page::Page;
use crate::model::resource::ResourceView;

#[server(prefix = "/rpc", endpoint = "settings/get")]
pub async fn get_settings() -> Result<(OrgSettings, Vec<ResourceView>), AppError> {
    use super::ctx;
    let user = ctx::user().await?;
    let ports = ctx::ports()?;
    Ok((
        ports.org.settings(&user).await?,
        ports.org.resources(&user).await?,
    ))
}

#[server(prefix = "/rpc", endpoint = "settings/save")]
pub async fn save_settings(input: OrgSettingsInput) -> Result<OrgSettings, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    let saved = ctx::ports()?.org.update(&user, &input).await?;
    leptos_axum::redirect("/settings?notice=saved");
    Ok(saved)
}

#[server(prefix = "/rpc", endpoint = "settings/audit")]
pub async fn list_audit(page: u64) -> Result<Page<AuditEntry>, AppError> {
    use super::ctx;
    let user = ctx::manager().await?;
    ctx::ports()?.org.audit(&user, page).await
}
