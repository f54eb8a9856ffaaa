//! A real Chromium, driven over WebDriver by Debian's chromedriver. The
//! protocol is a few JSON requests; reqwest (already here) speaks them, where
//! a WebDriver crate would switch on hyper's client features for the tests
//! and split the build the tests share with the binary.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

impl Browser {
    /// Headless Chromium (`chromium` and `chromium-driver` from Debian; the
    /// README's test command installs them).
    pub fn start() -> Browser {
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian: apt install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let began = Instant::now();
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        let created = browser.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                }
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if self.session.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let reply: Value = request.send().unwrap().json().unwrap();
        if let Some(error) = reply["value"].get("error") {
            panic!("WebDriver {path}: {error} {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    pub fn back(&self) {
        self.call("POST", "/back", json!({}));
    }

    /// Waits (up to 10 s) for a complete page at a URL ending with `end`,
    /// other than the one `submit` left.
    pub fn wait_for_url(&self, end: &str) -> String {
        let began = Instant::now();
        loop {
            let url = self.url();
            let ready = self.eval(
                "return window.blimpOldPage === undefined && document.readyState === 'complete'",
            ) == true;
            if url.ends_with(end) && ready {
                return url;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "still at {url}, not a new page at …{end}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks what submits a form and waits for the page that answers: a
    /// click returns before it is there, and a form that posts to its own
    /// URL leaves a complete old page at that URL meanwhile.
    pub fn submit(&self, css: &str, end: &str) -> String {
        self.eval("window.blimpOldPage = true; return null");
        self.click(css);
        self.wait_for_url(end)
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        let body = self.find("body");
        self.call("GET", &format!("/element/{body}/text"), Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The element `css` selects (its WebDriver id).
    pub fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), json!({}));
    }

    /// Evaluates `script` in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
