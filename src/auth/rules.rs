//! Access rules of `--access`, like Dirigible's access constraints: one
//! rule a line, `PATH ROLE[,ROLE...]`, `#` starts a comment.
//!
//! ```text
//! /admin/*     admin           # admin/*.js and everything below it
//! /reports     auditor,admin   # reports.js (with any path info) or reports/
//! /account/*   *               # any signed-in user
//! ```
//!
//! A rule's path covers that path and everything below it (`/admin/*` and
//! `/admin` are the same rule). Paths are those of the scripts folder, so
//! a rule holds whichever URL reaches the script (`/services/js/admin/x`,
//! `/admin/x.js`, a symlink): `Rules::needed` is asked with the paths the
//! request's script is known by. Every rule that covers one of them must
//! be met: the user has one of its roles (`*`: any user).

use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Without a trailing `/` or `/*` (`/admin`; `` for the whole folder).
    path: String,
    pub roles: Vec<String>,
}

impl Rule {
    fn covers(&self, path: &str) -> bool {
        path.strip_prefix(&self.path)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Whether a user with `roles` meets this rule.
    pub fn admits(&self, roles: &[String]) -> bool {
        self.roles.iter().any(|r| r == "*" || roles.contains(r))
    }
}

#[derive(Debug, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn open(path: &Path) -> Result<Rules, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("access file {}: {e}", path.display()))?;
        parse(&text).map_err(|e| format!("access file {}: {e}", path.display()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rules that cover any of `paths`.
    pub fn needed<'a>(&'a self, paths: &[String]) -> Vec<&'a Rule> {
        self.0
            .iter()
            .filter(|rule| paths.iter().any(|p| rule.covers(p)))
            .collect()
    }
}

pub fn parse(text: &str) -> Result<Rules, String> {
    let mut rules = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let line_no = n + 1;
        let mut fields = line.split_whitespace();
        let (Some(path), Some(roles), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("line {line_no}: expected `PATH ROLE[,ROLE...]`"));
        };
        if !path.starts_with('/') {
            return Err(format!(
                "line {line_no}: the path {path:?} must start with /"
            ));
        }
        let trimmed = path.trim_end_matches('*').trim_end_matches('/');
        if trimmed.contains('*') {
            return Err(format!(
                "line {line_no}: `*` may only end a path ({path:?})"
            ));
        }
        let roles: Vec<String> = roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        if roles.is_empty() {
            return Err(format!("line {line_no}: no role"));
        }
        rules.push(Rule {
            path: trimmed.to_string(),
            roles,
        });
    }
    Ok(Rules(rules))
}

/// The paths a script is known by, for `Rules::needed`: its path in the
/// folder (`admin/x.js` → `/admin/x`, `admin/index.js` → `/admin`) with the
/// request's path info, and the same for the file a symlink leads to.
pub fn script_paths(
    relative: &str,
    canonical: Option<&str>,
    path_info: Option<&str>,
) -> Vec<String> {
    let of = |relative: &str| {
        let stem = relative
            .strip_suffix(".mjs")
            .or_else(|| relative.strip_suffix(".js"))
            .unwrap_or(relative);
        let stem = stem
            .strip_suffix("/index")
            .or_else(|| (stem == "index").then_some(""))
            .unwrap_or(stem);
        format!("/{stem}{}", path_info.unwrap_or(""))
    };
    let mut paths = vec![of(relative)];
    if let Some(canonical) = canonical.filter(|c| *c != relative) {
        paths.push(of(canonical));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_cover_their_path_and_below() {
        let rules = parse("# x\n/admin/* admin\n/reports auditor,admin # y\n/ *\n").unwrap();
        let needed = |p: &str| rules.needed(&[p.to_string()]).len();
        assert_eq!(needed("/admin"), 2);
        assert_eq!(needed("/admin/x/y"), 2);
        assert_eq!(needed("/administrator"), 1);
        assert_eq!(needed("/reports/2024"), 2);
        assert!(parse("/a").is_err());
        assert!(parse("a admin").is_err());
        assert!(parse("/a/*/b admin").is_err());
    }

    #[test]
    fn scripts_are_known_by_their_folder_paths() {
        assert_eq!(script_paths("admin/x.js", None, Some("/y")), ["/admin/x/y"]);
        assert_eq!(script_paths("admin/index.mjs", None, None), ["/admin"]);
        assert_eq!(script_paths("index.js", None, None), ["/"]);
        assert_eq!(
            script_paths("pub/link.js", Some("admin/x.js"), None),
            ["/pub/link", "/admin/x"]
        );
    }
}
