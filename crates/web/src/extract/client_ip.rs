//! The client's address: the connection's peer, unless the peer is one of
//! the `trusted_proxies`; then the address the proxies report in
//! `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For`, read from the
//! right: the right-most address that is not a trusted proxy is the client
//! (the ones further left were written by the client itself and prove
//! nothing). Used for `lastUsedIp`, audit records and throttles.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The client's IP address, when the connection has one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer.map(|peer| {
            client_ip(peer, &parts.headers, &state.trusted_proxies)
        })))
    }
}

/// Parses a list of CIDR blocks (or single addresses), comma-separated or
/// given one by one; the error names the bad entry.
pub fn parse_cidrs<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Vec<IpNet>, String> {
    entries
        .into_iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("{entry:?} is not an IP address or CIDR block"))
        })
        .collect()
}

/// The client behind `peer`, per the module's rule.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain = forwarded_chain(headers);
    // Right to left: the first address no trusted proxy could have added.
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return *ip,
            // An unreadable hop ("unknown", garbage): nothing to its left
            // can be believed; the last trusted proxy is what we know.
            None => break,
        }
    }
    chain
        .iter()
        .rev()
        .take_while(|hop| hop.is_some())
        .last()
        .and_then(|hop| *hop)
        .unwrap_or(peer)
}

/// The addresses the proxies reported, left to right: from every
/// `Forwarded` header's `for=` if there is one, else from every
/// `X-Forwarded-For`. `None` for a hop that names no address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| node_ip(v.trim()))
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|v| node_ip(v))
        .collect()
}

/// An address of a `Forwarded` node or an `X-Forwarded-For` entry:
/// `192.0.2.1`, `192.0.2.1:443`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    let inner = node.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let trusted = parse_cidrs(["10.0.0.0/8"]).unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_address_wins() {
        let trusted = parse_cidrs(["10.0.0.0/8", "192.168.1.1"]).unwrap();
        // The client forged 6.6.6.6; proxy 192.168.1.1 saw 198.51.100.7.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 192.168.1.1")]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("198.51.100.7"));
        let h = headers(&[
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
            ),
            ("forwarded", "for=10.9.9.9"),
        ]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("2001:db8::7"));
        // Every hop trusted: the left-most is all we know.
        let h = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.0.0.5"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        // Garbage stops the walk at the last believable hop.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, unknown, 10.0.0.9")]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.0.0.9"));
    }

    #[test]
    fn cidr_lists_parse_and_name_bad_entries() {
        let nets = parse_cidrs(["10.0.0.0/8, ::1", "fd00::/8"]).unwrap();
        assert_eq!(nets.len(), 3);
        assert!(
            parse_cidrs(["10.0.0.0/33"])
                .unwrap_err()
                .contains("10.0.0.0/33")
        );
        assert!(parse_cidrs(["nope"]).is_err());
        assert_eq!(
            parse_cidrs(["10.1.2.3/8"]).unwrap()[0].to_string(),
            "10.0.0.0/8"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any CIDR list text parses or is refused without panicking;
            /// parsed networks print back as what they contain.
            #[test]
            fn cidr_lists_are_safe(text in "[0-9a-f.:/, ]{0,60}") {
                if let Ok(nets) = parse_cidrs([text.as_str()]) {
                    for net in nets {
                        prop_assert_eq!(net.to_string().parse::<IpNet>().unwrap(), net);
                    }
                }
            }

            /// Whatever the forwarding headers say, the answer is the peer
            /// unless it is trusted, and never a trusted proxy when an
            /// untrusted hop is named to its right.
            #[test]
            fn forwarded_headers_never_outrank_an_untrusted_peer(
                xff in "[ -~]{0,80}",
                forwarded in "[ -~]{0,80}",
                peer in any::<[u8; 4]>(),
            ) {
                let mut h = HeaderMap::new();
                for (name, value) in [("x-forwarded-for", &xff), ("forwarded", &forwarded)] {
                    if let Ok(v) = HeaderValue::from_str(value) {
                        h.insert(name, v);
                    }
                }
                let trusted = parse_cidrs(["10.0.0.0/8"]).unwrap();
                let peer = IpAddr::from(peer);
                let found = client_ip(peer, &h, &trusted);
                if !trusted[0].contains(&peer) {
                    prop_assert_eq!(found, peer);
                }
            }
        }
    }
}
