//! Writing files so that an interrupted run never leaves a half-written one behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file could not be written; the message names the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it onto
/// `path`, so that readers see either the old or the new content, never a mixture.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError { path: path.to_path_buf(), source };
    let tmp = temporary_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// The temporary file [`write_atomic`] writes before renaming it onto `path`:
/// `.<name>.<pid>.tmp` beside it, so that a killed writer's leftovers can be told apart.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The process id in the name of a temporary file: `.<name>.<pid>.tmp`, as [`temporary_path`]
/// makes them, or `.<name>.<pid>-<n>.tmp.<ext>`, as `apical_plot` makes them (its backends pick
/// the image format by the extension). `None` when the name is of neither form.
pub fn temporary_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let rest = match rest.strip_suffix(".tmp") {
        Some(rest) => rest,
        None => {
            let (rest, extension) = rest.rsplit_once(".tmp.")?;
            if extension.is_empty() || !extension.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            rest
        }
    };
    let (stem, tag) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let pid = match tag.split_once('-') {
        Some((pid, n)) if digits(n) => pid,
        Some(_) => return None,
        None => tag,
    };
    if stem.is_empty() || !digits(pid) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("apical-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let missing = dir.join("no/such/dir/b.txt");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("no/such/dir/b.txt"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let tmp = temporary_path(Path::new("out/checkpoint.bin"));
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert_eq!(temporary_owner(name), Some(std::process::id()));
        assert_eq!(temporary_owner(".metrics.csv.7.tmp"), Some(7));
        assert_eq!(temporary_owner(".errors.png.4242-3.tmp.png"), Some(4242));
        assert_eq!(temporary_owner(".lateral.svg.9-0.tmp.svg"), Some(9));
        for name in [
            "checkpoint.bin.4242.tmp",
            ".4242.tmp",
            ".a.b.tmp",
            ".a.-4.tmp",
            ".a..tmp",
            ".a.42-.tmp.png",
            ".a.42-x.tmp.png",
            ".a.42.tmp.",
            ".a.42.tmp.p-g",
        ] {
            assert_eq!(temporary_owner(name), None, "{name}");
        }
    }
}
