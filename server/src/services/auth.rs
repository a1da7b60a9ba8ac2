//! Sign-in with argon2 password hashes and cookie sessions (tower-sessions).
use std::net::IpAddr;
use std::time::Duration;

use app::error::AppError;
use app::model::auth::{CurrentUser, Role};
use app::ports::{AppResult, AuthPort};
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use async_trait::async_trait;
use chrono::Utc;
use http::request::Parts;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter, QuerySelect, QueryTrait,
    RelationDef, Select, TransactionTrait, sea_query::Expr,
};
use tower_sessions::Session;

use crate::db::entities::{organization, session, user};
use crate::platform::client_ip::ClientIp;
use crate::platform::hash::sha256_hex;
use crate::platform::{Internal, OrInternal, internal};
use crate::services::throttle::{self, FailureLimit};

const SESSION_USER: &str = "uid";
/// When the session last had its expiry pushed forward (unix seconds).
const SESSION_RENEWED: &str = "renewed";
/// tower-sessions writes a session (and resets its expiry and cookie) only when it
/// changes. Renewing it at most once an hour keeps an active user signed in for
/// `HITCH_SESSION_DAYS` after their last visit, without a write on every request.
const RENEW_AFTER_SECS: i64 = 3600;

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A real hash of a random password: verifying against it when the email is unknown
/// takes as long as a wrong password, so timing does not reveal which emails exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not-a-real-password").unwrap_or_default());

pub struct AuthService {
    pub db: DatabaseConnection,
    pub limits: SignInLimits,
}

/// Wrong passwords allowed within [`SIGN_IN_WINDOW`] before sign-in pauses: for one
/// account from one address (someone guessing a manager's password), from one address
/// over any accounts (someone trying a list of emails), and for one account from
/// anywhere (many machines guessing one password). Refused attempts are not checked
/// against the hash, so a guesser cannot keep the CPU busy with argon2 either.
const PER_ACCOUNT_AND_ADDRESS: u32 = 5;
const PER_ADDRESS: u32 = 30;
const PER_ACCOUNT: u32 = 50;
const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The sign-in throttle: shared by every request of the process, and on PostgreSQL by
/// every process on the database.
#[derive(Clone)]
pub struct SignInLimits {
    pair: FailureLimit,
    address: FailureLimit,
    account: FailureLimit,
}

impl SignInLimits {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pair: FailureLimit::for_db(db, "sign_in.pair", PER_ACCOUNT_AND_ADDRESS, SIGN_IN_WINDOW),
            address: FailureLimit::for_db(db, "sign_in.address", PER_ADDRESS, SIGN_IN_WINDOW),
            account: FailureLimit::for_db(db, "sign_in.account", PER_ACCOUNT, SIGN_IN_WINDOW),
        }
    }

    /// Counts a sign-in attempt against each limit before the password is checked, or
    /// says how long this address must wait before trying `email` again.
    ///
    /// Once an account has had too many wrong passwords from anywhere, an address that
    /// has not failed for it still gets one try: strangers guessing cannot lock the
    /// owner out, and each of their addresses gets one guess per window at most.
    async fn attempt(&self, ip: Option<IpAddr>, email: &str) -> Result<(), Duration> {
        let pair = pair_key(ip, email);
        let address = ip.map(|ip| ip.to_string());
        if let Some(wait) = self.account.wait(email).await {
            self.pair.first_attempt(&pair).await.map_err(|_| wait)?;
            if let Some(address) = &address {
                self.address.attempt(address).await?;
            }
            // Counted like any attempt, so a success takes back only its own count.
            self.account.failed(email).await;
            return Ok(());
        }
        let mut waits = vec![self.pair.attempt(&pair).await.err()];
        if let Some(address) = &address {
            waits.push(self.address.attempt(address).await.err());
        }
        waits.push(self.account.attempt(email).await.err());
        waits.into_iter().flatten().max().map_or(Ok(()), Err)
    }

    /// The right password: it does not count, and it forgives this address its typos
    /// for the account; what others tried still counts.
    async fn succeeded(&self, ip: Option<IpAddr>, email: &str) {
        self.pair.clear(&pair_key(ip, email)).await;
        if let Some(ip) = ip {
            self.address.forgive(&ip.to_string()).await;
        }
        self.account.forgive(email).await;
    }
}

fn pair_key(ip: Option<IpAddr>, email: &str) -> String {
    match ip {
        Some(ip) => format!("{ip} {email}"),
        None => format!("- {email}"),
    }
}

/// The signed-in user, found once per page request by the sign-in guard
/// (`routes::guard`) and reused by every server function that page renders.
#[derive(Clone)]
pub struct SignedIn(pub CurrentUser);

