//! Assignment of a new vector to existing themes.

use super::vecmath::{dot, normalize};
use super::ThemesResult;

/// The `top` nearest themes of `vector` by cosine similarity to the theme centroids,
/// as `(theme_id, cosine)` sorted by similarity descending (ties by id).
///
/// Returns an empty list when `vector` is empty, has a different dimension than the
/// centroids, contains NaN/∞ or has zero norm.
pub fn assign_theme(result: &ThemesResult, vector: &[f32], top: usize) -> Vec<(u32, f32)> {
    let mut v = vector.to_vec();
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) || !normalize(&mut v) {
        return Vec::new();
    }
    let mut out: Vec<(u32, f32)> =
        result.themes.iter().filter(|t| t.centroid.len() == v.len()).map(|t| (t.id, dot(&t.centroid, &v))).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::{cluster_themes, ThemeParams};

    #[test]
    fn member_is_assigned_to_its_theme() {
        let (inputs, _) = synthetic_inputs(10, 41);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let t0 = &r.themes[0];
        let member = inputs.iter().find(|i| i.id == t0.members[0]).unwrap();
        let a = assign_theme(&r, &member.vector, 2);
        assert_eq!(a.len(), 2.min(r.themes.len()));
        assert_eq!(a[0].0, t0.id);
        assert!(a[0].1 >= a.last().unwrap().1);
        assert!(assign_theme(&r, &[f32::NAN; 24], 3).is_empty());
        assert!(assign_theme(&r, &[1.0; 5], 3).is_empty());
        assert!(assign_theme(&r, &[], 3).is_empty());
    }
}
