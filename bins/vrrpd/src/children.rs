//! Child processes, polled from the event loop without blocking: periodic `vrrp_script`
//! checks (rise/fall counting, kill on timeout) and ordered notify-script queues.
//!
//! The loop wakes on SIGCHLD and at [`Scripts::next_deadline`] /
//! [`Notifier::next_deadline`], then calls `poll`. Commands run from an argv, never
//! through a shell, with a clean environment (only `PATH`), optionally as another user
//! (`script_user` / per-script user); their standard streams go to /dev/null.

use std::collections::{HashMap, VecDeque};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use vrrp_fsm::{TrackId, TrackStatus};

use crate::plan::ScriptPlan;
use crate::users::Ids;

/// The only environment variable scripts get.
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command plus the identity it runs with (`None`: vrrpd's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// User and group to switch to.
    pub ids: Option<Ids>,
}

/// How often running children are re-checked even without SIGCHLD (a safety net).
pub const CHILD_TICK: Duration = Duration::from_millis(250);

fn spawn(argv: &[String], ids: Option<Ids>) -> std::io::Result<Child> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", SCRIPT_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(ids) = ids {
        // std sets the gid, clears supplementary groups (setgroups(0)), then sets the uid.
        cmd.gid(ids.gid).uid(ids.uid);
    }
    cmd.spawn()
}

/// How a child run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// It exited with this status.
    Exited(ExitStatus),
    /// It ran past its time limit and was killed.
    TimedOut,
    /// It could not be started.
    SpawnFailed,
}

impl RunOutcome {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        matches!(self, RunOutcome::Exited(s) if s.success())
    }
}

/// A running child with its deadline.
#[derive(Debug)]
struct Running {
    child: Child,
    deadline: Instant,
}

impl Running {
    /// `Some(outcome)` once it finished or was killed at its deadline.
    fn check(&mut self, now: Instant) -> Option<RunOutcome> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(RunOutcome::Exited(status)),
            Ok(None) if now >= self.deadline => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Some(RunOutcome::TimedOut)
            }
            Ok(None) => None,
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Some(RunOutcome::SpawnFailed)
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One tracked `vrrp_script` with its rise/fall state.
#[derive(Debug)]
struct Check {
    plan: ScriptPlan,
    /// Current verdict (`None` until the first result).
    up: Option<bool>,
    streak: u32,
    next_run: Instant,
    running: Option<Running>,
}

impl Check {
    /// Applies one result; returns the new verdict when it changed.
    fn record(&mut self, success: bool) -> Option<bool> {
        match self.up {
            None => {
                self.up = Some(success);
                self.streak = 0;
                return Some(success);
            }
            Some(up) if up == success => self.streak = 0,
            Some(_) => {
                self.streak += 1;
                let needed = if success {
                    self.plan.rise
                } else {
                    self.plan.fall
                };
                if self.streak >= needed {
                    self.up = Some(success);
                    self.streak = 0;
                    return Some(success);
                }
            }
        }
        None
    }
}

/// The periodic `vrrp_script` runner.
#[derive(Debug, Default)]
pub struct Scripts {
    checks: Vec<Check>,
}

impl Scripts {
    /// Runners for `plans`, starting now; verdicts of scripts in `previous` with the same
    /// name are inherited (reload).
    pub fn new(plans: &[ScriptPlan], previous: &HashMap<String, bool>, now: Instant) -> Self {
        let checks = plans
            .iter()
            .map(|p| Check {
                up: previous
                    .get(&p.name)
                    .copied()
                    .or(p.init_fail.then_some(false)),
                streak: 0,
                next_run: now,
                running: None,
                plan: p.clone(),
            })
            .collect();
        Scripts { checks }
    }

    /// The current verdict of every script that has one.
    pub fn verdicts(&self) -> HashMap<String, bool> {
        self.checks
            .iter()
            .filter_map(|c| c.up.map(|up| (c.plan.name.clone(), up)))
            .collect()
    }

