//! URL path → script file and path info. Every safety rule about which
//! files may be served lives here: nothing outside the scripts root, no
//! private (`_`/`.`) segments, no tricks with encodings or symlinks.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use percent_encoding::percent_decode_str;

use super::watch::{Moment, TreeWatch};

/// The script a request runs.
#[derive(Debug, Clone)]
pub struct Route {
    /// Canonical absolute path of the script file.
    pub file: PathBuf,
    /// The file relative to the scripts root, `/`-separated (`a/b.js`);
    /// shared with the watchdog, which reports it from another thread.
    pub relative: std::sync::Arc<str>,
    /// The URL path that names the script itself (`/a/b`).
    pub service_path: String,
    /// What follows the script's path (`/x/y`), if anything.
    pub path_info: Option<String>,
    /// Identity of the file's current version (the script cache compares it).
    pub stamp: Stamp,
    /// Found as its folder's index file.
    pub is_index: bool,
    /// A static file to send as it is, not a script to run.
    pub is_static: bool,
}

/// Which version of a file: changes whenever the file is edited or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    device: u64,
    inode: u64,
    modified_ns: i128,
    len: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            device: meta.dev(),
            inode: meta.ino(),
            modified_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            len: meta.len(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    BadRequest,
}

const PREFIXES: [&str; 2] = ["/services/v4/js", "/services/js"];
/// Dirigible's prefix of static content: files only, never scripts.
const WEB_PREFIX: &str = "/services/web";

/// Files of the scripts folder that are server code, configuration or
/// data: never sent as static files (the public folder has no such rule).
const NOT_STATIC: [&str; 11] = [
    "js",
    "mjs",
    "cjs",
    "ts",
    "json",
    "extension",
    "extensionpoint",
    "env",
    "db",
    "sqlite",
    "sqlite3",
];

/// Routes at most remembered per worker (then it starts afresh).
const REMEMBERED: usize = 10_000;
/// Longest path whose route is remembered.
const REMEMBERED_PATH: usize = 512;

/// The routes of one worker: each URL path is resolved once and served
/// from memory while the scripts folder is unchanged.
pub struct Router {
    /// Canonical.
    root: PathBuf,
    /// The public folder (canonical): files only, never scripts.
    public: Option<PathBuf>,
    watch: Option<TreeWatch>,
    routes: RefCell<foldhash::HashMap<String, Known>>,
}

struct Known {
    route: Rc<Route>,
    confirmed: Moment,
}

impl Router {
    /// `root` must be canonical. Where the tree cannot be watched, every
    /// request confirms its route on disk.
    pub fn new(root: PathBuf, public: Option<PathBuf>) -> Self {
        Router {
            watch: TreeWatch::new(&root),
            root,
            public,
            routes: RefCell::default(),
        }
    }

    /// The scripts folder now (`at` is the caller's clock reading).
    pub fn moment(&self, at: Instant) -> Moment {
        TreeWatch::moment(self.watch.as_ref(), at)
    }

    /// The script `raw_path` names at moment `now`.
    pub fn resolve(&self, raw_path: &str, now: Moment) -> Result<Rc<Route>, RouteError> {
        if let Some(known) = self.routes.borrow_mut().get_mut(raw_path) {
            if known.confirmed.still_holds_at(now) {
                return Ok(known.route.clone());
            }
            // A `.js` route without path info or index file is confirmed by
            // one stat of its file: nothing added elsewhere can take it over.
            let route = &known.route;
            if route.path_info.is_none()
                && !route.is_index
                && route.relative.ends_with(".js")
                && std::fs::metadata(&route.file).is_ok_and(|m| Stamp::of(&m) == route.stamp)
            {
                known.confirmed = now;
                return Ok(known.route.clone());
            }
        }
        let route = Rc::new(resolve_uncached(
            &self.root,
            self.public.as_deref(),
            raw_path,
        )?);
        if raw_path.len() > REMEMBERED_PATH {
            return Ok(route); // long paths (path info) would fill the memory
        }
        let mut routes = self.routes.borrow_mut();
        if routes.len() >= REMEMBERED {
            routes.clear();
        }
        let known = Known {
            route: route.clone(),
            confirmed: now,
        };
        routes.insert(raw_path.to_string(), known);
        Ok(route)
    }
}

/// A script, or a static file: a file of the scripts folder that is not
/// code at its exact path beats a shorter script's path info; a script
/// beats the public folder's file, except that file beats path info too;
/// `index.html` serves a folder without an index script.
fn resolve_uncached(
    root: &Path,
    public: Option<&Path>,
    raw_path: &str,
) -> Result<Route, RouteError> {
    if let Some(rest) = raw_path.strip_prefix(WEB_PREFIX) {
        if rest.is_empty() || rest.starts_with('/') {
            let segments = file_segments_of(rest.strip_prefix('/').unwrap_or(rest))?;
            return public
                .and_then(|public| static_file(public, public, &segments, true))
                .or_else(|| static_file(root, public.unwrap_or(root), &segments, false))
                .ok_or(RouteError::NotFound);
        }
    }
    let script = resolve_script(root, public, raw_path);
    if matches!(&script, Ok(route) if route.path_info.is_none()) {
        return script;
    }
    if matches!(script, Err(RouteError::BadRequest)) {
        return script;
    }
    let Ok(segments) = file_segments_of(raw_path.strip_prefix('/').unwrap_or(raw_path)) else {
        return script;
    };
    public
        .and_then(|public| static_file(public, public, &segments, true))
        .or_else(|| static_file(root, public.unwrap_or(root), &segments, false))
        .map_or(script, Ok)
}

