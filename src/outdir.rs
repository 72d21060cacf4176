//! The output folder of a run: one run at a time, no stale temporary files, no empty leftovers.
//!
//! A run holds an advisory lock (`flock` on Unix, `LockFileEx` on Windows) on `.apical.lock` in
//! its output folder for as long as it runs. The operating system releases such a lock when its
//! process ends, however it ends, so a lock can never outlive its run and no process id has to be
//! trusted to decide whether it is stale. The file itself names the holder's pid and host, so that
//! a refused run can say who holds the folder; a file left behind by a killed run is a stale lock,
//! taken over with a note. The run removes the file when it ends, still holding the lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::progress::status_line;
use anyhow::{Context, Result, bail};

use apical_sim::files::temporary_owner;

use crate::printable;

/// The name of the lock file in an output folder.
pub const LOCK_FILE: &str = ".apical.lock";

/// How often a run tries again when the lock file it locked was removed under it by the run that
/// held it before.
const LOCK_ATTEMPTS: usize = 10;

/// The topmost folder of `path` (or `path` itself) that does not exist yet, which creating `path`
/// would create.
pub fn missing_top(path: &Path) -> Option<PathBuf> {
    path.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).last().map(Path::to_path_buf)
}

/// Removes `path` and then its parents up to `top`, each only while it is empty: the folders that
/// a failed command created and left without content.
pub fn remove_empty_up_to(path: &Path, top: &Path) {
    for dir in path.ancestors() {
        // `remove_dir` refuses a folder that is not empty, which ends the walk.
        if std::fs::remove_dir(dir).is_err() || dir == top {
            break;
        }
    }
}

/// An output folder that this process holds: its lock, and the folders created for it.
pub struct OutDir {
    path: PathBuf,
    /// The topmost folder that claiming `path` created, if any.
    created: Option<PathBuf>,
    /// The locked lock file; `None` once released.
    lock: Option<File>,
}

impl OutDir {
    /// Creates `path` if needed and locks it for this process, or fails with one line naming the
    /// folder and the process that holds it. A lock file left by a run that no longer runs is
    /// taken over with a note on standard error; so are the temporary files of such runs removed,
    /// in `path` and in the `subfolders` given.
    pub fn claim(path: &Path, subfolders: &[PathBuf]) -> Result<Self> {
        let created = missing_top(path);
        std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = OutDir { path: path.to_path_buf(), created, lock: None };
        match lock(path) {
            Ok(file) => out.lock = Some(file),
            Err(e) => {
                out.remove_if_created_and_empty();
                return Err(e);
            }
        }
        for dir in std::iter::once(path.to_path_buf()).chain(subfolders.iter().map(|s| path.join(s))) {
            let removed = remove_stale_temporaries(&dir);
            if removed > 0 {
                status_line(&format!(
                    "note: removed {removed} temporary file(s) left by an interrupted run in {}",
                    printable(&dir.display().to_string())
                ));
            }
        }
        Ok(out)
    }

    /// Ends the claim: the lock file goes and, after a failed run, so do the folders that the claim
    /// created, if they are still empty.
    pub fn release(mut self, failed: bool) {
        self.unlock();
        if failed {
            self.remove_if_created_and_empty();
        }
    }

    fn unlock(&mut self) {
        if let Some(file) = self.lock.take() {
            // The file is removed while still locked, and only then closed, which unlocks it; a
            // run that opened it meanwhile notices that it locked a removed file (see `lock`).
            let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
            drop(file);
        }
    }

    fn remove_if_created_and_empty(&self) {
        if let Some(top) = &self.created {
            remove_empty_up_to(&self.path, top);
        }
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        self.unlock();
    }
}

/// Who holds a lock, as written into the lock file: `<pid> <host>`.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown-host".to_string());
    format!("{} {host}", std::process::id())
}

/// The holder named by a lock file's content, for messages: "pid 12 on host".
fn describe(content: &str) -> String {
    match content.split_whitespace().collect::<Vec<_>>()[..] {
        [pid, host] => printable(&format!("pid {pid} on {host}")),
        _ => "a pid not yet written".to_string(),
    }
}

/// Opens and locks the lock file of `dir`, writing this process into it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let shown = || printable(&dir.display().to_string());
    for _ in 0..LOCK_ATTEMPTS {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot create the lock file {}", path.display()))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut content = String::new();
                let _ = file.read_to_string(&mut content);
                bail!(
                    "{} is in use by another run ({}); wait for it or choose another --out",
                    shown(),
                    describe(&content)
                );
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        if !same_file(&file, &path) {
            // The previous holder removed the file between our opening and locking it.
            continue;
        }
        let mut content = String::new();
        let _ = file.read_to_string(&mut content);
        if !content.trim().is_empty() {
            status_line(&format!(
                "note: taking over the stale lock of {} in {}: that run ended without removing it",
                describe(&content),
                shown()
            ));
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", holder())?;
            file.sync_all()
        };
        write(&mut file).with_context(|| format!("cannot write the lock file {}", path.display()))?;
        return Ok(file);
    }
    bail!("cannot lock {}: other runs keep taking and releasing it", shown())
}

/// Whether the open `file` is still the file at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the open `file` is still the file at `path`; elsewhere an open file cannot be removed,
/// so it always is.
#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether process `pid` is alive. On Linux `/proc` says; elsewhere no process is taken to be
/// alive, and the lock of the folder alone keeps other runs' files safe.
fn alive(pid: u32) -> bool {
    pid == std::process::id() || (cfg!(target_os = "linux") && Path::new("/proc").join(pid.to_string()).exists())
}

/// Removes the temporary files of dead processes in `dir` and returns how many it removed.
fn remove_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter(|entry| entry.file_name().to_str().and_then(temporary_owner).is_some_and(|pid| !alive(pid)))
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_created_empty_folders_are_removed() {
        let root = std::env::temp_dir().join(format!("apical-outdir-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let deep = root.join("a/b/c");
        assert_eq!(missing_top(&deep), Some(root.join("a")));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.join("a/keep.txt"), "x").unwrap();
        remove_empty_up_to(&deep, &root.join("a"));
        assert!(!root.join("a/b").exists() && root.join("a/keep.txt").exists());
        assert_eq!(missing_top(&root), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
