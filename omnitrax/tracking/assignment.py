"""One-to-one assignment over sparse candidate pairs, solved per connected component.

Candidates are (row, column, cost) triples, e.g. tracks x detections within a gate. The candidate graph
splits into small connected components that are solved on their own: closed form for components with a
single row or column and for 2 x 2 ones, scipy's linear_sum_assignment for the rest. No dense
rows x columns matrix is ever built.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def assign_min_cost(rows, cols, costs, limits, n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one assignment of least total cost where leaving a pair unmatched costs its limit.

    A pair (rows[k], cols[k]) is worth matching only if costs[k] < limits[k]; the result minimises
    the sum of (cost - limit) over the chosen pairs, so one good pair beats two poor ones (unlike
    assign_sparse, which first maximises the number of pairs). Returns (row indices, col indices),
    sorted by row; deterministic.
    """
    costs = np.asarray(costs, np.float64)
    worth = costs < np.asarray(limits, np.float64)
    gains = costs[worth] - np.asarray(limits, np.float64)[worth]  # negative: the lower the better
    return _assign(np.asarray(rows, np.int64)[worth], np.asarray(cols, np.int64)[worth], gains, n_rows, n_cols,
                   most_pairs=False)


def assign_sparse(rows, cols, costs, n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one assignment over candidate pairs (rows[k], cols[k]) with costs[k].

    Within each connected component of the candidate graph it finds the largest number of pairs
    and, among those, the smallest total cost. Returns matched (row indices, col indices), sorted
    by row. Ties are broken by pair order, so the result is deterministic.
    """
    return _assign(rows, cols, costs, n_rows, n_cols, most_pairs=True)


def _assign(rows, cols, costs, n_rows: int, n_cols: int, most_pairs: bool) -> tuple[np.ndarray, np.ndarray]:
    """most_pairs: the largest number of pairs, then the least cost; else the least total of costs,
    which are then all negative (a pair left out adds 0)."""
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    costs = np.asarray(costs, np.float64)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + n_rows)), shape=(n_rows + n_cols,) * 2)
    n_comp, labels = connected_components(graph, directed=False)
    label = labels[rows]
    rows_in = np.bincount(labels[:n_rows], minlength=n_comp)
    cols_in = np.bincount(labels[n_rows:], minlength=n_comp)
    simple = (rows_in[label] == 1) | (cols_in[label] == 1)

    out_r, out_c = [], []
    # a component with one row or one column: its cheapest pair (at most one pair is possible)
    s = np.flatnonzero(simple)
    if len(s):
        order = s[np.lexsort((s, costs[s], label[s]))]
        first = np.r_[True, label[order][1:] != label[order][:-1]]
        best = order[first]
        out_r.append(rows[best])
        out_c.append(cols[best])
    # the rest: a small dense problem per component
    c = np.flatnonzero(~simple)
    if len(c):
        c = c[np.argsort(label[c], kind="stable")]
        lab = label[c]
        # local row / column numbers inside each component, without a per-component np.unique
        r_ids, r_local, r_start = _local_index(lab, rows[c])
        c_ids, c_local, c_start = _local_index(lab, cols[c])
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        ends = np.r_[starts[1:], len(c)]
        k_all = costs[c]
        r_start, c_start = np.asarray(r_start), np.asarray(c_start)
        two_by_two = (np.diff(r_start) == 2) & (np.diff(c_start) == 2)
        # 2 x 2 components (the common case) in closed form: compare the two diagonals
        comp_of_pair = np.repeat(np.arange(len(starts)), ends - starts)
        sel = two_by_two[comp_of_pair]
        if sel.any():
            comp22 = np.flatnonzero(two_by_two)
            slot = np.full(len(starts), -1)
            slot[comp22] = np.arange(len(comp22))
            m = np.full((len(comp22), 2, 2), np.inf)
            m[slot[comp_of_pair[sel]], r_local[sel], c_local[sel]] = k_all[sel]
            diag_a = (m[:, 0, 0], m[:, 1, 1])
            diag_b = (m[:, 0, 1], m[:, 1, 0])
            n_a = np.isfinite(diag_a[0]).astype(int) + np.isfinite(diag_a[1])
            n_b = np.isfinite(diag_b[0]).astype(int) + np.isfinite(diag_b[1])
            cost_a = np.where(np.isfinite(diag_a[0]), diag_a[0], 0) + np.where(np.isfinite(diag_a[1]), diag_a[1], 0)
            cost_b = np.where(np.isfinite(diag_b[0]), diag_b[0], 0) + np.where(np.isfinite(diag_b[1]), diag_b[1], 0)
            use_a = ((n_a > n_b) | ((n_a == n_b) & (cost_a <= cost_b))) if most_pairs else (cost_a <= cost_b)
            for local_r in (0, 1):
                local_c = np.where(use_a, local_r, 1 - local_r)
                ok = np.isfinite(m[np.arange(len(comp22)), local_r, local_c])
                out_r.append(r_ids[r_start[comp22[ok]] + local_r])
                out_c.append(c_ids[c_start[comp22[ok]] + local_c[ok]])
        # larger components: a small dense problem each
        for comp in np.flatnonzero(~two_by_two).tolist():
            a, b = starts[comp], ends[comp]
            r0, r1 = r_start[comp], r_start[comp + 1]
            c0, c1 = c_start[comp], c_start[comp + 1]
            k = k_all[a:b]
            # absent pairs: too dear to take when maximising pairs; worth nothing (0) when gains count
            forbidden = (float(k.max()) + 1.0) * (min(r1 - r0, c1 - c0) + 1) if most_pairs else 0.0
            matrix = np.full((r1 - r0, c1 - c0), forbidden)
            matrix[r_local[a:b], c_local[a:b]] = k
            ri, ci = linear_sum_assignment(matrix)
            ok = matrix[ri, ci] < forbidden
            out_r.append(r_ids[r0 + ri[ok]])
            out_c.append(c_ids[c0 + ci[ok]])
    r = np.concatenate(out_r)
    col = np.concatenate(out_c)
    order = np.argsort(r, kind="stable")
    return r[order], col[order]


def _local_index(group: np.ndarray, values: np.ndarray):
    """For values grouped by `group` (group sorted ascending): the distinct values of each group,
    concatenated group by group (ids), each value's position within its group's distinct values
    (local), and where each group's distinct values start in ids (starts, one extra at the end)."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    new = np.r_[True, (g[1:] != g[:-1]) | (v[1:] != v[:-1])]
    uid = np.cumsum(new) - 1
    ids = v[new]
    group_of_id = g[new]
    starts = np.flatnonzero(np.r_[True, group_of_id[1:] != group_of_id[:-1]])
    starts = np.r_[starts, len(ids)]
    first_uid_of_group = np.repeat(starts[:-1], np.diff(starts))  # per distinct value
    local = np.empty(len(values), np.int64)
    local[order] = uid - first_uid_of_group[uid]
    return ids, local, starts.tolist()
