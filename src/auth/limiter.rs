//! Failed sign-ins, counted per key in fixed windows: past the bound, a
//! key is refused (429) without verifying anything until its window ends.
//! Keys are a name with a client (one guesser at one account), a client
//! (one guesser at many accounts) and a name (many clients at one
//! account): each kind has its own bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long failures count.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures of one client (any names) within a window, per failure allowed
/// for one name from one client (`--sign-in-failures`).
const PER_CLIENT_TIMES: u32 = 4;
/// Failures of one name (any clients) within a window, likewise.
const PER_NAME_TIMES: u32 = 10;
/// Keys remembered at most.
const CAPACITY: usize = 65_536;

pub struct Attempts {
    /// Failures of one name from one client within a window.
    per_name_and_client: u32,
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl Attempts {
    /// Refuses a name from a client after `per_name_and_client` failures
    /// within a window (4 times as many from a client, 10 times for a name).
    pub fn new(per_name_and_client: u32) -> Self {
        Attempts {
            per_name_and_client: per_name_and_client.max(1),
            windows: Mutex::default(),
        }
    }

    fn keys(&self, name: &str, client: &str) -> [(String, u32); 3] {
        let bound = self.per_name_and_client;
        [
            (format!("n\0{name}\0{client}"), bound),
            (
                format!("c\0{client}"),
                bound.saturating_mul(PER_CLIENT_TIMES),
            ),
            (format!("n\0{name}"), bound.saturating_mul(PER_NAME_TIMES)),
        ]
    }

    /// When `name` from `client` must stop trying: how long until it may
    /// try again, or `None` when it may now.
    pub fn refused(&self, name: &str, client: &str) -> Option<Duration> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        self.keys(name, client)
            .iter()
            .filter_map(|(key, bound)| {
                let window = windows.get(key)?;
                let ends = window.started + WINDOW;
                (window.failures >= *bound && now < ends).then(|| ends - now)
            })
            .max()
    }

    pub fn failed(&self, name: &str, client: &str) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= CAPACITY {
            windows.retain(|_, w| now < w.started + WINDOW);
            if windows.len() >= CAPACITY {
                // Flooded with live keys: forget them rather than grow.
                windows.clear();
            }
        }
        for (key, _) in self.keys(name, client) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now >= window.started + WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }

    /// A success clears the failures of that name from that client.
    pub fn succeeded(&self, name: &str, client: &str) {
        let [(key, _), ..] = self.keys(name, client);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fifth_failure_refuses_that_name_from_that_client() {
        let attempts = super::Attempts::new(5);
        for _ in 0..4 {
            attempts.failed("ann", "1.2.3.4");
        }
        assert!(attempts.refused("ann", "1.2.3.4").is_none());
        attempts.failed("ann", "1.2.3.4");
        let wait = attempts.refused("ann", "1.2.3.4").unwrap();
        assert!(wait <= super::WINDOW && wait > super::WINDOW / 2);
        assert!(attempts.refused("ann", "5.6.7.8").is_none());
        assert!(attempts.refused("bob", "1.2.3.4").is_none());
        attempts.succeeded("ann", "1.2.3.4");
        assert!(attempts.refused("ann", "1.2.3.4").is_none());
    }
}
