//! Reads what delivery jobs need to start: the delivery and its endpoint. Jobs that
//! start at the same moment (a claimed batch) ask together, so a burst costs two
//! queries per batch instead of two per delivery. One job alone waits for nobody.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::db::entities::{webhook_delivery, webhook_endpoint};

/// Most deliveries read in one query.
const PER_READ: usize = 256;

/// A delivery with its endpoint; `None` when either is gone (deleted with its endpoint).
pub type Loaded = Option<(webhook_delivery::Model, webhook_endpoint::Model)>;

type Item = (String, oneshot::Sender<Result<Loaded, String>>);

/// One reader task per delivery handler, started with the first job.
#[derive(Default)]
pub struct Loader {
    tx: OnceCell<mpsc::Sender<Item>>,
}

impl Loader {
    pub async fn load(&self, db: &DatabaseConnection, delivery_id: &str) -> Result<Loaded, DbErr> {
        let tx = self
            .tx
            .get_or_init(|| async {
                let (tx, rx) = mpsc::channel(4096);
                tokio::spawn(read_loop(db.clone(), rx));
                tx
            })
            .await;
        let (done, wait) = oneshot::channel();
        let stopped = || DbErr::Custom("the delivery reader stopped".into());
        tx.send((delivery_id.to_string(), done))
            .await
            .map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?.map_err(DbErr::Custom)
    }
}

async fn read_loop(db: DatabaseConnection, mut rx: mpsc::Receiver<Item>) {
    let mut batch: Vec<Item> = Vec::with_capacity(PER_READ);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < PER_READ {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
        match read(&db, &ids).await {
            Ok(mut found) => {
                for (id, done) in batch.drain(..) {
                    let _ = done.send(Ok(found.remove(&id)));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
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
