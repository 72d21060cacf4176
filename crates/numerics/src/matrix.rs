use faer::{MatMut, MatRef};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::{Element, Real};

/// A dense matrix stored column by column in one contiguous buffer, of f64 (the default) or f32
/// entries (see [`Element`]).
///
/// Column j holds the weights leaving presynaptic neuron j, so a matrix–vector product and a
/// rank-1 plasticity update both stream through memory in order. [`Matrix::as_ref`] and
/// [`Matrix::as_mut`] hand out faer views for the large products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Matrix<T: Element = Real> {
    nrows: usize,
    ncols: usize,
    data: Vec<T>,
}

/// A matrix does not have the shape its use requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The shape (rows, columns) that was required.
    pub expected: (usize, usize),
    /// The shape that was given.
    pub found: (usize, usize),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected a {}×{} matrix, found {}×{}", self.expected.0, self.expected.1, self.found.0, self.found.1)
    }
}

impl std::error::Error for ShapeError {}

impl<T: Element> Matrix<T> {
    /// A matrix of zeros.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Matrix { nrows, ncols, data: vec![T::ZERO; nrows * ncols] }
    }

    /// A matrix whose entry (i, j) is `f(i, j)`.
    pub fn from_fn(nrows: usize, ncols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            for i in 0..nrows {
                data.push(f(i, j));
            }
        }
        Matrix { nrows, ncols, data }
    }

    /// A matrix from a column-major buffer, or an error if the buffer has the wrong length.
    pub fn from_column_major(nrows: usize, ncols: usize, data: Vec<T>) -> Result<Self, ShapeError> {
        if data.len() != nrows * ncols {
            return Err(ShapeError { expected: (nrows, ncols), found: (data.len(), 1) });
        }
        Ok(Matrix { nrows, ncols, data })
    }

    /// A matrix with entries drawn independently from U(low, high), each drawn in f64 and then
    /// rounded to `T`, so that both types consume the same random numbers.
    pub fn uniform(nrows: usize, ncols: usize, low: Real, high: Real, rng: &mut impl RngExt) -> Self {
        Self::from_fn(nrows, ncols, |_, _| T::from_f64(low + (high - low) * rng.random::<Real>()))
    }

    /// A copy with every entry converted to `U` (rounded to nearest for f64 → f32, exact
    /// otherwise).
    pub fn cast<U: Element>(&self) -> Matrix<U> {
        let data = self.data.iter().map(|&x| U::from_f64(x.to_f64())).collect();
        Matrix { nrows: self.nrows, ncols: self.ncols, data }
    }

    /// The number of rows (postsynaptic neurons).
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// The number of columns (presynaptic neurons).
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The shape (rows, columns).
    pub fn shape(&self) -> (usize, usize) {
        (self.nrows, self.ncols)
    }

    /// Returns an error unless the matrix is `nrows × ncols`.
    pub fn check_shape(&self, nrows: usize, ncols: usize) -> Result<(), ShapeError> {
        if self.shape() == (nrows, ncols) {
            Ok(())
        } else {
            Err(ShapeError { expected: (nrows, ncols), found: self.shape() })
        }
    }

    /// Entry (i, j).
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> T {
        self.data[j * self.nrows + i]
    }

    /// Sets entry (i, j).
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, value: T) {
        self.data[j * self.nrows + i] = value;
    }

    /// Column j.
    #[inline]
    pub fn col(&self, j: usize) -> &[T] {
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// Column j, mutable.
    #[inline]
    pub fn col_mut(&mut self, j: usize) -> &mut [T] {
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// All entries, column by column.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// All entries, column by column, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// A faer view of the matrix.
    pub fn as_ref(&self) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.data, self.nrows, self.ncols)
    }

    /// A mutable faer view of the matrix.
    pub fn as_mut(&mut self) -> MatMut<'_, T> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.nrows, self.ncols)
    }

    /// The transpose, as a new matrix.
    pub fn transposed(&self) -> Matrix<T> {
        Matrix::from_fn(self.ncols, self.nrows, |i, j| self.get(j, i))
    }

    /// A copy with every entry multiplied by `factor`.
    pub fn scaled(&self, factor: Real) -> Matrix<T> {
        let data = self.data.iter().map(|x| T::from_f64(x.to_f64() * factor)).collect();
        Matrix { nrows: self.nrows, ncols: self.ncols, data }
    }

    /// Limits every entry to [−bound, bound].
    pub fn clamp_entries(&mut self, bound: Real) {
        let (low, high) = (T::from_f64(-bound), T::from_f64(bound));
        for x in &mut self.data {
            if *x < low {
                *x = low;
            } else if *x > high {
                *x = high;
            }
        }
    }

    /// Sets every entry to zero.
    pub fn fill_zero(&mut self) {
        self.data.fill(T::ZERO);
    }

    /// The squared Frobenius norm Σ wᵢⱼ², summed in f64.
    pub fn sq_norm(&self) -> Real {
        self.data.iter().map(|x| x.to_f64() * x.to_f64()).sum()
    }

    /// The Frobenius norm of the difference to another matrix of the same shape.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn distance(&self, other: &Matrix<T>) -> Real {
        assert_eq!(self.shape(), other.shape(), "distance: shape mismatch");
        let sq = self.data.iter().zip(&other.data).map(|(a, b)| {
            let d = a.to_f64() - b.to_f64();
            d * d
        });
        let sq: Real = sq.sum();
        sq.sqrt()
    }

    /// True when every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_column_major() {
        let m = Matrix::from_fn(2, 3, |i, j| (10 * i + j) as Real);
        assert_eq!(m.as_slice(), &[0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        assert_eq!(m.col(2), &[2.0, 12.0]);
        assert_eq!(m.as_ref()[(1, 2)], 12.0);
        assert_eq!(m.transposed().get(2, 1), 12.0);
    }

    #[test]
    fn shape_errors_name_both_shapes() {
        let m: Matrix = Matrix::zeros(2, 3);
        assert!(m.check_shape(2, 3).is_ok());
        assert_eq!(m.check_shape(3, 2).unwrap_err().to_string(), "expected a 3×2 matrix, found 2×3");
        assert!(Matrix::from_column_major(2, 2, vec![0.0; 3]).is_err());
    }
}
