//! OAuth parameters from a query string or an `application/x-www-form-urlencoded`
//! body: a parameter sent without a value counts as absent, and a repeated
//! one is an error (RFC 6749 §3.1, §3.2).

use std::collections::HashMap;

/// Parsed parameters, or the name of the first one that was repeated.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    pub repeated: Option<String>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        let mut params = Params::default();
        for (key, value) in form_urlencoded::parse(raw) {
            if value.is_empty() {
                continue;
            }
            if params
                .values
                .insert(key.to_string(), value.into_owned())
                .is_some()
                && params.repeated.is_none()
            {
                params.repeated = Some(key.into_owned());
            }
        }
        params
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn take(&mut self, key: &str) -> Option<String> {
        self.values.remove(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_repeats_are_noticed() {
        let p = Params::parse(b"a=1&b=&c=x%20y&a=2");
        assert_eq!(p.repeated.as_deref(), Some("a"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(Params::parse(b"scope=a+b").repeated.is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any body parses without panicking; a parameter that appears
            /// twice with values is reported as repeated, and empty values
            /// count as absent.
            #[test]
            fn any_body_parses(raw in proptest::collection::vec(any::<u8>(), 0..200), name in "[a-z_]{1,10}", a in "[a-z0-9]{1,5}", b in "[a-z0-9]{1,5}") {
                let _ = Params::parse(&raw);
                let twice = format!("{name}={a}&{name}={b}");
                prop_assert_eq!(Params::parse(twice.as_bytes()).repeated, Some(name.clone()));
                let empty = format!("{name}=");
                prop_assert!(Params::parse(empty.as_bytes()).get(&name).is_none());
            }
        }
    }
}