/// The user the request's session belongs to, if any.
pub async fn session_user(
    db: &DatabaseConnection,
    parts: &Parts,
) -> AppResult<Option<CurrentUser>> {
    if let Some(SignedIn(user)) = parts.extensions.get::<SignedIn>() {
        return Ok(Some(user.clone()));
    }
    let session = session(parts)?;
    // Changed earlier in this request (just signed in): what counts is in memory.
    if session.is_modified() {
        let Some(uid) = session.get::<String>(SESSION_USER).await.or_internal()? else {
            return Ok(None);
        };
        return load_user(db, &uid).await;
    }
    let Some(id) = session.id() else {
        return Ok(None);
    };
    let Some((user, renewed)) = load_session_user(db, &sha256_hex(&id.to_string())).await? else {
        return Ok(None);
    };
    keep_alive(&session, renewed).await?;
    Ok(Some(user))
}

/// Marks the session changed when its last renewal is an hour old or more, so the
/// session layer saves it with a fresh expiry and sends the cookie again.
async fn keep_alive(session: &Session, renewed: Option<i64>) -> AppResult<()> {
    let now = Utc::now().timestamp();
    if renewed.is_none_or(|at| now - at >= RENEW_AFTER_SECS) {
        session.insert(SESSION_RENEWED, now).await.or_internal()?;
    }
    Ok(())
}

fn session(parts: &Parts) -> AppResult<Session> {
    parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| Internal::msg("session layer missing").report())
}

/// A user row with what the pages need of their organization, read in one query.
#[derive(FromQueryResult)]
struct UserWithOrg {
    #[sea_orm(nested)]
    user: user::Model,
    org_name: String,
    org_time_zone: String,
    org_currency: String,
}

/// The user with their organization's name, time zone and currency.
fn user_with_org() -> Select<user::Entity> {
    let to_org: RelationDef = user::Entity::belongs_to(organization::Entity)
        .from(user::Column::OrganizationId)
        .to(organization::Column::Id)
        .into();
    user::Entity::find()
        .join(JoinType::InnerJoin, to_org)
        .column_as(organization::Column::Name, "org_name")
        .column_as(organization::Column::TimeZone, "org_time_zone")
        .column_as(organization::Column::Currency, "org_currency")
}

/// Loads the user and their organization as the dashboard sees them.
pub async fn load_user(db: &DatabaseConnection, user_id: &str) -> AppResult<Option<CurrentUser>> {
    let found = user_with_org()
        .filter(user::Column::Id.eq(user_id))
        .into_model::<UserWithOrg>()
        .one(db)
        .await
        .or_internal()?;
    Ok(found.map(UserWithOrg::into_current))
}

#[derive(FromQueryResult)]
struct SessionOfUser {
    #[sea_orm(nested)]
    found: UserWithOrg,
    session_data: String,
}

/// Ends every session of `user_id` (a new password: whoever knew the old one is out).
pub async fn end_sessions_of(db: &impl ConnectionTrait, user_id: &str) -> Result<u64, DbErr> {
    let uid = match db.get_database_backend() {
        DbBackend::Postgres => format!("(data::json ->> '{SESSION_USER}')"),
        _ => format!("(data ->> '{SESSION_USER}')"),
    };
    let res = db
        .execute_raw(crate::platform::sql::stmt(
            db,
            &format!("DELETE FROM sessions WHERE {uid} = $1"),
            vec![user_id.into()],
        ))
        .await?;
    Ok(res.rows_affected())
}

/// The unexpired session's user, and when the session was last renewed. One query
/// where the session layer would read the session and then we the user: this runs on
/// every dashboard request. The user id is the session data's [`SESSION_USER`] (the
/// store keeps the data as a JSON object).
async fn load_session_user(
    db: &DatabaseConnection,
    session_id: &str,
) -> AppResult<Option<(CurrentUser, Option<i64>)>> {
    let uid = match db.get_database_backend() {
        DbBackend::Postgres => format!("(sessions.data::json ->> '{SESSION_USER}')"),
        _ => format!("(sessions.data ->> '{SESSION_USER}')"),
    };
    let mut query = user_with_org()
        .column_as(session::Column::Data, "session_data")
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::ExpiresAt.gt(Utc::now()));
    QueryTrait::query(&mut query).join(
        JoinType::InnerJoin,
        session::Entity,
        Expr::cust(format!("users.id = {uid}")),
    );
    let Some(row) = query
        .into_model::<SessionOfUser>()
        .one(db)
        .await
        .or_internal()?
    else {
        return Ok(None);
    };
    let renewed = serde_json::from_str::<serde_json::Value>(&row.session_data)
        .ok()
        .and_then(|d| d.get(SESSION_RENEWED)?.as_i64());
    Ok(Some((row.found.into_current(), renewed)))
}

