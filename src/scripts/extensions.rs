//! Dirigible's extension points and extensions, as projects ship them:
//! `*.extensionpoint` files (`{"name": "...", "description": "..."}`) and
//! `*.extension` files (`{"extensionPoint": "...", "module": "...", ...}`)
//! anywhere in the scripts folder. They are read when a script asks, and
//! read again once the folder has changed (the worker's watch moves to a
//! new generation on any change) or a second has passed, as scripts are:
//! a file added, edited or deleted counts from the next request on.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

use super::router::{Route, Stamp};
use super::watch::Moment;

/// What the files declare, in the order of their paths.
#[derive(Debug, Default)]
pub struct Registrations {
    /// `(extension point, module)` of each `*.extension`.
    pub extensions: Vec<(String, String)>,
    /// The `name` of each `*.extensionpoint`, once each.
    pub points: Vec<String>,
}

impl Registrations {
    /// The modules registered for `point`.
    pub fn modules_of(&self, point: &str) -> Vec<String> {
        self.extensions
            .iter()
            .filter(|(p, _)| p == point)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

struct Known {
    root: PathBuf,
    moment: Moment,
    registrations: Rc<Registrations>,
}

thread_local! {
    /// Per worker thread, as its watch's generations are.
    static KNOWN: RefCell<Option<Known>> = const { RefCell::new(None) };
}

/// Entries a scan looks at, at most (a huge tree is not walked whole).
const MAX_ENTRIES: usize = 200_000;
/// Folders deep, at most.
const MAX_DEPTH: usize = 32;
/// Larger declaration files are skipped (with a warning).
const MAX_FILE: u64 = 1 << 20;

/// The registrations of the scripts folder `root` at moment `now`.
pub fn registrations(root: &Path, now: Moment) -> Rc<Registrations> {
    KNOWN.with_borrow_mut(|known| {
        if let Some(known) = known {
            if known.root == root && known.moment.still_holds_at(now) {
                return known.registrations.clone();
            }
        }
        let registrations = Rc::new(scan(root));
        *known = Some(Known {
            root: root.to_path_buf(),
            moment: now,
            registrations: registrations.clone(),
        });
        registrations
    })
}

/// The scripts folder a route's file lies in.
pub fn root_of(route: &Route) -> PathBuf {
    let depth = route.relative.split('/').count();
    route
        .file
        .ancestors()
        .nth(depth)
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}

fn scan(root: &Path) -> Registrations {
    let mut files = Vec::new();
    let mut budget = MAX_ENTRIES;
    walk(root, root, 0, &mut files, &mut budget);
    if budget == 0 {
        tracing::warn!(
            "extensions: stopped looking for *.extension files after {MAX_ENTRIES} entries of the scripts folder"
        );
    }
    files.sort();
    let mut registrations = Registrations::default();
    for (relative, file) in files {
        let Some(value) = read_json(&relative, &file) else {
            continue;
        };
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
        if relative.ends_with(".extensionpoint") {
            match field("name") {
                Some(name) if !registrations.points.contains(&name) => {
                    registrations.points.push(name)
                }
                Some(_) => {}
                None => warn_once(
                    &file,
                    &format!("{relative}: an extension point needs a \"name\""),
                ),
            }
        } else {
            match (field("extensionPoint"), field("module")) {
                (Some(point), Some(module)) => registrations.extensions.push((point, module)),
                _ => warn_once(
                    &file,
                    &format!("{relative}: an extension needs \"extensionPoint\" and \"module\""),
                ),
            }
        }
    }
    registrations
}

/// Collects `*.extension` and `*.extensionpoint` files below `folder`:
/// hidden folders and `node_modules` are skipped, symlinked folders not
/// followed, symlinked files only into the root.
fn walk(
    root: &Path,
    folder: &Path,
    depth: usize,
    files: &mut Vec<(String, PathBuf)>,
    budget: &mut usize,
) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &path, depth + 1, files, budget);
            }
            continue;
        }
        if !(name.ends_with(".extension") || name.ends_with(".extensionpoint")) {
            continue;
        }
        if kind.is_symlink()
            && !path
                .canonicalize()
                .is_ok_and(|target| target.starts_with(root) && target.is_file())
        {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        files.push((relative, path));
    }
}

fn read_json(relative: &str, file: &Path) -> Option<serde_json::Value> {
    let meta = std::fs::metadata(file).ok()?;
    if meta.len() > MAX_FILE {
        warn_once(file, &format!("{relative}: larger than 1 MiB, not read"));
        return None;
    }
    let text = std::fs::read(file).ok()?;
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Ok(value) if value.is_object() => Some(value),
        Ok(_) => {
            warn_once(file, &format!("{relative}: not a JSON object"));
            None
        }
        Err(e) => {
            warn_once(file, &format!("{relative}: not JSON ({e})"));
            None
        }
    }
}

/// Logs `message` once per version of `file` (all workers together).
fn warn_once(file: &Path, message: &str) {
    static WARNED: Mutex<Option<HashSet<(PathBuf, Stamp)>>> = Mutex::new(None);
    let Ok(meta) = std::fs::metadata(file) else {
        return;
    };
    let key = (file.to_path_buf(), Stamp::of(&meta));
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    let warned = warned.get_or_insert_with(HashSet::new);
    if warned.len() > 10_000 {
        warned.clear();
    }
    if warned.insert(key) {
        tracing::warn!("extensions: {}", crate::log_line::escape(message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declarations_of_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let write = |path: &str, text: &str| {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        };
        write(
            "crm/extensionpoints/menu.extensionpoint",
            r#"{"name": "menu", "description": "Menus"}"#,
        );
        write(
            "crm/extensions/b.extension",
            r#"{"extensionPoint": "menu", "module": "crm/ext/b"}"#,
        );
        write(
            "crm/extensions/a.extension",
            r#"{"extensionPoint": "menu", "module": "crm/ext/a.js", "description": "A"}"#,
        );
        write(
            "crm/extensions/other.extension",
            r#"{"extensionPoint": "other", "module": "crm/ext/o"}"#,
        );
        write("crm/extensions/broken.extension", "{not json");
        write("crm/extensions/partial.extension", r#"{"module": "x"}"#);
        write(
            ".git/hidden.extension",
            r#"{"extensionPoint": "menu", "module": "hidden"}"#,
        );
        write(
            "node_modules/dep/dep.extension",
            r#"{"extensionPoint": "menu", "module": "dep"}"#,
        );
        let found = scan(&root);
        assert_eq!(found.modules_of("menu"), ["crm/ext/a.js", "crm/ext/b"]);
        assert_eq!(found.modules_of("other"), ["crm/ext/o"]);
        assert!(found.modules_of("none").is_empty());
        assert_eq!(found.points, ["menu"]);
    }
}
