//! Order statistics for the report: percentiles of latencies, and medians with their spread
//! (interquartile range, min–max) of per-round values.

/// The `q`-quantile (0..=1) of `values` by the nearest-rank method; NaN when empty.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    // Linear interpolation between the closest ranks (R's type 7): smooth for small samples.
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A median with its spread.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// How many values.
    pub n: usize,
}

impl Spread {
    /// The spread of `values` (NaN fields when empty).
    pub fn of(values: &[f64]) -> Spread {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Spread {
                median: f64::NAN,
                q1: f64::NAN,
                q3: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
                n: 0,
            };
        }
        Spread {
            median: quantile_sorted(&v, 0.5),
            q1: quantile_sorted(&v, 0.25),
            q3: quantile_sorted(&v, 0.75),
            min: v[0],
            max: v[v.len() - 1],
            n: v.len(),
        }
    }

    /// The interquartile range.
    pub fn iqr(&self) -> f64 {
        self.q3 - self.q1
    }

    /// `median [IQR q1–q3] min–max` with `decimals` digits.
    pub fn show(&self, decimals: usize) -> String {
        format!(
            "{:.d$} [IQR {:.d$}–{:.d$}, {:.d$}–{:.d$}]",
            self.median,
            self.q1,
            self.q3,
            self.min,
            self.max,
            d = decimals
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn spread_of_odd_sample() {
        let s = Spread::of(&[5.0, 1.0, 3.0, f64::NAN, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 5));
        assert_eq!((s.q1, s.q3), (2.0, 4.0));
        assert_eq!(s.iqr(), 2.0);
    }
}
