//! Summaries of MNIST runs, read back from the `metrics.csv` they write.
//!
//! A run keeps the model with the lowest validation error, the first epoch to reach it if several
//! tie, so its test error is the one of that epoch. [`Curves::summary`] gives that pair and the
//! figures used to compare runs of different settings on the validation set: the mean validation
//! error over the last epochs, which smooths the epoch-to-epoch noise of a single best value, and
//! [`Curves::behind`], the number of epochs at which one run's validation error is above another's.

use std::path::{Path, PathBuf};

use apical_numerics::Real;
use apical_numerics::stats::mean;

use crate::experiments::error::SimError;
use crate::io::record::read_columns;

/// The columns read from `metrics.csv`, in the order of [`Curves`]' fields.
const COLUMNS: [&str; 4] = ["epoch", "train_error_pct", "validation_error_pct", "test_error_pct"];

/// The per-epoch errors (%) of one MNIST run.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// The file they were read from.
    pub path: PathBuf,
    /// The training error, measured during each epoch.
    pub train: Vec<Real>,
    /// The validation error after each epoch.
    pub validation: Vec<Real>,
    /// The test error after each epoch.
    pub test: Vec<Real>,
}

/// What [`Curves::summary`] reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The number of epochs recorded.
    pub epochs: usize,
    /// The first epoch (counted from 1) with the lowest validation error.
    pub best_epoch: usize,
    /// The validation error at `best_epoch`.
    pub best_validation: Real,
    /// The test error at `best_epoch`: that of the model the run keeps.
    pub test_of_best: Real,
    /// The training error after the last epoch.
    pub final_train: Real,
    /// The mean validation error over the last `last` epochs (all of them if there are fewer).
    pub mean_validation_last: Real,
}

impl Curves {
    /// Reads the `metrics.csv` of an MNIST run: `path` is the file or the run's output folder.
    /// The epochs must run 1, 2, 3, … in order.
    pub fn read(path: &Path) -> Result<Curves, SimError> {
        let path = if path.is_dir() { path.join("metrics.csv") } else { path.to_path_buf() };
        let bad = |what: String| SimError::Other(format!("{}: {what}", path.display()));
        let columns = read_columns(&path, &COLUMNS).map_err(|mut e| {
            if e.what.starts_with("no column") {
                e.what.push_str(", so it is not the metrics of an MNIST run");
            }
            SimError::Other(e.to_string())
        })?;
        for (i, &epoch) in columns[0].iter().enumerate() {
            if epoch != (i + 1) as Real {
                return Err(bad(format!("line {}: epoch {epoch} where {} was expected", i + 2, i + 1)));
            }
        }
        if columns[0].is_empty() {
            return Err(bad("no epochs recorded yet".into()));
        }
        let [_, train, validation, test] = <[Vec<Real>; 4]>::try_from(columns).expect("four columns");
        Ok(Curves { path, train, validation, test })
    }

    /// Keeps only the first `epochs` epochs (all of them if there are fewer), to compare runs
    /// of different lengths over the same epochs.
    pub fn truncate(&mut self, epochs: usize) {
        for column in [&mut self.train, &mut self.validation, &mut self.test] {
            column.truncate(epochs.max(1));
        }
    }

    /// The best model's errors and the mean validation error over the last `last` epochs.
    pub fn summary(&self, last: usize) -> Summary {
        let v = &self.validation;
        let best = (0..v.len()).fold(0, |b, i| if v[i] < v[b] { i } else { b });
        Summary {
            epochs: v.len(),
            best_epoch: best + 1,
            best_validation: v[best],
            test_of_best: self.test[best],
            final_train: self.train[v.len() - 1],
            mean_validation_last: mean(&v[v.len().saturating_sub(last.max(1))..]),
        }
    }

    /// The number of epochs both runs recorded, and at how many of them this run's validation
    /// error was above `other`'s.
    pub fn behind(&self, other: &Curves) -> (usize, usize) {
        let pairs = self.validation.iter().zip(&other.validation);
        (pairs.clone().filter(|(a, b)| a > b).count(), pairs.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("apical-summary-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("metrics.csv"), text).unwrap();
        dir
    }

    const HEADER: &str = "epoch,train_error_pct,validation_error_pct,test_error_pct,eta_scale,seconds\n";

    #[test]
    fn the_first_best_epoch_and_its_test_error_are_reported() {
        let dir = write("best", &format!("{HEADER}1,9,5,6,1,2\n2,4,3,4.5,0.9,2\n3,2,3,4,0.81,2\n4,1,3.5,3,0.73,2\n"));
        let curves = Curves::read(&dir).unwrap();
        assert_eq!(curves.path, dir.join("metrics.csv"));
        let s = curves.summary(2);
        assert_eq!((s.epochs, s.best_epoch, s.best_validation, s.test_of_best), (4, 2, 3.0, 4.5));
        assert_eq!(s.final_train, 1.0);
        assert_eq!(s.mean_validation_last, 3.25);
        assert_eq!(curves.summary(10).mean_validation_last, 3.625);
        let mut first = curves.clone();
        first.truncate(1);
        assert_eq!(
            first.summary(20),
            Summary {
                epochs: 1,
                best_epoch: 1,
                best_validation: 5.0,
                test_of_best: 6.0,
                final_train: 9.0,
                mean_validation_last: 5.0
            }
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn behind_counts_the_epochs_with_higher_validation_error() {
        let a = write("behind-a", &format!("{HEADER}1,0,5,0,1,0\n2,0,3,0,1,0\n3,0,2,0,1,0\n"));
        let b = write("behind-b", &format!("{HEADER}1,0,4,0,1,0\n2,0,3,0,1,0\n"));
        let (a_curves, b_curves) = (Curves::read(&a).unwrap(), Curves::read(&b).unwrap());
        assert_eq!(a_curves.behind(&b_curves), (1, 2));
        assert_eq!(b_curves.behind(&a_curves), (0, 2));
        for dir in [a, b] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        for (name, text, expected) in [
            ("empty", String::new(), "no column 'epoch'"),
            ("other", "time_s,apical_sq\n0,1\n".to_string(), "not the metrics of an MNIST run"),
            ("none", HEADER.to_string(), "no epochs recorded yet"),
            ("number", format!("{HEADER}1,9,x,6,1,2\n"), "line 2: 'x' in column 'validation_error_pct'"),
            ("short", format!("{HEADER}1,9\n"), "line 2: '' in column 'validation_error_pct'"),
            ("order", format!("{HEADER}1,9,5,6,1,2\n3,9,5,6,1,2\n"), "line 3: epoch 3 where 2 was expected"),
        ] {
            let dir = write(name, &text);
            let e = Curves::read(&dir).unwrap_err().to_string();
            assert!(e.starts_with(&dir.join("metrics.csv").display().to_string()) && e.contains(expected), "{e}");
            std::fs::remove_dir_all(dir).unwrap();
        }
        let e = Curves::read(Path::new("/nonexistent/metrics.csv")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/metrics.csv: cannot read it"), "{e}");
    }
}
