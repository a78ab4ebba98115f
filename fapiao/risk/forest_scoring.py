"""Scoring a fitted IsolationForest without sklearn's per-tree overhead.

sklearn's `IsolationForest.score_samples` visits its trees one by one in Python (joblib, input checks,
`tree.apply`): about 40–50 µs per tree, ≈ 10 ms per call for 200 trees whatever the batch size, which
dominates the small batches of a streaming agent. `ForestScorer` is derived from the fitted forest
once (at load) and walks all trees at once with numpy: every tree's nodes renumbered breadth-first
into shared arrays, so a node's children are adjacent (right = left + 1) and one step down all
trees for all rows of a batch is a few array gathers. Leaves point to themselves, so after
`max_depth` steps each (row, tree) sits on its leaf.

Each node carries the path length sklearn adds at that leaf: its depth plus c(n_node_samples), the
average path length of an unsuccessful search among the node's training samples (as sklearn's
`_average_path_length`), computed by the same expressions, and the trees' values are summed in the
same order, so the scores equal `score_samples` bit for bit (the calibration's steps see the same
numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

CHUNK_ROWS = 64  # rows walked together: larger chunks fall out of the CPU cache and get slower per row


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): average path length of an unsuccessful BST search among n samples (0 for n ≤ 1, 1 for 2)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class ForestScorer:
    """A fitted IsolationForest's `score_samples` as a few numpy operations per tree level."""

    def __init__(self, forest: IsolationForest) -> None:
        trees = [estimator.tree_ for estimator in forest.estimators_]
        n_features = int(forest.n_features_in_)
        subsets: Sequence[Any] = forest.estimators_features_
        # sklearn trains (and scores) each tree on a feature subset only when max_features < n_features
        subsampled = len(subsets[0]) != n_features
        left, feature, threshold, path, roots = [], [], [], [], []
        offset = 0
        for tree, subset in zip(trees, subsets, strict=True):
            order, depth = _breadth_first(tree.children_left, tree.children_right)
            new_index = np.empty(len(order), dtype=np.intp)
            new_index[order] = np.arange(len(order))
            children = tree.children_left[order]
            leaf = children == -1
            node_feature = tree.feature[order]
            if subsampled:
                node_feature = np.asarray(subset)[np.where(leaf, 0, node_feature)]
            left.append(
                np.where(leaf, np.arange(len(order)), new_index[np.where(leaf, 0, children)]) + offset
            )
            feature.append(np.where(leaf, 0, node_feature))
            threshold.append(np.where(leaf, np.inf, tree.threshold[order]))
            # the same expression, in the same order, as sklearn's per-tree depth increment
            path.append(depth + average_path_length(tree.n_node_samples[order]) - 1.0)
            roots.append(offset)
            offset += len(order)
        self.n_features = n_features
        self.n_trees = len(trees)
        self.max_depth = max(tree.max_depth for tree in trees)
        self._left = np.concatenate(left).astype(np.intp)
        self._feature = np.concatenate(feature).astype(np.intp)
        self._threshold = np.concatenate(threshold).astype(float)
        self._path = np.concatenate(path).astype(float)
        self._roots = np.asarray(roots, dtype=np.intp)
        self._denominator = self.n_trees * float(average_path_length(np.asarray([forest.max_samples_]))[0])

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """As `IsolationForest.score_samples`: the opposite of the anomaly score (lower = more abnormal).

        Rows are compared in float32, as sklearn does; NaN is not supported (the caller replaces it)."""
        with np.errstate(over="ignore"):  # beyond float32 becomes ±inf, as in sklearn
            X = np.asarray(X, dtype=np.float32).astype(float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        if np.isnan(X).any():
            raise ValueError("NaN in the input: replace it before scoring")
        depths = (
            np.concatenate(
                [self._depths(X[start : start + CHUNK_ROWS]) for start in range(0, len(X), CHUNK_ROWS)]
            )
            if len(X)
            else np.zeros(0)
        )
        if self._denominator == 0:
            return -np.ones_like(depths)
        return -(2 ** (-depths / self._denominator))

    def _depths(self, X: np.ndarray) -> np.ndarray:
        rows = len(X)
        nodes = np.broadcast_to(self._roots, (rows, self.n_trees)).copy()
        row_start = (np.arange(rows, dtype=np.intp) * self.n_features)[:, None]
        values = X.ravel()
        for _ in range(self.max_depth):
            x = values.take(row_start + self._feature.take(nodes))
            nodes = self._left.take(nodes) + (x > self._threshold.take(nodes))
        # trees along axis 0, summed one after the other in sklearn's order: the same float sums, bit for bit
        return self._path.take(np.ascontiguousarray(nodes.T)).sum(axis=0)


def _breadth_first(children_left: np.ndarray, children_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node ids in breadth-first order (each node's two children next to each other) and their depths
    (root = 1, as sklearn's `compute_node_depths`)."""
    order = [0]
    depth = [1.0]
    i = 0
    while i < len(order):
        node = order[i]
        if children_left[node] != -1:
            order += [int(children_left[node]), int(children_right[node])]
            depth += [depth[i] + 1.0, depth[i] + 1.0]
        i += 1
    return np.asarray(order, dtype=np.intp), np.asarray(depth)


def fast_scorer(estimator: Any) -> ForestScorer | None:
    """A `ForestScorer` for a fitted IsolationForest, None for any other estimator."""
    return ForestScorer(estimator) if isinstance(estimator, IsolationForest) else None
