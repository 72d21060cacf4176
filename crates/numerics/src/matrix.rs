use faer::{MatMut, MatRef};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::Real;

/// A dense matrix stored column by column in one contiguous buffer.
///
/// Column j holds the weights leaving presynaptic neuron j, so a matrix–vector product and a
/// rank-1 plasticity update both stream through memory in order. [`Matrix::as_ref`] and
/// [`Matrix::as_mut`] hand out faer views for the large products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    nrows: usize,
    ncols: usize,
    data: Vec<Real>,
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

impl Matrix {
    /// A matrix of zeros.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Matrix { nrows, ncols, data: vec![0.0; nrows * ncols] }
    }

    /// A matrix whose entry (i, j) is `f(i, j)`.
    pub fn from_fn(nrows: usize, ncols: usize, mut f: impl FnMut(usize, usize) -> Real) -> Self {
        let mut data = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            for i in 0..nrows {
                data.push(f(i, j));
            }
        }
        Matrix { nrows, ncols, data }
    }

    /// A matrix from a column-major buffer, or an error if the buffer has the wrong length.
    pub fn from_column_major(nrows: usize, ncols: usize, data: Vec<Real>) -> Result<Self, ShapeError> {
        if data.len() != nrows * ncols {
            return Err(ShapeError { expected: (nrows, ncols), found: (data.len(), 1) });
        }
        Ok(Matrix { nrows, ncols, data })
    }

    /// A matrix with entries drawn independently from U(low, high).
    pub fn uniform(nrows: usize, ncols: usize, low: Real, high: Real, rng: &mut impl RngExt) -> Self {
        Self::from_fn(nrows, ncols, |_, _| low + (high - low) * rng.random::<Real>())
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
    pub fn get(&self, i: usize, j: usize) -> Real {
        self.data[j * self.nrows + i]
    }

    /// Sets entry (i, j).
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, value: Real) {
        self.data[j * self.nrows + i] = value;
    }

    /// Column j.
    #[inline]
    pub fn col(&self, j: usize) -> &[Real] {
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// Column j, mutable.
    #[inline]
    pub fn col_mut(&mut self, j: usize) -> &mut [Real] {
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// All entries, column by column.
    pub fn as_slice(&self) -> &[Real] {
        &self.data
    }

    /// All entries, column by column, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [Real] {
        &mut self.data
    }

    /// A faer view of the matrix.
    pub fn as_ref(&self) -> MatRef<'_, Real> {
        MatRef::from_column_major_slice(&self.data, self.nrows, self.ncols)
    }

    /// A mutable faer view of the matrix.
    pub fn as_mut(&mut self) -> MatMut<'_, Real> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.nrows, self.ncols)
    }

    /// The transpose, as a new matrix.
    pub fn transposed(&self) -> Matrix {
        Matrix::from_fn(self.ncols, self.nrows, |i, j| self.get(j, i))
    }

    /// A copy with every entry multiplied by `factor`.
    pub fn scaled(&self, factor: Real) -> Matrix {
        Matrix { nrows: self.nrows, ncols: self.ncols, data: self.data.iter().map(|x| x * factor).collect() }
    }

    /// Sets every entry to zero.
    pub fn fill_zero(&mut self) {
        self.data.fill(0.0);
    }

    /// The squared Frobenius norm Σ wᵢⱼ².
    pub fn sq_norm(&self) -> Real {
        crate::stats::sq_norm(&self.data)
    }

    /// The Frobenius norm of the difference to another matrix of the same shape.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn distance(&self, other: &Matrix) -> Real {
        assert_eq!(self.shape(), other.shape(), "distance: shape mismatch");
        crate::stats::sq_distance(&self.data, &other.data).sqrt()
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
        let m = Matrix::zeros(2, 3);
        assert!(m.check_shape(2, 3).is_ok());
        assert_eq!(m.check_shape(3, 2).unwrap_err().to_string(), "expected a 3×2 matrix, found 2×3");
        assert!(Matrix::from_column_major(2, 2, vec![0.0; 3]).is_err());
    }
}