impl UserWithOrg {
    fn into_current(self) -> CurrentUser {
        let u = self.user;
        CurrentUser {
            user_id: u.id,
            org_id: u.organization_id,
            org_name: self.org_name,
            time_zone: self.org_time_zone,
            currency: self.org_currency,
            name: u.name,
            email: u.email,
            role: Role::parse(&u.role).unwrap_or(Role::Staff),
        }
    }
}

#[async_trait]
impl AuthPort for AuthService {
    async fn login(&self, parts: &Parts, email: &str, password: &str) -> AppResult<CurrentUser> {
        let email = email.trim().to_lowercase();
        let ip = ClientIp::of(parts);
        if let Err(wait) = self.limits.attempt(ip, &email).await {
            tracing::warn!(email = %email, ip = ?ip, "sign-in paused after repeated wrong passwords");
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "Too many wrong passwords. For your security, sign-in is paused: please try again in {}.",
                    throttle::minutes(wait)
                ),
            });
        }
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .one(&self.db)
            .await
            .or_internal()?;
        let hash = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.clone());
        let password = password.to_string();
        // Argon2 is deliberately slow: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .or_internal()?;
        let Some(found) = found.filter(|_| ok) else {
            tracing::info!(email = %email, "sign-in refused");
            return Err(AppError::BadCredentials);
        };
        self.limits.succeeded(ip, &email).await;
        // A new session id at sign-in, so a planted cookie cannot ride along.
        start_session(parts, &found.id).await?;
        let mut active: user::ActiveModel = found.clone().into();
        active.last_login_at = Set(Some(Utc::now()));
        active.update(&self.db).await.or_internal()?;
        tracing::info!(user = %found.id, "signed in");
        load_user(&self.db, &found.id)
            .await?
            .ok_or(AppError::BadCredentials)
    }

    async fn logout(&self, parts: &Parts) -> AppResult<()> {
        session(parts)?.flush().await.or_internal()
    }

    async fn current_user(&self, parts: &Parts) -> AppResult<Option<CurrentUser>> {
        session_user(&self.db, parts).await
    }

    async fn change_password(
        &self,
        parts: &Parts,
        user: &CurrentUser,
        current: &str,
        new: &str,
    ) -> AppResult<u64> {
        if current.is_empty() {
            return Err(AppError::field(
                "current_password",
                "Enter your current password.",
            ));
        }
        if new.chars().count() < MIN_PASSWORD {
            return Err(AppError::field(
                "new_password",
                format!("Use a password of at least {MIN_PASSWORD} characters."),
            ));
        }
        if new.len() > MAX_PASSWORD_BYTES {
            return Err(AppError::field(
                "new_password",
                "This password is too long.",
            ));
        }
        if new == current {
            return Err(AppError::field(
                "new_password",
                "Choose a password different from the current one.",
            ));
        }
        // Guessing the current password here counts like guessing it at sign-in: a
        // borrowed session cannot try passwords faster than the sign-in page allows.
        let ip = ClientIp::of(parts);
        if let Err(wait) = self.limits.attempt(ip, &user.email).await {
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "Too many wrong passwords. Please try again in {}.",
                    throttle::minutes(wait)
                ),
            });
        }
        let found = user::Entity::find_by_id(&user.user_id)
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or(AppError::Unauthenticated)?;
        let (given, hash) = (current.to_string(), found.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&given, &hash))
            .await
            .or_internal()?;
        if !ok {
            return Err(AppError::field(
                "current_password",
                "This is not your current password.",
            ));
        }
        self.limits.succeeded(ip, &user.email).await;
        let new = new.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&new))
            .await
            .or_internal()??;
        let txn = self.db.begin().await.or_internal()?;
        let mut active: user::ActiveModel = found.into();
        active.password_hash = Set(hash);
        active.update(&txn).await.or_internal()?;
        let ended = end_sessions_of(&txn, &user.user_id).await.or_internal()?;
        crate::db::audit::record(
            &txn,
            &app::model::auth::Actor::from(user),
            "user.password_changed",
            "user",
            &user.user_id,
            serde_json::json!({ "sessions_ended": ended.saturating_sub(1) }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        // Every session went, this one too: sign this one in again, under a new id.
        start_session(parts, &user.user_id).await?;
        tracing::info!(user = %user.user_id, "password changed; other sessions ended");
        Ok(ended.saturating_sub(1))
    }
}

/// Signs the request's session in as `user_id` under a fresh session id.
async fn start_session(parts: &Parts, user_id: &str) -> AppResult<()> {
    let session = session(parts)?;
    session.cycle_id().await.or_internal()?;
    session.insert(SESSION_USER, user_id).await.or_internal()?;
    session
        .insert(SESSION_RENEWED, Utc::now().timestamp())
        .await
        .or_internal()
}

/// Shortest password accepted (also for `create-admin`).
pub const MIN_PASSWORD: usize = 10;
/// Longest accepted: argon2 hashes all of it, so a megabyte "password" would cost CPU.
const MAX_PASSWORD_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