    /// When `poll` must run next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.checks
            .iter()
            .map(|c| match &c.running {
                Some(r) => r.deadline.min(Instant::now() + CHILD_TICK),
                None => c.next_run,
            })
            .min()
    }

    /// Reaps finished checks, kills overrunning ones, starts due ones; appends verdict
    /// changes to `out`.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<(TrackId, TrackStatus, String)>) {
        for c in &mut self.checks {
            if let Some(r) = &mut c.running
                && let Some(outcome) = r.check(now)
            {
                c.running = None;
                tracing::debug!(script = %c.plan.name, ?outcome, "vrrp_script finished");
                if outcome == RunOutcome::TimedOut {
                    tracing::warn!(script = %c.plan.name, "vrrp_script timed out and was killed");
                }
                if let Some(up) = c.record(outcome.success()) {
                    let status = if up {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    };
                    out.push((c.plan.id, status, c.plan.name.clone()));
                }
            }
            if c.running.is_none() && now >= c.next_run {
                // An overrunning script skips the runs it missed.
                while c.next_run <= now {
                    c.next_run += c.plan.interval;
                }
                match spawn(&c.plan.argv, c.plan.ids) {
                    Ok(child) => {
                        c.running = Some(Running {
                            child,
                            deadline: now + c.plan.timeout,
                        })
                    }
                    Err(e) => {
                        tracing::warn!(script = %c.plan.name, error = %e, "cannot run vrrp_script");
                        if let Some(up) = c.record(false) {
                            let status = if up {
                                TrackStatus::Up
                            } else {
                                TrackStatus::Down
                            };
                            out.push((c.plan.id, status, c.plan.name.clone()));
                        }
                    }
                }
            }
        }
    }
}

/// Time limit of one notify script.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Ordered notify queues: one per instance or group, never two scripts of one queue at
/// once, each with a time limit.
#[derive(Debug, Default)]
pub struct Notifier {
    queues: HashMap<String, Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<Job>,
    running: Option<(Running, String)>,
}

/// Most notify scripts one queue holds; older ones are dropped (with a warning) beyond.
pub const MAX_QUEUED_NOTIFIES: usize = 256;

impl Notifier {
    /// Queues `job` behind whatever `owner` (an instance or group label) has pending.
    pub fn enqueue(&mut self, owner: &str, job: Job, now: Instant) {
        let q = self.queues.entry(owner.to_owned()).or_default();
        if q.pending.len() >= MAX_QUEUED_NOTIFIES {
            let dropped = q.pending.pop_front();
            tracing::warn!(%owner, ?dropped, "notify queue full; oldest pending script dropped");
        }
        q.pending.push_back(job);
        Self::advance(owner, q, now);
    }

    fn advance(owner: &str, q: &mut Queue, now: Instant) {
        if let Some((r, cmd)) = &mut q.running {
            match r.check(now) {
                None => return,
                Some(RunOutcome::Exited(s)) if s.success() => {
                    tracing::debug!(%owner, command = %cmd, "notify script exited with status 0")
                }
                Some(RunOutcome::Exited(s)) => {
                    tracing::warn!(%owner, command = %cmd, status = %s, "notify script failed")
                }
                Some(outcome) => {
                    tracing::warn!(%owner, command = %cmd, ?outcome, "notify script failed")
                }
            }
            q.running = None;
        }
        while let Some(job) = q.pending.pop_front() {
            let cmd = job.argv.join(" ");
            match spawn(&job.argv, job.ids) {
                Ok(child) => {
                    q.running = Some((
                        Running {
                            child,
                            deadline: now + NOTIFY_TIMEOUT,
                        },
                        cmd,
                    ));
                    return;
                }
                Err(e) => {
                    tracing::warn!(%owner, command = %cmd, error = %e, "cannot run notify script")
                }
            }
        }
    }