/// The decoded segments of a path. A segment that decodes to a separator,
/// a backslash or a NUL, a dot segment (`.`, `..`) and an empty segment
/// but the last are refused anywhere; path info may hold anything else.
fn segments_of(rest: &str) -> Result<Vec<String>, RouteError> {
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        let segment = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| RouteError::BadRequest)?;
        if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
            return Err(RouteError::NotFound);
        }
        segments.push(segment.into_owned());
    }
    if segments.iter().rev().skip(1).any(String::is_empty) {
        return Err(RouteError::NotFound);
    }
    Ok(segments)
}

/// Segments that name files and folders: none of them private.
fn file_segments_of(rest: &str) -> Result<Vec<String>, RouteError> {
    let segments = segments_of(rest)?;
    if segments.iter().any(|s| names_private(s)) {
        return Err(RouteError::NotFound);
    }
    Ok(segments)
}

/// A name no URL reaches as a file or folder: `_private`, `.hidden`, and
/// `a:b` (not a portable file name).
fn names_private(segment: &str) -> bool {
    segment.starts_with('_') || segment.starts_with('.') || segment.contains(':')
}

/// The static file `segments` name under `base` (a folder: its
/// `index.html`). Under the scripts folder (`public` false), code is never
/// a static file and the public folder (`skip`) is not looked into.
fn static_file(base: &Path, skip: &Path, segments: &[String], public: bool) -> Option<Route> {
    let named: Vec<&str> = segments
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    let joined = named.join("/");
    let index = if joined.is_empty() {
        "index.html".to_string()
    } else {
        format!("{joined}/index.html")
    };
    [joined, index].into_iter().find_map(|relative| {
        let servable = public
            || !Path::new(&relative)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| NOT_STATIC.contains(&e.to_ascii_lowercase().as_str()));
        let (file, stamp) = inside(base, &relative).filter(|_| servable)?;
        if !public && base != skip && file.starts_with(skip) {
            return None;
        }
        Some(Route {
            file,
            relative: relative.into(),
            service_path: String::new(),
            path_info: None,
            stamp,
            is_index: false,
            is_static: true,
        })
    })
}

fn resolve_script(root: &Path, public: Option<&Path>, raw_path: &str) -> Result<Route, RouteError> {
    let (prefix, rest) = PREFIXES
        .iter()
        .find_map(|p| {
            let rest = raw_path.strip_prefix(p)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((*p, rest))
        })
        .unwrap_or(("", raw_path));
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let segments = segments_of(rest)?;
    let trailing_empty = segments.last().is_some_and(String::is_empty);
    let named = if trailing_empty {
        segments.len() - 1
    } else {
        segments.len()
    };

    // The script's own segments end before the first private one; path
    // info after it may hold any (`/events/2026-12-02T10:00Z`, `/users/_me`).
    let reachable = named.min(segments.iter().take_while(|s| !names_private(s)).count());
    // A script `a/b/c.js` needs the folders `a/b`: look no deeper than the
    // folders that exist (a path of 32,000 segments costs one `stat`), so
    // routing is linear in the length of the path.
    let mut folders = 0;
    let mut folder = root.to_path_buf();
    while folders < reachable {
        folder.push(&segments[folders]);
        if !folder.is_dir() {
            break;
        }
        folders += 1;
    }
    for k in (0..=reachable.min(folders + 1)).rev() {
        let dir = &segments[..k];
        let mut candidates: Vec<(String, bool)> = Vec::new();
        if k > 0 {
            let joined = dir.join("/");
            if joined.ends_with(".js") || joined.ends_with(".mjs") {
                candidates.push((joined, false));
            } else {
                candidates.push((format!("{joined}.js"), false));
                candidates.push((format!("{joined}.mjs"), false));
            }
        }
        if k == named {
            // A folder answers only its own path: `/dir` and `/dir/`.
            for index in ["index.js", "index.mjs"] {
                let path = dir
                    .iter()
                    .map(String::as_str)
                    .chain([index])
                    .collect::<Vec<_>>();
                candidates.push((path.join("/"), true));
            }
        }
        for (relative, is_index) in candidates {
            let found = inside(root, &relative);
            // The public folder's files are never run.
            let found = found.filter(|(file, _)| !public.is_some_and(|p| file.starts_with(p)));
            if let Some((file, stamp)) = found {
                let path_info = (k < segments.len() && !is_index)
                    .then(|| format!("/{}", segments[k..].join("/")));
                return Ok(Route {
                    file,
                    relative: relative.into(),
                    service_path: format!("{prefix}/{}", dir.join("/")),
                    path_info,
                    stamp,
                    is_index,
                    is_static: false,
                });
            }
        }
    }
    Err(RouteError::NotFound)
}

