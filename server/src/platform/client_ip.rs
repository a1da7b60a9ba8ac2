//! The client's address, for the limits keyed on it (the guest portal's guessing
//! limit). It is the peer's address, unless the peer is a reverse proxy the operator
//! trusts (`HITCH_TRUSTED_PROXIES`): then it is the address that proxy says it
//! forwarded for. Without that setting `X-Forwarded-For` is ignored, since anyone can
//! send one.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The request's client address, set by [`resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The address `resolve` found for this request, if it ran.
    pub fn of(parts: &http::request::Parts) -> Option<IpAddr> {
        parts.extensions.get::<ClientIp>().map(|c| c.0)
    }
}

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(Arc::new(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values in the order they
    /// came. Read from the right: each trusted proxy appended the address it received
    /// from, so hops are skipped while they are trusted proxies, and the first one that
    /// is not is the client. Entries further left were written by the client itself
    /// and prove nothing. An entry that is not an address ends the walk at the proxy
    /// that passed it on.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]`, `203.0.113.7:4711`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

/// Middleware: works out the [`ClientIp`] once for everything after it.
pub async fn resolve(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let ip = trusted.client(peer, forwarded);
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::outbound::parse_networks;

    fn trusting(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(parse_networks(&nets.join(",")).expect("networks"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let got = none.client(ip("198.51.100.9"), ["203.0.113.7"].into_iter());
        assert_eq!(got, ip("198.51.100.9"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let t = trusting(&["127.0.0.0/8"]);
        let got = t.client(ip("198.51.100.9"), ["203.0.113.7"].into_iter());
        assert_eq!(got, ip("198.51.100.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_address_counts() {
        let t = trusting(&["127.0.0.1"]);
        let got = t.client(ip("127.0.0.1"), ["203.0.113.7"].into_iter());
        assert_eq!(got, ip("203.0.113.7"));
    }

    #[test]
    fn what_the_client_wrote_left_of_the_proxies_is_not_believed() {
        // The guest sent "X-Forwarded-For: 1.2.3.4"; the CDN (10.0.0.5) appended the
        // guest's real address, and the local proxy appended the CDN's.
        let t = trusting(&["127.0.0.0/8", "10.0.0.0/8"]);
        let got = t.client(
            ip("127.0.0.1"),
            ["1.2.3.4, 203.0.113.7", "10.0.0.5"].into_iter(),
        );
        assert_eq!(got, ip("203.0.113.7"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let t = trusting(&["127.0.0.1", "::1"]);
        assert_eq!(
            t.client(ip("::ffff:127.0.0.1"), ["203.0.113.7:4711"].into_iter()),
            ip("203.0.113.7")
        );
        assert_eq!(
            t.client(ip("::1"), ["[2001:db8::1]:4711"].into_iter()),
            ip("2001:db8::1")
        );
        assert_eq!(
            t.client(ip("::1"), [" [2001:db8::2] "].into_iter()),
            ip("2001:db8::2")
        );
    }

    #[test]
    fn a_garbled_or_missing_header_leaves_the_proxy_as_the_client() {
        let t = trusting(&["127.0.0.1"]);
        assert_eq!(
            t.client(ip("127.0.0.1"), ["unknown"].into_iter()),
            ip("127.0.0.1")
        );
        assert_eq!(
            t.client(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }
}