    /// Reaps finished scripts and starts the next of each queue.
    pub fn poll(&mut self, now: Instant) {
        for (owner, q) in &mut self.queues {
            Self::advance(owner, q, now);
        }
        self.queues
            .retain(|_, q| q.running.is_some() || !q.pending.is_empty());
    }

    /// Whether nothing is running or queued.
    pub fn is_idle(&self) -> bool {
        self.queues.is_empty()
    }

    /// When `poll` must run next (`None` when idle).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter_map(|q| q.running.as_ref())
            .map(|(r, _)| r.deadline.min(Instant::now() + CHILD_TICK))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(argv: &[&str], rise: u32, fall: u32) -> ScriptPlan {
        ScriptPlan {
            name: "s".into(),
            id: TrackId(7),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(300),
            rise,
            fall,
            init_fail: false,
            ids: None,
        }
    }

    fn run_until(scripts: &mut Scripts, wanted: usize) -> Vec<(TrackId, TrackStatus, String)> {
        let mut out = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        while out.len() < wanted && Instant::now() < end {
            scripts.poll(Instant::now(), &mut out);
            std::thread::sleep(Duration::from_millis(5));
        }
        out
    }

    #[test]
    fn first_result_decides_then_fall_counts() {
        let mut c = Check {
            plan: plan(&["true"], 2, 3),
            up: None,
            streak: 0,
            next_run: Instant::now(),
            running: None,
        };
        assert_eq!(c.record(true), Some(true));
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), Some(false));
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(true));
    }

    #[test]
    fn runs_real_commands_and_kills_on_timeout() {
        let mut ok = Scripts::new(&[plan(&["true"], 1, 1)], &HashMap::new(), Instant::now());
        let out = run_until(&mut ok, 1);
        assert_eq!(out[0].1, TrackStatus::Up);
        let mut slow = Scripts::new(
            &[plan(&["sleep", "5"], 1, 1)],
            &HashMap::new(),
            Instant::now(),
        );
        let started = Instant::now();
        let out = run_until(&mut slow, 1);
        assert_eq!(out[0].1, TrackStatus::Down);
        assert!(started.elapsed() < Duration::from_secs(4));
        let mut missing = Scripts::new(
            &[plan(&["/nonexistent/x"], 1, 1)],
            &HashMap::new(),
            Instant::now(),
        );
        assert_eq!(run_until(&mut missing, 1)[0].1, TrackStatus::Down);
    }

    #[test]
    fn notify_queue_runs_in_order_one_at_a_time() {
        let dir = std::env::temp_dir().join(format!("vrrpd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("order");
        let _ = std::fs::remove_file(&file);
        let mut n = Notifier::default();
        for word in ["one", "two", "three"] {
            let script = format!("sleep 0.05; echo {word} >> {}", file.display());
            let job = Job {
                argv: vec!["sh".into(), "-c".into(), script],
                ids: None,
            };
            n.enqueue("VI_1", job, Instant::now());
        }
        let end = Instant::now() + Duration::from_secs(5);
        while !n.is_idle() && Instant::now() < end {
            n.poll(Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text, "one\ntwo\nthree\n");
    }

    #[test]
    fn scripts_get_a_clean_environment() {
        let dir = std::env::temp_dir().join(format!("vrrpd-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("env");
        let mut n = Notifier::default();
        let script = format!("env > {}", file.display());
        let job = Job {
            argv: vec!["/bin/sh".into(), "-c".into(), script],
            ids: None,
        };
        n.enqueue("VI_1", job, Instant::now());
        let end = Instant::now() + Duration::from_secs(5);
        while !n.is_idle() && Instant::now() < end {
            n.poll(Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(text.contains(&format!("PATH={SCRIPT_PATH}")), "{text}");
        assert!(
            !text.contains("CARGO"),
            "inherited environment leaked: {text}"
        );
    }
}
