//! SMS through Twilio's Messages API: form-encoded, HTTP basic auth with the account SID
//! and auth token. 201 is accepted; 401 means the credentials are wrong (the channel is
//! broken); a 400 names a problem with this message (e.g. 21211, an invalid number).
use super::{Outcome, Verdict, network_error, read_body, retry_after};

pub struct Sms<'a> {
    pub api_base: &'a str,
    pub account_sid: &'a str,
    pub auth_token: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
}

pub async fn send(client: &reqwest::Client, s: &Sms<'_>) -> Outcome {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        s.api_base.trim_end_matches('/'),
        s.account_sid
    );
    let resp = match client
        .post(url)
        .basic_auth(s.account_sid, Some(s.auth_token))
        .form(&[("To", s.to), ("From", s.from), ("Body", s.body)])
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return network_error(&e),
    };
    let status = resp.status().as_u16();
    let after = retry_after(resp.headers());
    let body = read_body(resp).await;
    let verdict = match status {
        // Twilio answers 404 for an unknown account: the channel is broken, not the URL.
        400 => Verdict::Failed,
        s => super::judge_status(s),
    };
    if verdict == Verdict::Sent {
        return Outcome::sent(Some(status), Some(body));
    }
    let detail = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            Some(format!(
                "{} (code {})",
                v.get("message")?.as_str()?,
                v.get("code").map(|c| c.to_string()).unwrap_or_default()
            ))
        })
        .unwrap_or_else(|| body.trim().to_string());
    let mut o = Outcome::failed(
        verdict,
        Some(status),
        Some(body),
        format!("Twilio answered {status}: {detail}"),
    );
    o.retry_after = after;
    o
}
