"""k-fold cross-validation splits: the properties the tuning relies on, tested directly."""

from __future__ import annotations

import pytest

from seglab.data import kfold_indices, split_indices, tune_pool
from seglab.errors import ConfigError, SegLabError


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("n", [5, 6, 11, 40])
def test_folds_are_disjoint_cover_the_pool_and_are_balanced(n: int, k: int, seed: int) -> None:
    pool = tune_pool(n, val=0.2, test=0.2, seed=seed)
    _, _, test_idx = split_indices(n, val=0.2, test=0.2, seed=seed)
    assert sorted(pool + test_idx) == list(range(n)) and not set(pool) & set(test_idx)
    if k > len(pool):
        with pytest.raises(ConfigError):
            kfold_indices(pool, k, seed=seed)
        return
    folds = kfold_indices(pool, k, seed=seed)
    assert len(folds) == k
    held_out = [i for _, val in folds for i in val]
    assert sorted(held_out) == pool  # every pool sample validated exactly once
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert sorted(train + val) == pool and not set(train) & set(val)
        assert train == sorted(train) and val == sorted(val)
        assert not set(train + val) & set(test_idx), "the test split is never used while tuning"
    assert kfold_indices(pool, k, seed=seed) == folds  # deterministic


def test_an_int_pool_means_range_n_and_the_seed_matters() -> None:
    assert kfold_indices(10, 5, seed=3) == kfold_indices(list(range(10)), 5, seed=3)
    assert kfold_indices(30, 3, seed=0) != kfold_indices(30, 3, seed=1)
    # n = k: leave-one-out
    assert sorted(val for _, (val,) in kfold_indices([4, 8, 9], 3, seed=0)) == [4, 8, 9]
    # sizes with a remainder: 11 = 4 + 4 + 3
    assert sorted(len(v) for _, v in kfold_indices(11, 3, seed=0)) == [3, 4, 4]


@pytest.mark.parametrize(
    ("pool", "k", "words"),
    [
        (3, 4, "Cannot cut 3 samples into 4 folds"),
        (10, 1, "at least 2"),
        (10, 2.5, "whole number"),
        ([1, 2, 2, 3], 2, "twice"),
        ([], 2, "Cannot cut 0 samples"),
    ],
)
def test_impossible_requests_are_refused_plainly(pool, k, words: str) -> None:
    with pytest.raises(SegLabError, match=words):
        kfold_indices(pool, k, seed=0)
