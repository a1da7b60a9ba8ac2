//! Outbound HTTP that cannot be aimed at Hitch's own network (SSRF). Addresses are
//! checked when the connection is made, by the client's DNS resolver, so a hostname that
//! later resolves elsewhere (DNS rebinding) is caught too; literal-IP URLs are checked
//! the same way before sending. Redirects are never followed.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Where outbound requests may go.
#[derive(Clone, Debug, Default)]
pub struct OutboundPolicy {
    /// Networks allowed even though they are private (tests, development).
    pub allow: Vec<IpNet>,
    pub https_only: bool,
}

/// Why a URL may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL must start with https://")]
    NotHttps,
    #[error("only http and https URLs can be called")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a private or reserved address; add it to HITCH_OUTBOUND_ALLOW to call it")]
    Blocked(IpAddr),
    /// A hostname that resolves only to private or reserved addresses. Which ones is
    /// not said: that would tell whoever saves a URL how internal names resolve.
    #[error(
        "the host resolves to a private or reserved address; add its network to HITCH_OUTBOUND_ALLOW to call it"
    )]
    BlockedHost,
}

impl OutboundPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allow.iter().any(|n| n.contains(&ip)) || !reserved(ip)
    }

    /// Checks what can be checked without DNS: scheme and literal addresses.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => {}
            "http" if !self.https_only => {}
            "http" => return Err(Refusal::NotHttps),
            _ => return Err(Refusal::Scheme),
        }
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(url::Host::Ipv4(ip)) => self.literal(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.literal(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    fn literal(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(Refusal::Blocked(ip))
        }
    }

    /// An HTTP client bound to this policy: guarded resolver, no redirects, no proxy.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: self.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("Hitch-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client without custom TLS roots always builds")
    }
}

struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    "the host has no address".into()
                } else {
                    Box::new(Refusal::BlockedHost)
                };
                return Err(err);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// `text` with every `http://` or `https://` URL in it replaced by `[url]`. Errors of
/// outbound calls name the URL they called, and some URLs are credentials (a Slack or
/// Discord webhook, a token in a query string): such text is stored, logged and shown.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..i]);
        out.push_str("[url]");
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The IPv4 address inside IPv4-mapped, 6to4 and NAT64 IPv6 forms, so each is judged
/// as the address it really reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    }
    ip
}

/// Loopback, private, link-local (incl. cloud metadata), CGNAT, multicast, reserved and
/// documentation ranges: nothing a public webhook receiver lives on.
fn reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || v6 == Ipv6Addr::UNSPECIFIED
        }
    }
}

