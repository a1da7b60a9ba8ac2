//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): HMAC-SHA256 over
//! `{id}.{timestamp}.{body}` keyed by the base64-decoded part of a `whsec_` secret,
//! sent as `v1,<base64>`; several space-separated during a secret rotation.
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const PREFIX: &str = "whsec_";

/// A fresh signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", B64.encode(key))
}

/// The HMAC key inside a `whsec_` secret (a bare base64 key is accepted too).
pub fn key_bytes(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix(PREFIX).unwrap_or(secret);
    let key = B64
        .decode(b64)
        .map_err(|_| "the signing secret is not valid base64".to_string())?;
    if !(24..=64).contains(&key.len()) {
        return Err("the signing secret must hold 24 to 64 bytes".into());
    }
    Ok(key)
}

/// `v1,<base64 HMAC>` for one secret.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: one signature per live secret.
pub fn signature_header(keys: &[Vec<u8>], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| sign(k, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks specification and its reference libraries.
    #[test]
    fn matches_the_specification_example() {
        let key = key_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = generate_secret();
        assert!(a.starts_with(PREFIX));
        assert_eq!(key_bytes(&a).unwrap().len(), 32);
        assert_ne!(a, generate_secret());
    }

    #[test]
    fn rejects_malformed_secrets() {
        assert!(key_bytes("whsec_not base64!").is_err());
        assert!(key_bytes("whsec_c2hvcnQ=").is_err(), "5 bytes is too short");
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let keys = [vec![1u8; 32], vec![2u8; 32]];
        let header = signature_header(&keys, "evt_1", 1, b"{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_ne!(parts[0], parts[1]);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
    }
}
