//! Pareto fronts of (value to maximise, cost to minimise) points.

/// Indices (ascending) of the points no other point dominates. `b` dominates `a` when
/// `b.value >= a.value`, `b.cost <= a.cost` and one of the two is strict; identical points do not
/// dominate each other, so all copies of a front point are on the front. NaN coordinates never
/// dominate and are never on the front.
pub fn front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).filter(|&i| !points[i].0.is_nan() && !points[i].1.is_nan()).collect();
    // Cheapest first; within a cost, best value first.
    order.sort_by(|&a, &b| {
        let (pa, pb) = (points[a], points[b]);
        pa.1.total_cmp(&pb.1).then(pb.0.total_cmp(&pa.0))
    });
    let mut out = vec![];
    let mut best_cheaper: Option<f64> = None;
    let mut i = 0;
    while i < order.len() {
        let cost = points[order[i]].1;
        // `==`, not `total_cmp`: -0.0 and 0.0 are the same cost, as in the definition above.
        let group_end = i + order[i..].iter().take_while(|&&k| points[k].1 == cost).count();
        let top = order[i..group_end].iter().map(|&k| points[k].0).fold(points[order[i]].0, f64::max);
        // Only the group's best value can survive its own group, and only if every cheaper point is worse.
        if best_cheaper.is_none_or(|b| top > b) {
            out.extend(order[i..group_end].iter().copied().filter(|&k| points[k].0 == top));
        }
        best_cheaper = Some(best_cheaper.map_or(top, |b| b.max(top)));
        i = group_end;
    }
    out.sort_unstable();
    out
}
