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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A receiver's check as the Standard Webhooks specification describes it, written
        /// from the specification: split the header on spaces, keep `v1,` entries,
        /// compare each against HMAC-SHA256 of `{id}.{timestamp}.{body}`.
        fn receiver_accepts(secret: &str, header: &str, id: &str, ts: i64, body: &[u8]) -> bool {
            let Ok(key) = B64.decode(secret.strip_prefix(PREFIX).unwrap_or(secret)) else {
                return false;
            };
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
            mac.update(format!("{id}.{ts}.").as_bytes());
            mac.update(body);
            let expected = mac.finalize().into_bytes();
            header.split(' ').any(|entry| {
                entry
                    .strip_prefix("v1,")
                    .and_then(|s| B64.decode(s).ok())
                    .is_some_and(|sig| sig == expected.as_slice())
            })
        }

        proptest! {
            /// Every live secret's signature is one a receiver holding that secret
            /// accepts, whatever the body, and the header is one line of printable
            /// ASCII however many secrets there are.
            #[test]
            fn prop_receivers_accept_what_is_signed_for_them(
                raw_keys in proptest::collection::vec(
                    proptest::collection::vec(any::<u8>(), 24..=64), 1..4),
                id in "msg_[0-9A-Za-z]{1,32}",
                ts in 0i64..4_000_000_000,
                body in proptest::collection::vec(any::<u8>(), 0..2048),
            ) {
                let secrets: Vec<String> =
                    raw_keys.iter().map(|k| format!("{PREFIX}{}", B64.encode(k))).collect();
                let keys: Vec<Vec<u8>> = secrets
                    .iter()
                    .map(|s| key_bytes(s))
                    .collect::<Result<_, _>>()
                    .map_err(TestCaseError::fail)?;
                let header = signature_header(&keys, &id, ts, &body);
                prop_assert!(header.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
                for secret in &secrets {
                    prop_assert!(receiver_accepts(secret, &header, &id, ts, &body));
                    prop_assert!(!receiver_accepts(secret, &header, &id, ts + 1, &body));
                }
            }

            /// A secret typed into the dashboard either gives a key of the allowed
            /// length, which is what the secret encodes, or a clear error; never a panic.
            #[test]
            fn prop_any_typed_secret_gives_a_key_or_an_error(secret in "(whsec_)?\\PC{0,100}") {
                if let Ok(key) = key_bytes(&secret) {
                    prop_assert!((24..=64).contains(&key.len()));
                    let encoded = secret.strip_prefix(PREFIX).unwrap_or(&secret);
                    prop_assert_eq!(B64.decode(encoded).ok(), Some(key));
                }
            }
        }
    }
}
