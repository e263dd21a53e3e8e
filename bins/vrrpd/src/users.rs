//! Script users: `script_user` / per-script `user NAME [GROUP]` resolved to numeric ids by
//! reading `/etc/passwd` and `/etc/group` (no libc calls, so no `unsafe`).

use std::path::Path;

use kaconf::RunAs;

/// The user keepalived runs scripts as by default, when it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Numeric identity a script runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// A user or group name that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// No such user in the passwd file.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// No such group in the group file.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
}

/// The passwd and group databases, read once.
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    /// (name, uid, gid) per passwd line.
    users: Vec<(String, u32, u32)>,
    /// (name, gid) per group line.
    groups: Vec<(String, u32)>,
}

/// Fields of a colon-separated line: name, then the numeric field at `index`.
fn entry(line: &str, index: usize) -> Option<(String, u32, Option<u32>)> {
    let fields: Vec<&str> = line.split(':').collect();
    let name = fields.first()?.trim();
    if name.is_empty() || name.starts_with('#') {
        return None;
    }
    let id = fields.get(index)?.trim().parse().ok()?;
    let next = fields.get(index + 1).and_then(|f| f.trim().parse().ok());
    Some((name.to_owned(), id, next))
}

impl UserDb {
    /// Reads `/etc/passwd` and `/etc/group` (missing files give an empty database).
    pub fn system() -> Self {
        Self::from_files(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    /// Reads the given passwd and group files.
    pub fn from_files(passwd: &Path, group: &Path) -> Self {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        Self::parse(&read(passwd), &read(group))
    }

    /// Parses passwd and group texts; malformed lines are skipped.
    pub fn parse(passwd: &str, group: &str) -> Self {
        UserDb {
            users: passwd
                .lines()
                .filter_map(|l| entry(l, 2))
                .filter_map(|(n, uid, gid)| Some((n, uid, gid?)))
                .collect(),
            groups: group
                .lines()
                .filter_map(|l| entry(l, 2))
                .map(|(n, gid, _)| (n, gid))
                .collect(),
        }
    }

    /// Whether `name` is a known user.
    pub fn has_user(&self, name: &str) -> bool {
        self.users.iter().any(|(n, _, _)| n == name)
    }

    /// Resolves a `user [group]` pair; numeric names are accepted as ids.
    pub fn resolve(&self, run_as: &RunAs) -> Result<Ids, UserError> {
        let (uid, primary) = match self.users.iter().find(|(n, _, _)| *n == run_as.user) {
            Some((_, uid, gid)) => (*uid, *gid),
            None => match run_as.user.parse::<u32>() {
                Ok(uid) => (uid, uid),
                Err(_) => return Err(UserError::UnknownUser(run_as.user.clone())),
            },
        };
        let gid = match &run_as.group {
            None => primary,
            Some(g) => match self.groups.iter().find(|(n, _)| n == g) {
                Some((_, gid)) => *gid,
                None => g
                    .parse::<u32>()
                    .map_err(|_| UserError::UnknownGroup(g.clone()))?,
            },
        };
        Ok(Ids { uid, gid })
    }

    /// The identity for a script: its own `user`, else `script_user`, else
    /// `keepalived_script` if that user exists, else `None` (vrrpd's own identity).
    pub fn script_ids(
        &self,
        own: Option<&RunAs>,
        script_user: Option<&RunAs>,
    ) -> Result<Option<Ids>, UserError> {
        if let Some(r) = own.or(script_user) {
            return self.resolve(r).map(Some);
        }
        if self.has_user(DEFAULT_SCRIPT_USER) {
            let r = RunAs {
                user: DEFAULT_SCRIPT_USER.to_owned(),
                group: None,
            };
            return self.resolve(&r).map(Some);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                          app:x:1000:1001::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\nstaff:x:50:app\n";

    fn run_as(user: &str, group: Option<&str>) -> RunAs {
        RunAs {
            user: user.into(),
            group: group.map(Into::into),
        }
    }

    #[test]
    fn resolves_names_groups_and_numbers() {
        let db = UserDb::parse(PASSWD, GROUP);
        assert_eq!(
            db.resolve(&run_as("nobody", None)),
            Ok(Ids {
                uid: 65534,
                gid: 65534
            })
        );
        assert_eq!(
            db.resolve(&run_as("app", Some("staff"))),
            Ok(Ids { uid: 1000, gid: 50 })
        );
        assert_eq!(
            db.resolve(&run_as("4242", Some("7"))),
            Ok(Ids { uid: 4242, gid: 7 })
        );
        assert_eq!(
            db.resolve(&run_as("ghost", None)),
            Err(UserError::UnknownUser("ghost".into()))
        );
        assert_eq!(
            db.resolve(&run_as("app", Some("ghosts"))),
            Err(UserError::UnknownGroup("ghosts".into()))
        );
    }

    #[test]
    fn script_identity_precedence() {
        let db = UserDb::parse(PASSWD, GROUP);
        let global = run_as("nobody", None);
        let own = run_as("app", None);
        assert_eq!(
            db.script_ids(Some(&own), Some(&global))
                .unwrap()
                .unwrap()
                .uid,
            1000
        );
        assert_eq!(
            db.script_ids(None, Some(&global)).unwrap().unwrap().uid,
            65534
        );
        assert_eq!(db.script_ids(None, None).unwrap(), None);
        let with_default = UserDb::parse(
            &format!("{PASSWD}keepalived_script:x:990:990::/:/bin/false\n"),
            GROUP,
        );
        assert_eq!(
            with_default.script_ids(None, None).unwrap(),
            Some(Ids { uid: 990, gid: 990 })
        );
    }
}
