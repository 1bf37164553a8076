//! Small checks shared by the domain's `parse` constructors. Each failure is an
//! [`Error::InvalidArgument`] that names the field.

use crate::error::{Error, Result};

/// A trimmed, non-blank string of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    optional_text(field, value, max)
}

/// A string of at most `max` characters, trimmed, with no control characters.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// An absolute `http`/`https` URL with a host and no credentials or fragment.
pub fn http_url(field: &str, value: &str) -> Result<url::Url> {
    if value.len() > 2000 {
        return Err(Error::invalid(field, "must be at most 2000 characters"));
    }
    let url = url::Url::parse(value)
        .map_err(|e| Error::invalid(field, format!("not a valid URL: {e}")))?;
    // The parser forgives `https:///x` and `https:x` (reading `x` as the
    // host); as written they have no authority, and URIs are compared as
    // written, so they are refused.
    let authority = value
        .get(url.scheme().len()..)
        .and_then(|rest| rest.strip_prefix("://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !authority {
        return Err(Error::invalid(
            field,
            "must be an absolute http or https URL",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(field, "must not contain credentials"));
    }
    if url.fragment().is_some() {
        return Err(Error::invalid(field, "must not contain a fragment"));
    }
    Ok(url)
}

/// A redirect URI as registered: absolute, `https`, or `http` only on a
/// loopback host (native apps); no fragment, no credentials. The string is
/// kept exactly as given, since redirect URIs are compared by exact string.
pub fn redirect_uri(field: &str, value: &str) -> Result<String> {
    let url = http_url(field, value)?;
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(Error::invalid(
            field,
            "must use https (http only on a loopback address)",
        ));
    }
    Ok(value.to_owned())
}

/// A webhook callback URL: absolute, `https`, or `http` only on a loopback
/// host; no fragment, no credentials.
pub fn callback_url(field: &str, value: &str) -> Result<url::Url> {
    let url = http_url(field, value)?;
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(Error::invalid(
            field,
            "must use https (http only on a loopback address)",
        ));
    }
    Ok(url)
}

/// Whether a URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A plausible e-mail address: one `@`, something on each side, no spaces.
pub fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let ok = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(field, "must be an e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_are_counted_in_characters() {
        assert!(required_text("name", &"é".repeat(100), 100).is_ok());
        let err = required_text("name", &"é".repeat(101), 100).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { field, .. } if field == "name"));
        assert!(required_text("name", "   ", 100).is_err());
        assert!(optional_text("description", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(http_url("u", "https://example.com/cb").is_ok());
        for bad in [
            "ftp://x.y/",
            "/relative",
            "https://u:p@x.y/",
            "https://x.y/#f",
            "nonsense",
            "https:///cb",
            "https:cb",
        ] {
            assert!(http_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        assert!(redirect_uri("r", "https://app.example/cb?x=1").is_ok());
        assert!(redirect_uri("r", "http://127.0.0.1:8000/cb").is_ok());
        assert!(redirect_uri("r", "http://[::1]/cb").is_ok());
        assert!(redirect_uri("r", "http://localhost:3000/cb").is_ok());
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "app://cb",
            "/cb",
        ] {
            assert!(redirect_uri("r", bad).is_err(), "{bad}");
        }
        assert_eq!(
            redirect_uri("r", "https://A.example").unwrap(),
            "https://A.example"
        );
    }

    #[test]
    fn emails() {
        assert!(email("m", "ops@example.com").is_ok());
        for bad in ["ops", "@example.com", "ops@", "a b@c.d", "ops@localhost"] {
            assert!(email("m", bad).is_err(), "{bad}");
        }
    }
}
