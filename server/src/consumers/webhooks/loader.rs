//! Reads what delivery jobs need to start: the delivery and its endpoint. Jobs that
//! start at the same moment (a claimed batch) ask together, so a burst costs two
//! queries per batch instead of two per delivery. One job alone waits for nobody.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::db::entities::{webhook_delivery, webhook_endpoint};
use crate::platform::batch::Batcher;

/// Most deliveries read in one query.
const PER_READ: usize = 256;

/// A delivery with its endpoint; `None` when either is gone (deleted with its endpoint).
pub type Loaded = Option<(webhook_delivery::Model, webhook_endpoint::Model)>;

/// One reader per delivery handler, started with the first job.
pub struct Loader(Batcher<String, Result<Loaded, String>>);

impl Default for Loader {
    fn default() -> Self {
        Loader(Batcher::new(PER_READ))
    }
}

impl Loader {
    pub async fn load(&self, db: &DatabaseConnection, delivery_id: &str) -> Result<Loaded, DbErr> {
        let serve = || {
            let db = db.clone();
            move |ids: Vec<String>| {
                let db = db.clone();
                async move {
                    let keys: Vec<&str> = ids.iter().map(String::as_str).collect();
                    match read(&db, &keys).await {
                        Ok(mut found) => ids.iter().map(|id| Ok(found.remove(id))).collect(),
                        Err(e) => vec![Err(e.to_string()); ids.len()],
                    }
                }
            }
        };
        self.0
            .call(delivery_id.to_string(), serve)
            .await
            .ok_or_else(|| DbErr::Custom("the delivery reader stopped".into()))?
            .map_err(DbErr::Custom)
    }
}

async fn read(
    db: &DatabaseConnection,
    ids: &[&str],
) -> Result<HashMap<String, (webhook_delivery::Model, webhook_endpoint::Model)>, DbErr> {
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let mut endpoint_ids: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
    endpoint_ids.sort_unstable();
    endpoint_ids.dedup();
    let endpoints: HashMap<String, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    Ok(deliveries
        .into_iter()
        .filter_map(|d| {
            let ep = endpoints.get(&d.endpoint_id)?.clone();
            Some((d.id.clone(), (d, ep)))
        })
        .collect())
}
