//! A small labelled data set held in memory: input vectors of one length, each with a class.

/// Inputs and their classes, one row per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// The inputs, row after row, `input_size` values each.
    inputs: Vec<f64>,
    /// The class of each row, below `classes`.
    labels: Vec<usize>,
    input_size: usize,
    classes: usize,
}

impl Labelled {
    /// Collects `(input, class)` samples.
    ///
    /// # Panics
    /// If an input does not have `input_size` values or a class is not below `classes`.
    pub fn new(input_size: usize, classes: usize, samples: impl IntoIterator<Item = (Vec<f64>, usize)>) -> Self {
        let mut data = Labelled { inputs: Vec::new(), labels: Vec::new(), input_size, classes };
        for (input, label) in samples {
            assert_eq!(input.len(), input_size, "input length");
            assert!(label < classes, "class {label} of {classes}");
            data.inputs.extend(input);
            data.labels.push(label);
        }
        data
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The length of every input.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The input of sample `i`.
    pub fn input(&self, i: usize) -> &[f64] {
        &self.inputs[i * self.input_size..(i + 1) * self.input_size]
    }

    /// The class of sample `i`.
    pub fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    /// How many samples each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }
}