/// The canonical path of `relative` under `root` if it is a regular file
/// that really lies inside `root` and outside its private folders
/// (symlinks resolved: a link to `_private/x.js` is private too), with its
/// stamp.
pub fn inside(root: &Path, relative: &str) -> Option<(PathBuf, Stamp)> {
    let file = root.join(relative).canonicalize().ok()?;
    let reached = file.strip_prefix(root).ok()?;
    let private = reached.components().any(|part| {
        let name = part.as_os_str().as_encoded_bytes();
        name.starts_with(b"_") || name.starts_with(b".")
    });
    if private {
        return None;
    }
    let meta = std::fs::metadata(&file).ok()?;
    meta.is_file().then(|| (file, Stamp::of(&meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for file in [
            "index.js",
            "a/b.js",
            "a/c.mjs",
            "dir/index.js",
            "_lib/x.js",
            "ok.js",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        (dir, root)
    }

    fn route(root: &Path, path: &str) -> Result<(String, Option<String>), RouteError> {
        resolve_uncached(root, None, path).map(|r| (r.relative.to_string(), r.path_info))
    }

    #[test]
    fn maps_paths_to_scripts() {
        let (_dir, root) = tree();
        let ok = |p: &str, f: &str, info: Option<&str>| {
            assert_eq!(
                route(&root, p),
                Ok((f.to_string(), info.map(String::from))),
                "{p}"
            )
        };
        ok("/", "index.js", None);
        ok("/a/b", "a/b.js", None);
        ok("/a/b.js", "a/b.js", None);
        ok("/a/c", "a/c.mjs", None);
        ok("/a/b/x/y", "a/b.js", Some("/x/y"));
        ok("/dir", "dir/index.js", None);
        ok("/dir/", "dir/index.js", None);
        ok("/services/js/a/b", "a/b.js", None);
        ok("/services/v4/js/a/b/x", "a/b.js", Some("/x"));
        assert_eq!(route(&root, "/dir/deeper"), Err(RouteError::NotFound));
        assert_eq!(route(&root, "/nothing"), Err(RouteError::NotFound));
    }

    #[test]
    fn remembered_routes_follow_changes_with_or_without_a_watch() {
        for watched in [true, false] {
            let (_dir, root) = tree();
            let mut router = Router::new(root.clone(), None);
            if !watched {
                router.watch = None;
            }
            let at = |router: &Router, path: &str| {
                let now = router.moment(Instant::now());
                router
                    .resolve(path, now)
                    .map(|r| (r.relative.clone(), r.path_info.clone()))
            };
            assert_eq!(
                at(&router, "/a/b/x"),
                Ok(("a/b.js".into(), Some("/x".into())))
            );
            assert_eq!(at(&router, "/dir"), Ok(("dir/index.js".into(), None)));
            assert_eq!(at(&router, "/ok"), Ok(("ok.js".into(), None)));
            std::fs::create_dir(root.join("a/b")).unwrap();
            std::fs::write(root.join("a/b/x.js"), "").unwrap();
            std::fs::write(root.join("dir.js"), "").unwrap();
            std::fs::remove_file(root.join("ok.js")).unwrap();
            assert_eq!(
                at(&router, "/a/b/x"),
                Ok(("a/b/x.js".into(), None)),
                "watched: {watched}"
            );
            assert_eq!(
                at(&router, "/dir"),
                Ok(("dir.js".into(), None)),
                "watched: {watched}"
            );
            assert_eq!(
                at(&router, "/ok"),
                Err(RouteError::NotFound),
                "watched: {watched}"
            );
        }
    }

    #[test]
    fn refuses_private_and_escaping_paths() {
        let (_dir, root) = tree();
        for bad in [
            "/_lib/x",
            "/../etc/passwd",
            "/%2e%2e/x",
            "/a%2fb",
            "/a\\b",
            "/a%00",
            "/.hidden",
            "/a//b",
        ] {
            assert_eq!(route(&root, bad), Err(RouteError::NotFound), "{bad}");
        }
        assert_eq!(route(&root, "/%ff"), Err(RouteError::BadRequest));
    }

    #[test]
    fn path_info_may_hold_what_file_names_may_not() {
        let (_dir, root) = tree();
        for (path, expected) in [
            ("/a/b/_me", "/_me"),
            ("/a/b/.well-known/x", "/.well-known/x"),
            ("/a/b/2026-12-02T10:00Z", "/2026-12-02T10:00Z"),
            ("/a/b/x/_y/z:1", "/x/_y/z:1"),
        ] {
            assert_eq!(
                route(&root, path),
                Ok(("a/b.js".into(), Some(expected.into()))),
                "{path}"
            );
        }
        for bad in ["/a/b/..", "/a/b/./x", "/a/b/x%2fy", "/a/b/x%00", "/a/b//x"] {
            assert_eq!(route(&root, bad), Err(RouteError::NotFound), "{bad}");
        }
        // A script is never reached through a private folder, path info or not.
        assert_eq!(route(&root, "/_lib/x"), Err(RouteError::NotFound));
    }
}
