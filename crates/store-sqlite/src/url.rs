//! Turning a `KEYWARD_DATABASE_URL` of the SQLite kind into the path of the
//! database file.

use std::path::PathBuf;

/// The database file a SQLite URL names.
///
/// Accepted forms (SPEC §7), the scheme compared case-insensitively:
/// - `sqlite:///abs/path.db`: an absolute path;
/// - `sqlite://relative.db` or `sqlite://dir/relative.db`: relative to the
///   working directory (the part after `//` is a path, not a host);
/// - `sqlite:relative.db` (and `sqlite:/abs/path.db`).
///
/// The rest of the URL is taken literally: no percent-decoding and no `~`
/// expansion. Query strings (`?mode=…`), fragments, in-memory databases and
/// paths naming a directory are refused, as is any other scheme, each with a
/// message saying what is wrong. A relative path is returned as given, so
/// the parent of a bare file name is the empty path (the working directory).
pub fn database_path(url: &str) -> Result<PathBuf, String> {
    let url = url.trim();
    let rest = url
        .get(.."sqlite:".len())
        .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite:"))
        .map(|_| &url["sqlite:".len()..])
        .ok_or_else(|| {
            format!(
                "{url:?} is not a SQLite URL; expected sqlite:///absolute/path.db or \
                 sqlite://relative/path.db"
            )
        })?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(format!("{url:?} names no database file"));
    }
    if path.contains('?') || path.contains('#') {
        return Err(format!(
            "{url:?}: query parameters and fragments are not supported in a SQLite URL; \
             Keyward sets the connection options itself"
        ));
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(format!(
            "{url:?}: Keyward needs a database file; in-memory and `file:` URIs are not supported"
        ));
    }
    if path.ends_with('/')
        || path.ends_with("/.")
        || path.ends_with("/..")
        || path == "."
        || path == ".."
    {
        return Err(format!("{url:?} names a directory, not a database file"));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> PathBuf {
        database_path(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn absolute_paths() {
        assert_eq!(
            ok("sqlite:///var/lib/keyward/keyward.db"),
            PathBuf::from("/var/lib/keyward/keyward.db")
        );
        assert_eq!(ok("sqlite:/srv/k.db"), PathBuf::from("/srv/k.db"));
        assert!(ok("sqlite:///x.db").is_absolute());
    }

    #[test]
    fn relative_paths() {
        assert_eq!(ok("sqlite://keyward.db"), PathBuf::from("keyward.db"));
        assert_eq!(
            ok("sqlite://data/keyward.db"),
            PathBuf::from("data/keyward.db")
        );
        assert_eq!(ok("sqlite:keyward.db"), PathBuf::from("keyward.db"));
        assert_eq!(ok("sqlite:./data/k.db"), PathBuf::from("./data/k.db"));
        assert!(!ok("sqlite://keyward.db").is_absolute());
    }

    #[test]
    fn scheme_is_case_insensitive_and_whitespace_is_trimmed() {
        assert_eq!(ok("SQLite://k.db"), PathBuf::from("k.db"));
        assert_eq!(ok("  sqlite:///k.db\n"), PathBuf::from("/k.db"));
    }

    #[test]
    fn the_parent_of_a_bare_file_name_is_the_working_directory() {
        let path = ok("sqlite://k.db");
        assert_eq!(path.parent(), Some(std::path::Path::new("")));
    }

    #[test]
    fn refuses_other_schemes_and_odd_forms() {
        for bad in [
            "",
            "postgres://user@localhost/keyward",
            "mysql://x",
            "keyward.db",
            "/abs/keyward.db",
            "sqlite",
            "sqlite:",
            "sqlite://",
            "sqlite:///",
            "sqlite://data/",
            "sqlite://.",
            "sqlite://data/..",
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://k.db?mode=rwc",
            "sqlite://k.db#x",
            "sqlite:file:k.db",
            "sqlitex://k.db",
        ] {
            let err = database_path(bad).expect_err(bad);
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(
            database_path("postgres://h/db")
                .unwrap_err()
                .contains("not a SQLite URL")
        );
        assert!(
            database_path("sqlite::memory:")
                .unwrap_err()
                .contains("in-memory")
        );
        assert!(
            database_path("sqlite://k.db?mode=ro")
                .unwrap_err()
                .contains("query")
        );
        assert!(
            database_path("sqlite://")
                .unwrap_err()
                .contains("no database file")
        );
    }
}