/// Parses a list of networks or single addresses, comma-separated
/// (`HITCH_OUTBOUND_ALLOW`, `HITCH_TRUSTED_PROXIES`).
pub fn parse_networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{s}` is not a network (e.g. 127.0.0.0/8) or an address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(s: &str) -> bool {
        !OutboundPolicy::default().permits(s.parse().unwrap())
    }

    #[test]
    fn blocks_internal_and_reserved_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2002:7f00:0001::",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!blocked(ip), "{ip} is public");
        }
    }

    #[test]
    fn the_allow_list_opens_a_network_and_nothing_else() {
        let p = OutboundPolicy {
            allow: parse_networks("127.0.0.0/8, ::1").unwrap(),
            https_only: false,
        };
        assert!(p.permits("127.0.0.1".parse().unwrap()));
        assert!(p.permits("::1".parse().unwrap()));
        assert!(p.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!p.permits("10.0.0.1".parse().unwrap()));
        assert!(parse_networks("not-a-net").is_err());
    }

    #[test]
    fn urls_are_cut_out_of_error_texts() {
        let e = "error sending request for url (https://hooks.slack.com/services/T0/B0/sEcReT?x=1): connection refused";
        let r = redact_urls(e);
        assert_eq!(
            r,
            "error sending request for url ([url]): connection refused"
        );
        assert_eq!(
            redact_urls("GET http://a.example/x?token=abc and https://b.example"),
            "GET [url] and [url]"
        );
        assert_eq!(redact_urls("no address here"), "no address here");
    }

    #[tokio::test]
    async fn a_refused_hostname_does_not_say_what_it_resolves_to() {
        let resolver = GuardedResolver {
            policy: OutboundPolicy::default(),
        };
        let name: Name = "localhost".parse().expect("name");
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(!err.contains("127.0.0.1") && !err.contains("::1"), "{err}");
        assert!(err.contains("private or reserved"), "{err}");
    }

    #[test]
    fn checks_scheme_and_literal_hosts() {
        let p = OutboundPolicy {
            allow: vec![],
            https_only: true,
        };
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            p.check_url(&url("http://example.com/")),
            Err(Refusal::NotHttps)
        );
        assert_eq!(
            p.check_url(&url("ftp://example.com/")),
            Err(Refusal::Scheme)
        );
        assert!(matches!(
            p.check_url(&url("https://169.254.169.254/")),
            Err(Refusal::Blocked(_))
        ));
        assert!(matches!(
            p.check_url(&url("https://[::ffff:127.0.0.1]/")),
            Err(Refusal::Blocked(_))
        ));
        assert!(
            matches!(
                p.check_url(&url("https://0x7f000001/")),
                Err(Refusal::Blocked(_))
            ),
            "hex IPv4 is parsed as an address"
        );
        assert_eq!(p.check_url(&url("https://hooks.example.com/x")), Ok(()));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// IANA's special-purpose IPv4 registry (RFC 6890 and successors), plus
        /// multicast and class E: written out here, apart from the code under test.
        const SPECIAL_V4: &[&str] = &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
        ];

        fn special(ip: Ipv4Addr) -> bool {
            SPECIAL_V4.iter().any(|n| {
                n.parse::<IpNet>()
                    .is_ok_and(|n| n.contains(&IpAddr::V4(ip)))
            })
        }

        /// The ways a URL can spell one IPv4 address that the WHATWG URL parser (and
        /// so `url` and every browser) reads back as that address or a form reaching it.
        fn spellings(ip: Ipv4Addr) -> Vec<String> {
            let [a, b, c, d] = ip.octets();
            let n = u32::from(ip);
            let [h1, h2] = [(n >> 16) as u16, n as u16];
            vec![
                format!("{a}.{b}.{c}.{d}"),
                format!("{n}"),
                format!("0x{n:x}"),
                format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
                format!("{a}.{}", n & 0x00ff_ffff),
                format!("{a}.{b}.{}", n & 0xffff),
                format!("{a}.{b}.{c}.{d}."),
                format!("[::ffff:{a}.{b}.{c}.{d}]"),
                format!("[::ffff:{h1:x}:{h2:x}]"),
                format!("[2002:{h1:x}:{h2:x}::1]"),
                format!("[64:ff9b::{a}.{b}.{c}.{d}]"),
            ]
        }

        fn policy() -> OutboundPolicy {
            OutboundPolicy {
                allow: vec![],
                https_only: false,
            }
        }

        proptest! {
            /// Any dotted IPv4 address is refused exactly when IANA lists it as special:
            /// anywhere, and right at the edges of each special range.
            #[test]
            fn prop_a_literal_address_is_refused_exactly_when_special(n in prop_oneof![
                any::<u32>(),
                (proptest::sample::select(SPECIAL_V4), any::<bool>(), -2i64..=2).prop_map(
                    |(net, last, step)| {
                        let net = net.parse::<ipnet::Ipv4Net>().unwrap_or_default();
                        let edge = if last { net.broadcast() } else { net.network() };
                        (i64::from(u32::from(edge)) + step).clamp(0, i64::from(u32::MAX)) as u32
                    }
                ),
            ]) {
                let ip = Ipv4Addr::from(n);
                let url = Url::parse(&format!("http://{ip}/hook")).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(policy().check_url(&url).is_err(), special(ip), "{}", ip);
            }

            /// An internal address stays refused however the URL spells it: decimal,
            /// hex, octal, short forms, a trailing dot, IPv4-mapped, 6to4 and NAT64
            /// IPv6, with credentials, a port or a path in front of the check.
            #[test]
            fn prop_no_spelling_of_an_internal_address_gets_through(
                net in proptest::sample::select(SPECIAL_V4),
                host_bits in any::<u32>(),
                port in proptest::option::of(1u16..),
                userinfo in proptest::option::of("[a-z]{1,8}(:[a-z0-9]{1,8})?@"),
            ) {
                let net = net.parse::<ipnet::Ipv4Net>().map_err(|e| TestCaseError::fail(e.to_string()))?;
                let ip = Ipv4Addr::from(
                    u32::from(net.network()) | (host_bits & u32::from(net.hostmask())),
                );
                for host in spellings(ip) {
                    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                    let userinfo = userinfo.clone().unwrap_or_default();
                    let text = format!("https://{userinfo}{host}{port}/x?y=1");
                    let Ok(url) = Url::parse(&text) else { continue };
                    prop_assert!(policy().check_url(&url).is_err(), "{} got through", text);
                }
            }

            /// Whatever is typed as a URL, the check answers without panicking, and
            /// what it lets through is http(s) with a host.
            #[test]
            fn prop_any_typed_url_is_judged_without_panicking(text in "\\PC{0,200}|(https?|ftp|file|gopher)://[\\x21-\\x7e]{0,60}") {
                if let Ok(url) = Url::parse(&text)
                    && policy().check_url(&url).is_ok()
                {
                    prop_assert!(matches!(url.scheme(), "http" | "https"));
                    prop_assert!(url.host().is_some());
                }
            }
        }
    }
}
