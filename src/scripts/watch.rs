//! Knows whether anything under the scripts root changed without a `stat`
//! (and its path walk) per file per request: inotify watches every folder
//! of the tree, and any event moves the tree to a new generation. Whatever
//! was checked in the current generation is still as it was. Each worker
//! thread has its own watch, so workers never wait for each other; its
//! doorbell (`doorbell.rs`) says when there are events to read, so a request
//! with nothing new costs no system call (without it: one `read`).
//!
//! inotify cannot see everything (changes made on another machine of a
//! network filesystem, writes through a hard link outside the tree), so
//! callers still look at the disk at least once a second: a change is seen
//! by the next request, or within a second where the kernel cannot tell.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use super::doorbell::Doorbell;

/// How long something looked up on disk is trusted without looking again,
/// even when the watch saw nothing (it cannot see every change).
const RECHECK: Duration = Duration::from_secs(1);

/// The scripts folder as seen at one moment: its generation (`None` when
/// it is not watched) and the time.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    generation: Option<u64>,
    at: Instant,
}

impl Moment {
    /// Whether what was looked up at `self` still holds at `now`: the tree
    /// is watched, nothing changed since, and it was not long ago.
    pub fn still_holds_at(&self, now: Moment) -> bool {
        self.generation.is_some()
            && self.generation == now.generation
            && now.at.saturating_duration_since(self.at) < RECHECK
    }
}

pub struct TreeWatch {
    watched: RefCell<Watched>,
    doorbell: Option<Doorbell>,
    generation: Cell<u64>,
    /// Watching failed (inotify missing, or its watch limit reached).
    blind: Cell<bool>,
}

struct Watched {
    inotify: Inotify,
    folders: HashMap<WatchDescriptor, PathBuf>,
    /// Kept: zeroing a fresh one would cost more than the read.
    buffer: Box<[u8]>,
}

const MASK: WatchMask = WatchMask::MODIFY
    .union(WatchMask::ATTRIB)
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::CREATE)
    .union(WatchMask::DELETE)
    .union(WatchMask::MOVE)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::DONT_FOLLOW)
    .union(WatchMask::ONLYDIR);

impl TreeWatch {
    /// Watches `root` and every folder below it. `None` when the kernel
    /// cannot: then every request checks its files on disk.
    pub fn new(root: &Path) -> Option<TreeWatch> {
        let inotify = Inotify::init()
            .map_err(|err| tracing::warn!("cannot watch the scripts folder ({err}): every request checks its script on disk"))
            .ok()?;
        let mut watched = Watched {
            inotify,
            folders: HashMap::new(),
            buffer: vec![0; 4096].into(),
        };
        watched.add_tree(root).ok()?;
        Some(TreeWatch {
            doorbell: Doorbell::arm(watched.inotify.as_raw_fd()),
            watched: RefCell::new(watched),
            generation: Cell::new(0),
            blind: Cell::new(false),
        })
    }

    /// The tree now (`at` is the caller's clock reading).
    pub fn moment(watch: Option<&TreeWatch>, at: Instant) -> Moment {
        Moment {
            generation: watch.and_then(TreeWatch::generation),
            at,
        }
    }

    /// The current generation, or `None` when changes can no longer be seen.
    fn generation(&self) -> Option<u64> {
        if self.blind.get() {
            return None;
        }
        if self.doorbell.as_ref().is_some_and(|bell| !bell.rang()) {
            return Some(self.generation.get());
        }
        let mut guard = self.watched.borrow_mut();
        let watched = &mut *guard;
        let mut created = Vec::new();
        loop {
            match watched.inotify.read_events(&mut watched.buffer) {
                Ok(events) => {
                    self.generation.set(self.generation.get() + 1);
                    for event in events {
                        if event.mask.contains(EventMask::Q_OVERFLOW) {
                            // Events were lost: a new folder may be unwatched.
                            created.push(PathBuf::new());
                        } else if event.mask.contains(EventMask::ISDIR)
                            && event
                                .mask
                                .intersects(EventMask::CREATE | EventMask::MOVED_TO)
                        {
                            created.extend(path_of(&watched.folders, &event.wd, event.name));
                        } else if event.mask.contains(EventMask::IGNORED) {
                            watched.folders.remove(&event.wd);
                        }
                    }
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) => {
                    self.go_blind(&err);
                    return None;
                }
            }
        }
        for folder in created {
            let result = if folder.as_os_str().is_empty() {
                watched.rewatch_all()
            } else {
                watched.add_tree(&folder)
            };
            if let Err(err) = result {
                self.go_blind(&err);
                return None;
            }
        }
        Some(self.generation.get())
    }

    fn go_blind(&self, err: &std::io::Error) {
        if !self.blind.replace(true) {
            tracing::warn!("stopped watching the scripts folder ({err}): every request checks its script on disk");
        }
    }
}

fn path_of(
    folders: &HashMap<WatchDescriptor, PathBuf>,
    folder: &WatchDescriptor,
    name: Option<&OsStr>,
) -> Option<PathBuf> {
    Some(folders.get(folder)?.join(name?))
}

impl Watched {
    /// Watches `folder` and the folders below it (not through symlinks:
    /// what they lead to is either in the tree already or never served).
    fn add_tree(&mut self, folder: &Path) -> std::io::Result<()> {
        match self.inotify.watches().add(folder, MASK) {
            Ok(wd) => {
                self.folders.insert(wd, folder.to_path_buf());
            }
            // Gone again already, or not a folder: nothing to watch.
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(())
            }
            Err(err) => return Err(err),
        }
        // Listed after the watch is in place, so nothing created meanwhile is missed.
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.add_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    fn rewatch_all(&mut self) -> std::io::Result<()> {
        let roots: Vec<PathBuf> = self.folders.values().cloned().collect();
        for folder in roots {
            self.add_tree(&folder)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_in_the_tree_moves_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("a")).unwrap();
        let watch = TreeWatch::new(&root).expect("inotify works here");
        assert!(watch.doorbell.is_some(), "changes ring the doorbell here");
        let start = watch.generation().unwrap();
        assert_eq!(watch.generation(), Some(start), "nothing happened");

        std::fs::write(root.join("a/x.js"), "1").unwrap();
        let after_create = watch.generation().unwrap();
        assert!(after_create > start);

        // A folder made after the start is watched too, and so is what is
        // created in it right away.
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        let after_folders = watch.generation().unwrap();
        assert!(after_folders > after_create);
        std::fs::write(root.join("b/c/y.js"), "2").unwrap();
        assert!(watch.generation().unwrap() > after_folders);
    }
}
