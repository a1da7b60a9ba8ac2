//! Answers calendar apps: `GET /feeds/{token}.ics`.
//!
//! Calendar apps poll every few minutes, so the common answer is 304. A feed's body and
//! ETag are kept in memory until anything in its organization changes (the hub tells
//! every process) or five minutes pass (a lost signal, time moving bookings out of the
//! window); known tokens are remembered for 30 seconds, so a poll costs no database
//! query. Revoking or rotating a link drops it here at once and, through the hub, in
//! the other processes (within 30 seconds should that signal be lost).
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use sha2::{Digest, Sha256};

use super::feed_build::{self, FeedSpec};
use super::hash;
use crate::db::entities::calendar_feed;
use crate::platform::{Hub, now_ms};
use crate::services::throttle::FailureLimit;

/// The hub's entity kind for a feed's link changing.
pub const FEED_KIND: &str = "calendar_feed";
const TOKEN_TTL: Duration = Duration::from_secs(30);
const BODY_TTL: Duration = Duration::from_secs(300);
/// Memory the cached feed bodies may take together.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Known tokens remembered at most.
const MAX_TOKENS: usize = 10_000;
/// Unknown tokens one address may try before it waits (they are not guessable; this
/// keeps a flood from costing a query each).
const MAX_MISSES: u32 = 100;
const MISS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// `last_fetched_at` is written at most this often per feed, so polls stay reads.
const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;

#[derive(Clone, Debug)]
struct Known {
    feed_id: String,
    spec: FeedSpec,
    expires_at: Option<i64>,
    seen_at: Instant,
}

struct Built {
    org_id: String,
    etag: String,
    body: Bytes,
    at: Instant,
}

pub enum Answer {
    /// Wrong, expired or revoked: a bare 404.
    NotFound,
    /// Too many fetches of this feed, or too many wrong tokens from this address.
    Limited(Duration),
    NotModified {
        etag: String,
    },
    Feed {
        etag: String,
        body: Bytes,
    },
}

#[derive(Clone)]
pub struct FeedServer {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    public_url: String,
    tokens: Mutex<HashMap<String, Known>>,
    bodies: Mutex<HashMap<String, Arc<Built>>>,
    /// When each organization last changed: a body built before that is stale.
    changed: Mutex<HashMap<String, Instant>>,
    touched: Mutex<HashMap<String, i64>>,
    per_feed: DefaultKeyedRateLimiter<String>,
    misses: FailureLimit,
}

