//! Verifies `Stripe-Signature` the way Stripe's own libraries do: the header is
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes such as `v0` are ignored), the
//! signature is a hex HMAC-SHA256 over `{t}.{raw body}` keyed by the whole `whsec_…`
//! string as bytes, any one matching `v1` suffices, and `t` must be within the
//! tolerance of now (300 s by default) so a captured request cannot be replayed later.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const DEFAULT_TOLERANCE_SECS: i64 = 300;
/// Longest header read. Stripe's carries one `v1` per active secret (two while a
/// secret is being rolled): a few hundred bytes.
pub const MAX_HEADER_BYTES: usize = 1024;
/// Most `v1` signatures compared.
pub const MAX_SIGNATURES: usize = 8;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature's timestamp is {0} seconds away from now (limit {1})")]
    TooOld(i64, i64),
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

/// Checks `header` against the raw `body`; `now` in unix seconds.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    // Whoever sends this is not authenticated yet: the work done for it is bounded by
    // the header's length and one MAC over the body, whatever the header holds.
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" if signatures.len() < MAX_SIGNATURES => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let expected = mac(secret, t, body).finalize().into_bytes();
    // Every candidate is compared in constant time, and all of them are compared.
    let matches = signatures.iter().fold(subtle::Choice::from(0), |any, sig| {
        any | expected.as_slice().ct_eq(sig.as_slice())
    });
    if !bool::from(matches) {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::TooOld((now - t).abs(), tolerance));
    }
    Ok(())
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header Stripe would send for `body` at `t` (tests, the fake Stripe and the
/// dashboard's "send a test event" use it).
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 50,000 `v1` entries over a 64 KB body cost what one does: the header is refused
    /// before any MAC, and a long list within the limit is read only to its cap.
    #[test]
    fn a_flood_of_signatures_costs_one_mac_at_most() {
        let body = vec![b'x'; 64 * 1024];
        let t = 1_700_000_000;
        let flood = format!("t={t},{}", vec!["v1=00"; 50_000].join(","));
        assert_eq!(
            verify(Some(&flood), &body, SECRET, t, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Malformed)
        );
        // Within the length limit, entries past the cap are not compared: the real
        // signature after eight wrong ones does not count.
        let good = header(SECRET, t, &body);
        let sig = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let wrong = vec![format!("v1={}", "ab".repeat(32)); MAX_SIGNATURES].join(",");
        let late = format!("t={t},{wrong},v1={sig}");
        assert!(late.len() <= MAX_HEADER_BYTES);
        assert_eq!(
            verify(Some(&late), &body, SECRET, t, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
        let early = format!("t={t},v1={sig},{wrong}");
        assert_eq!(
            verify(Some(&early), &body, SECRET, t, DEFAULT_TOLERANCE_SECS),
            Ok(())
        );
    }

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;

    #[test]
    fn matches_stripes_documented_construction() {
        // Computed independently: HMAC-SHA256(key="whsec_test_secret", "1700000000.{body}").
        let expected = {
            let mut m = Hmac::<Sha256>::new_from_slice(b"whsec_test_secret").unwrap();
            m.update(b"1700000000.");
            m.update(BODY);
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(
            header(SECRET, 1_700_000_000, BODY),
            format!("t=1700000000,v1={expected}")
        );
    }

    #[test]
    fn agrees_with_the_official_stripe_library() {
        // `stripe` 23.1.0 on npm: webhooks.generateTestHeaderString({payload: '{}',
        // secret: 'whsec_x', timestamp: 1700000000}).
        let official =
            "t=1700000000,v1=be8cb8325f2202445260a855532f967e30ad2a9394ce28da66ee02880ddcb661";
        assert_eq!(header("whsec_x", 1_700_000_000, b"{}"), official);
        assert_eq!(
            verify(Some(official), b"{}", "whsec_x", 1_700_000_100, 300),
            Ok(())
        );
    }

    #[test]
    fn accepts_a_fresh_valid_signature() {
        let h = header(SECRET, 1000, BODY);
        assert_eq!(verify(Some(&h), BODY, SECRET, 1000 + 299, 300), Ok(()));
    }

    #[test]
    fn refuses_tampering_wrong_secrets_age_and_garbage() {
        let h = header(SECRET, 1000, BODY);
        let tampered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(
            verify(Some(&h), tampered, SECRET, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), BODY, "whsec_other", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), BODY, SECRET, 1301, 300),
            Err(SignatureError::TooOld(301, 300))
        );
        assert_eq!(
            verify(None, BODY, SECRET, 1000, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=abcd"), BODY, SECRET, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000"), BODY, SECRET, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000,v1=zz"), BODY, SECRET, 1000, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_one_of_several_v1_signatures_suffices() {
        // During a signing-secret roll Stripe signs with both secrets.
        let good = header(SECRET, 1000, BODY);
        let other = header("whsec_old", 1000, BODY);
        let v1_good = good.split_once(",v1=").unwrap().1;
        let v1_other = other.split_once(",v1=").unwrap().1;
        let both = format!("t=1000,v1={v1_other},v0=ignored,v1={v1_good}");
        assert_eq!(verify(Some(&both), BODY, SECRET, 1000, 300), Ok(()));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever arrives in the header, verification answers without panicking,
            /// and nothing but the real signature verifies.
            #[test]
            fn prop_no_header_but_the_real_one_verifies(
                header_text in "[tv01=,a-f ]{0,300}|\\PC{0,1200}",
                body in proptest::collection::vec(any::<u8>(), 0..512),
                t in 0i64..4_000_000_000,
            ) {
                let got = verify(Some(&header_text), &body, SECRET, t, DEFAULT_TOLERANCE_SECS);
                prop_assert!(got.is_err(), "{header_text:?} verified");
                if header_text.len() > MAX_HEADER_BYTES {
                    prop_assert_eq!(got, Err(SignatureError::Malformed));
                }
            }

            /// A signed body verifies with its secret, among other entries of any kind,
            /// and stops verifying when one byte of the body or the secret changes.
            #[test]
            fn prop_a_signature_verifies_its_body_and_nothing_else(
                secret in "whsec_[A-Za-z0-9]{1,40}",
                body in proptest::collection::vec(any::<u8>(), 1..2048),
                t in 0i64..4_000_000_000,
                flip in any::<prop::sample::Index>(),
                noise in proptest::collection::vec("[a-z0-9]{1,3}=[a-f0-9]{0,16}", 0..4),
            ) {
                let signed = header(&secret, t, &body);
                let mut text = noise.join(",");
                text.push(',');
                text.push_str(&signed);
                prop_assert_eq!(verify(Some(&text), &body, &secret, t, 300), Ok(()));
                let mut changed = body.clone();
                changed[flip.index(body.len())] ^= 1;
                prop_assert_eq!(
                    verify(Some(&text), &changed, &secret, t, 300),
                    Err(SignatureError::Mismatch)
                );
                let other = format!("{secret}x");
                prop_assert_eq!(
                    verify(Some(&text), &body, &other, t, 300),
                    Err(SignatureError::Mismatch)
                );
            }
        }
    }
}
