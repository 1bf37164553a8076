//! Opt-in compatibility profiles (`compat_profiles`): the calls that the
//! manuals of the products Keyward replaces print, answered in their own
//! shapes, so a team's existing scripts keep working. Each is off by
//! default and exists (routes and OpenAPI) only when enabled; each is built
//! on the same services as Keyward's own API — no rule is implemented twice.
//!
//! - `circularo`: `POST /api/v1/login {name, password, returnToken}`,
//!   `GET /api/v1/api/key?token=…`, `DELETE /api/v1/api/key/{id}?token=…`,
//!   `GET /api/v1/logout?token=…` (a session in the query string).
//! - `apinizer`: `client_credentials` at `/oauth/token` (and its own path
//!   `/apiops/auth/token`) with a username and password as `client_id` and
//!   `client_secret`.

pub mod apinizer;
pub mod circularo;

use std::str::FromStr;

/// Which profiles are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Profiles {
    pub circularo: bool,
    pub apinizer: bool,
}

impl Profiles {
    /// The names every profile answers to.
    pub const NAMES: [&'static str; 2] = ["circularo", "apinizer"];

    /// Parses a list of profile names; an unknown one is an error naming it.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut profiles = Profiles::default();
        for name in names {
            match name.trim() {
                "circularo" => profiles.circularo = true,
                "apinizer" => profiles.apinizer = true,
                other => {
                    return Err(format!(
                        "unknown compatibility profile {other:?}; known: {}",
                        Self::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(profiles)
    }
}

impl FromStr for Profiles {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        Profiles::parse(list.split(',').filter(|s| !s.trim().is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_unknown_names_are_errors() {
        assert_eq!("".parse::<Profiles>().unwrap(), Profiles::default());
        let both: Profiles = "circularo, apinizer".parse().unwrap();
        assert!(both.circularo && both.apinizer);
        let err = "circularo,plenigo".parse::<Profiles>().unwrap_err();
        assert!(err.contains("plenigo"), "{err}");
    }
}