impl FeedServer {
    /// `per_minute`: fetches one feed may take (calendar apps poll every 5 to 60 min).
    /// Must run inside the tokio runtime: it listens to the hub for changes.
    pub fn start(db: DatabaseConnection, hub: &Hub, public_url: &str, per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let misses = FailureLimit::for_db(&db, "feed.miss", MAX_MISSES, MISS_WINDOW);
        let server = FeedServer {
            inner: Arc::new(Inner {
                db,
                public_url: public_url.to_string(),
                tokens: Mutex::default(),
                bodies: Mutex::default(),
                changed: Mutex::default(),
                touched: Mutex::default(),
                per_feed: RateLimiter::keyed(Quota::per_minute(per_minute)),
                misses,
            }),
        };
        let weak = Arc::downgrade(&server.inner);
        let mut changes = hub.subscribe();
        tokio::spawn(async move {
            loop {
                let change = changes.recv().await;
                let Some(inner) = weak.upgrade() else { return };
                let server = FeedServer { inner };
                match change {
                    Ok(c) if c.entity_kind == FEED_KIND => server.forget(&c.entity_id),
                    Ok(c) => server.changed(&c.org_id),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        server.clear_bodies()
                    }
                    Err(_) => return,
                }
            }
        });
        server
    }

    /// Drops what is remembered of a feed (its link was revoked or rotated).
    pub fn forget(&self, feed_id: &str) {
        if let Ok(mut t) = self.inner.tokens.lock() {
            t.retain(|_, k| k.feed_id != feed_id);
        }
        if let Ok(mut b) = self.inner.bodies.lock() {
            b.remove(feed_id);
        }
    }

    /// Something in `org_id` changed: its feeds are built again when next asked for.
    fn changed(&self, org_id: &str) {
        if let Ok(mut c) = self.inner.changed.lock() {
            if c.len() >= MAX_TOKENS {
                c.retain(|_, at| at.elapsed() < BODY_TTL);
            }
            c.insert(org_id.to_string(), Instant::now());
        }
        if let Ok(mut b) = self.inner.bodies.lock() {
            b.retain(|_, built| built.org_id != org_id);
        }
    }

    fn clear_bodies(&self) {
        if let Ok(mut b) = self.inner.bodies.lock() {
            b.clear();
        }
    }

    /// The answer for `token` given the client's `If-None-Match`.
    pub async fn fetch(
        &self,
        token: &str,
        if_none_match: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<Answer, DbErr> {
        let address = ip.map(|ip| ip.to_string());
        if let Some(address) = &address
            && let Some(wait) = self.inner.misses.wait(address).await
        {
            return Ok(Answer::Limited(wait));
        }
        let Some(known) = self.lookup(token).await? else {
            if let Some(address) = &address {
                self.inner.misses.failed(address).await;
            }
            return Ok(Answer::NotFound);
        };
        if known.expires_at.is_some_and(|e| e <= now_ms()) {
            return Ok(Answer::NotFound);
        }
        if let Err(not_until) = self.inner.per_feed.check_key(&known.feed_id) {
            return Ok(Answer::Limited(
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
        self.touch(&known.feed_id);
        let built = match self.cached(&known.feed_id) {
            Some(b) => b,
            None => self.build(&known).await?,
        };
        if if_none_match.is_some_and(|h| matches(h, &built.etag)) {
            return Ok(Answer::NotModified {
                etag: built.etag.clone(),
            });
        }
        Ok(Answer::Feed {
            etag: built.etag.clone(),
            body: built.body.clone(),
        })
    }

    async fn lookup(&self, token: &str) -> Result<Option<Known>, DbErr> {
        // A token is 43 URL-safe characters; anything else is not worth a query.
        if token.len() != 43
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let h = hash(token);
        if let Ok(t) = self.inner.tokens.lock()
            && let Some(k) = t.get(&h)
            && k.seen_at.elapsed() < TOKEN_TTL
        {
            return Ok(Some(k.clone()));
        }
        let row = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TokenHash.eq(&h))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .one(&self.inner.db)
            .await?;
        let Some(f) = row else { return Ok(None) };
        let known = Known {
            feed_id: f.id,
            spec: FeedSpec {
                org_id: f.organization_id,
                resource_id: f.resource_id,
                busy_only: f.privacy == "busy",
                label: f.label,
            },
            expires_at: f.expires_at,
            seen_at: Instant::now(),
        };
        if let Ok(mut t) = self.inner.tokens.lock() {
            if t.len() >= MAX_TOKENS {
                t.retain(|_, k| k.seen_at.elapsed() < TOKEN_TTL);
                if t.len() >= MAX_TOKENS {
                    t.clear();
                }
            }
            t.insert(h, known.clone());
        }
        Ok(Some(known))
    }

    fn cached(&self, feed_id: &str) -> Option<Arc<Built>> {
        let b = self.inner.bodies.lock().ok()?;
        b.get(feed_id)
            .filter(|b| b.at.elapsed() < BODY_TTL && self.fresh(b))
            .cloned()
    }

    /// Built after the last change to its organization.
    fn fresh(&self, b: &Built) -> bool {
        self.inner
            .changed
            .lock()
            .map(|c| c.get(&b.org_id).is_none_or(|at| *at < b.at))
            .unwrap_or(false)
    }

    async fn build(&self, known: &Known) -> Result<Arc<Built>, DbErr> {
        // Taken before reading, so a change committed while building drops this entry.
        let at = Instant::now();
        let body = feed_build::build(
            &self.inner.db,
            &known.spec,
            &self.inner.public_url,
            Utc::now(),
        )
        .await?;
        let etag = etag(&body);
        let built = Arc::new(Built {
            org_id: known.spec.org_id.clone(),
            etag,
            body: Bytes::from(body),
            at,
        });
        if let Ok(mut b) = self.inner.bodies.lock() {
            let total: usize = b.values().map(|x| x.body.len()).sum();
            if total + built.body.len() > MAX_BODY_BYTES {
                b.clear();
            }
            if built.body.len() <= MAX_BODY_BYTES && self.fresh(&built) {
                b.insert(known.feed_id.clone(), built.clone());
            }
        }
        Ok(built)
    }

    /// Records when the feed was last fetched, at most every five minutes, off the
    /// request's path.
    fn touch(&self, feed_id: &str) {
        let now = now_ms();
        let due = match self.inner.touched.lock() {
            Ok(mut t) => {
                let last = t.get(feed_id).copied().unwrap_or(0);
                if now - last >= TOUCH_EVERY_MS {
                    if t.len() >= MAX_TOKENS {
                        t.clear();
                    }
                    t.insert(feed_id.to_string(), now);
                    true
                } else {
                    false
                }
            }
            Err(_) => false,
        };
        if due {
            let db = self.inner.db.clone();
            let id = feed_id.to_string();
            tokio::spawn(async move {
                let res = calendar_feed::Entity::update_many()
                    .col_expr(calendar_feed::Column::LastFetchedAt, Expr::value(now))
                    .filter(calendar_feed::Column::Id.eq(&id))
                    .exec(&db)
                    .await;
                if let Err(e) = res {
                    tracing::warn!(feed = %id, error = %e, "could not record a feed fetch");
                }
            });
        }
    }
}

/// A strong ETag from the body: the same data gives the same tag in every process.
fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// `If-None-Match` holds `*` or a list of (possibly weak) tags.
fn matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag("BEGIN:VCALENDAR\r\n");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"other\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert_ne!(etag("a"), etag("b"));
    }
}
