//! Driving the portal in a real browser: headless Chromium from Debian's
//! packages, through chromedriver (`/usr/bin/chromedriver`, started per
//! test on a free port), with `fantoccini`. Helpers find fields by their
//! visible labels and buttons by their names, as a person would.
//!
//! Browsers are heavy on a small machine: at most two tests drive them at
//! once (each test takes a [`slot`] first, however many browsers it opens).
//! Each browser has its own profile directory, by which its processes are
//! found and ended when it is dropped, even after a failed test.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::app::{PASSWORD, TestApp};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

static TESTS: Semaphore = Semaphore::const_new(2);

/// Waits for one of the two places of browser tests; hold it to the end.
pub async fn slot() -> SemaphorePermit<'static> {
    TESTS.acquire().await.expect("semaphore open")
}

/// One headless browser with its chromedriver.
pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    /// The browser's own profile; its path names the browser's processes.
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Ends the browser's processes (those whose command line names its
    /// profile) and its chromedriver.
    fn drop(&mut self) {
        let marker = self.profile.path().to_string_lossy().into_owned();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&marker) {
                    let _ = std::process::Command::new("kill")
                        .arg(pid.to_string())
                        .status();
                }
            }
        }
        let _ = self.driver.start_kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A new browser (its own profile: no cookies) for `app`.
    pub async fn start(app: &TestApp) -> Self {
        Self::start_at(&app.base).await
    }

    pub async fn start_at(base: &str) -> Self {
        let port = free_port();
        let profile = tempfile::tempdir().expect("a profile directory");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts (scripts/test installs chromium-driver)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [format!("--user-data-dir={}", profile.path().display()),
                         "--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--disable-extensions"]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        base: base.to_owned(),
                        driver,
                        profile,
                    };
                }
                Err(err) => {
                    last = Some(err);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not answer: {last:?}");
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("page loads");
    }

    /// The path (and query) the browser is at.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        path
    }

    /// The visible text of the page's main part.
    pub async fn text(&self) -> String {
        // A page still navigating (a redirect after a post) may swap its
        // body between the look-up and the read: read again.
        let mut last = None;
        for _ in 0..50 {
            match self.client.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(text) => return text,
                    Err(err) => last = Some(err),
                },
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page has no readable body: {last:?}");
    }

    /// Asserts the page's text contains `want`.
    pub async fn assert_text(&self, want: &str) {
        let text = self.text().await;
        assert!(
            text.contains(want),
            "page {} does not say {want:?}:\n{text}",
            self.path().await
        );
    }

    /// The field labelled `label` (by the label's `for`).
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space()={}]", xpath_text(label));
        let label_el = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("no label {label:?} on {}", self.text_path()));
        match label_el.attr("for").await.expect("attr") {
            Some(id) => self
                .client
                .find(Locator::Id(&id))
                .await
                .unwrap_or_else(|_| panic!("label {label:?} names no field")),
            // A label wrapping its box.
            None => label_el
                .find(Locator::Css("input"))
                .await
                .unwrap_or_else(|_| panic!("label {label:?} holds no field")),
        }
    }

    fn text_path(&self) -> &str {
        &self.base
    }

    /// Types `value` into the field labelled `label` (after clearing it).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Sets a date field labelled `label` to `yyyy-mm-dd`.
    pub async fn set_date(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        self.client
            .execute(
                "arguments[0].value = arguments[1];",
                vec![serde_json::to_value(&field).expect("element"), json!(value)],
            )
            .await
            .expect("set date");
    }

    /// Ticks the checkbox whose label says `label` (or contains it).
    pub async fn tick(&self, label: &str) {
        let xpath = format!(
            "//label[contains(normalize-space(), {})]//input[@type='checkbox']",
            xpath_text(label)
        );
        let boxed = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("no checkbox labelled {label:?}"));
        if !boxed.is_selected().await.expect("selected?") {
            boxed.click().await.expect("tick");
        }
    }

    /// Picks the option showing `text` of the select labelled `label`.
    pub async fn choose(&self, label: &str, text: &str) {
        let select = self.field(label).await;
        select.select_by_label(text).await.expect("option");
    }

    /// The button or link named `name`.
    pub async fn control(&self, name: &str) -> Element {
        let n = xpath_text(name);
        let xpath = format!("//button[normalize-space()={n}] | //a[normalize-space()={n}]");
        match self.client.find(Locator::XPath(&xpath)).await {
            Ok(el) => el,
            Err(_) => panic!(
                "no button or link {name:?} on {}:\n{}",
                self.path().await,
                self.text().await
            ),
        }
    }

    /// Whether a button or link named `name` is on the page.
    pub async fn has_control(&self, name: &str) -> bool {
        let n = xpath_text(name);
        let xpath = format!("//button[normalize-space()={n}] | //a[normalize-space()={n}]");
        !self
            .client
            .find_all(Locator::XPath(&xpath))
            .await
            .expect("find")
            .is_empty()
    }

    /// Clicks the button or link named `name`, and waits for the page it
    /// leads to (the old page's document is gone).
    pub async fn click(&self, name: &str) {
        let old = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a document");
        self.control(name).await.click().await.expect("click");
        for _ in 0..100 {
            if old.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {name:?} led nowhere");
    }

    /// Clicks a button that acts on the page itself (no navigation).
    pub async fn press(&self, name: &str) {
        self.control(name).await.click().await.expect("click");
    }

    /// Signs in on `/login` by the form's labels.
    pub async fn sign_in(&self, username: &str) {
        self.goto("/login").await;
        self.fill("Username", username).await;
        self.fill("Password", PASSWORD).await;
        self.click("Sign in").await;
        assert!(
            !self.path().await.starts_with("/login"),
            "signed in: {}",
            self.text().await
        );
    }

    /// The value of the field with id `id`.
    pub async fn value_of(&self, id: &str) -> String {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("no #{id}"))
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// Waits until the page says `want` (a script may still be at work).
    pub async fn wait_for_text(&self, want: &str) {
        for _ in 0..50 {
            if self.text().await.contains(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.assert_text(want).await;
    }

    /// Saves a PNG of the page to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }
}

/// `text` as an XPath string literal.
fn xpath_text(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}
