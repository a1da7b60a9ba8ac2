use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
    /// Owners and admins manage money and settings; staff run the floor (bookings, clients).
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// The signed-in dashboard user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub user_id: String,
    pub org_id: String,
    pub org_name: String,
    /// The organization's IANA time zone and ISO currency, which most pages format with.
    pub time_zone: String,
    pub currency: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// Who made a change, as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub org_id: String,
    pub kind: ActorKind,
    pub id: String,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Guest,
    ApiKey,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Guest => "guest",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }
}

impl From<&CurrentUser> for Actor {
    fn from(u: &CurrentUser) -> Self {
        // Requests made with an API key act as a user whose id is the key's `key_` id.
        let kind = if u.user_id.starts_with("key_") {
            ActorKind::ApiKey
        } else if u.user_id.starts_with("ccn_") {
            // A calendar connection applying a change made in the calendar.
            ActorKind::System
        } else if u.user_id.starts_with("mt_") {
            // The guest portal acts as a user whose id is the manage token's `mt_` id.
            ActorKind::Guest
        } else {
            ActorKind::User
        };
        Actor {
            org_id: u.org_id.clone(),
            kind,
            id: u.user_id.clone(),
            label: u.email.clone(),
        }
    }
}
