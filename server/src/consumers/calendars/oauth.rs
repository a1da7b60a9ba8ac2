//! Signing in to Google with OAuth 2.0 (the `oauth2` crate): the authorization code
//! flow with PKCE and `access_type=offline`, refreshing before expiry, revoking on
//! disconnect. Tokens live in the vault; the connection row keeps only their expiry.
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::platform::outbound::redact_urls;

/// Read the account's calendars (to choose), write events to the chosen one.
pub const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events",
];

/// The installation's OAuth client and Google's endpoints.
#[derive(Clone)]
pub struct GoogleOAuth {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: String,
    /// `{public_url}/integrations/google/callback`.
    pub redirect_url: String,
}

/// What the vault keeps for a connection.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Epoch ms.
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The refresh token (or code) is no longer valid: the user must connect again.
    #[error("Google no longer accepts this connection's sign-in (invalid_grant)")]
    InvalidGrant,
    #[error("Google refused the sign-in: {0}")]
    Refused(String),
    #[error("Google's sign-in service is unavailable: {0}")]
    Unavailable(String),
}

/// A sign-in started: send the user to `url`; keep `state` and `verifier` in their
/// session until Google sends them back.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub verifier: String,
}

type Client = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

impl GoogleOAuth {
    fn client(&self) -> Result<Client, OAuthError> {
        let bad = |what: &str| OAuthError::Refused(format!("the {what} setting is not a URL"));
        Ok(BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(self.auth_url.clone()).map_err(|_| bad("auth"))?)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(|_| bad("token"))?)
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_url.clone()).map_err(|_| bad("redirect"))?,
            )
            .set_auth_type(AuthType::RequestBody))
    }

    pub fn authorize(&self) -> Result<Authorization, OAuthError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client()?;
        let mut req = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            // A refresh token, and a fresh one on a reconnect (Google gives one only at
            // the first consent otherwise).
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .add_extra_param("include_granted_scopes", "true");
        for s in SCOPES {
            req = req.add_scope(Scope::new(s.into()));
        }
        let (url, state) = req.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        code: &str,
        verifier: &str,
    ) -> Result<Tokens, OAuthError> {
        let res = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.into()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.into()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        let refresh = res
            .refresh_token()
            .map(|t| t.secret().clone())
            .ok_or_else(|| OAuthError::Refused("Google sent no refresh token".into()))?;
        Ok(tokens(&res, refresh))
    }

    /// New access token; Google usually keeps the refresh token the same.
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &str,
    ) -> Result<Tokens, OAuthError> {
        let refresh = RefreshToken::new(refresh_token.into());
        let res = self
            .client()?
            .exchange_refresh_token(&refresh)
            .request_async(http)
            .await
            .map_err(token_error)?;
        let kept = res
            .refresh_token()
            .map_or_else(|| refresh_token.to_string(), |t| t.secret().clone());
        Ok(tokens(&res, kept))
    }

    /// Revokes the grant (the refresh token revokes its access tokens too). Sent by
    /// hand, as Google documents it (`POST token=…`): the crate's revocation refuses a
    /// non-https endpoint, which the tests' local fake is.
    pub async fn revoke(&self, http: &reqwest::Client, refresh_token: &str) -> Result<(), String> {
        let res = http
            .post(&self.revoke_url)
            .form(&[("token", refresh_token)])
            .send()
            .await
            .map_err(|e| redact_urls(&e.to_string()))?;
        // 400 `invalid_token`: revoked already, which is what was wanted.
        if res.status().is_success() || res.status() == reqwest::StatusCode::BAD_REQUEST {
            Ok(())
        } else {
            Err(format!("Google answered {}", res.status()))
        }
    }
}

fn tokens(res: &impl TokenResponse, refresh_token: String) -> Tokens {
    let lifetime = res
        .expires_in()
        .map_or(3600, |d| d.as_secs().min(86_400) as i64);
    Tokens {
        access_token: res.access_token().secret().clone(),
        refresh_token,
        expires_at: crate::platform::now_ms() + lifetime * 1000,
    }
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant,
            other => OAuthError::Refused(format!(
                "{}{}",
                other.as_ref(),
                r.error_description()
                    .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                    .unwrap_or_default()
            )),
        },
        RequestTokenError::Request(e) => OAuthError::Unavailable(redact_urls(&e.to_string())),
        RequestTokenError::Parse(_, _) => {
            OAuthError::Unavailable("an answer that is not a token response".into())
        }
        RequestTokenError::Other(s) => OAuthError::Unavailable(redact_urls(&s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_link_asks_for_offline_access_with_pkce() {
        let o = GoogleOAuth {
            client_id: "cid.apps.googleusercontent.com".into(),
            client_secret: "secret".into(),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            redirect_url: "https://hitch.example/integrations/google/callback".into(),
        };
        let a = o.authorize().expect("authorize");
        let url = url::Url::parse(&a.url).expect("url");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["response_type"], "code");
        assert!(q["scope"].contains("calendar.events"));
        assert!(
            !a.url.contains("secret"),
            "the client secret never goes to the browser"
        );
        assert!(a.verifier.len() >= 43);
        assert_ne!(o.authorize().expect("again").state, a.state);
    }
}
