//! Who holds a lock in a store shared by processes: a token that names
//! this machine's boot, this process and its start time, then randomness.
//! A lock whose holder ran on this machine since its last boot, and whose
//! process is gone (or its pid now belongs to another process, started
//! later), is broken at once instead of waiting out its lease.

use std::sync::OnceLock;

/// This process, as `boot:pid:start`.
fn me() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        format!("{}:{pid}:{}", boot_id(), start_time(pid).unwrap_or(0))
    })
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().replace(':', ""))
        .unwrap_or_default()
}

/// When a process started, in clock ticks since boot (`/proc/PID/stat`,
/// field 22); `None` when there is no such process.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past
    // its closing one.
    let fields = stat.rsplit_once(')')?.1;
    fields.split_whitespace().nth(19)?.parse().ok()
}

/// A new lock token of this process.
pub fn token() -> String {
    format!("{}:{}", me(), uuid::Uuid::new_v4().simple())
}

/// Whether the process that made `token` is certainly gone: it ran on this
/// machine since its last boot, and its pid is free or belongs to a
/// process that started at another time. Tokens of other machines (or of
/// other forms) are never judged dead.
pub fn is_dead(token: &str) -> bool {
    let mut parts = token.split(':');
    let (Some(boot), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    if boot.is_empty() || boot != boot_id() {
        return false;
    }
    start_time(pid) != Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_a_live_process_is_alive_and_of_a_gone_one_dead() {
        let mine = token();
        assert!(!is_dead(&mine));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid);
        child.wait().unwrap();
        let theirs = format!("{}:{pid}:{}:x", boot_id(), start.unwrap_or(1));
        assert!(is_dead(&theirs), "{theirs}");
        let elsewhere = format!("another-boot:{pid}:1:x");
        assert!(!is_dead(&elsewhere));
        assert!(!is_dead("3f2a9c4e-uuid-only"));
    }
}
