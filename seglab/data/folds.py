"""k-fold cross-validation splits for tuning, with the test split kept out.

*Cross-validation*: to choose hyper-parameters (learning rate, width, depth, …) without
touching the test set, cut the *tuning pool* (train + validation samples) into ``k`` folds of
(almost) equal size. Each configuration is trained ``k`` times, each time validated on one
fold and trained on the other ``k - 1``; the mean (± std) of the ``k`` validation scores ranks
the configurations. Every pool sample is validated on exactly once. The test split (from
`split_indices`, same seed and fractions) is never in the pool, so the final test score of
the chosen configuration stays an honest estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seglab.data.dataset import split_indices
from seglab.errors import ConfigError


def tune_pool(n: int, *, val: float = 0.15, test: float = 0.15, seed: int = 0) -> list[int]:
    """The train + validation indices of `split_indices(n, val=val, test=test, seed=seed)`,
    sorted: everything except the test split."""
    train_idx, val_idx, _test_idx = split_indices(n, val=val, test=test, seed=seed)
    return sorted(train_idx + val_idx)


def kfold_indices(pool: Sequence[int] | int, k: int, *, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """``k`` (train, validation) index lists over ``pool`` (a list of sample indices, or an
    int ``n`` meaning ``range(n)``).

    The pool is shuffled with ``seed`` and cut into ``k`` folds whose sizes differ by at most
    one (the first ``len(pool) % k`` folds get the extra sample). Fold ``i`` validates on
    chunk ``i`` and trains on the rest. Validation folds are disjoint and together cover the
    pool exactly; all lists are sorted. Same inputs, same folds. Raises `ConfigError` if
    ``k < 2``, ``k`` exceeds the pool size, or the pool repeats an index.
    """
    items = list(range(pool)) if isinstance(pool, int) else [int(i) for i in pool]
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"Cross-validation needs a whole number of folds of at least 2, got {k!r}.")
    if len(set(items)) != len(items):
        raise ConfigError("The tuning pool lists some samples twice; each sample must appear once.")
    if k > len(items):
        raise ConfigError(
            f"Cannot cut {len(items)} samples into {k} folds: each fold needs at least one sample. "
            f"Use at most {len(items)} folds or a larger dataset."
        )
    generator = torch.Generator().manual_seed(int(seed))
    order = [items[i] for i in torch.randperm(len(items), generator=generator).tolist()]
    base, extra = divmod(len(items), k)
    folds: list[tuple[list[int], list[int]]] = []
    start = 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        held_out = order[start : start + size]
        rest = order[:start] + order[start + size :]
        folds.append((sorted(rest), sorted(held_out)))
        start += size
    return folds


def fold_splits(
    n: int,
    *,
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    folds: int | None = None,
    fold: int | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """The (train, validation, test) indices a run uses (what the engine trains on).

    * ``folds`` None: `split_indices(n, val=val, test=test, seed=seed)` unchanged.
    * ``folds`` = K, ``fold`` = k: the test split is the same as above; the pool (the rest,
      `tune_pool`) is cut by `kfold_indices(pool, K, seed=seed)` and fold k's (train, held-out)
      lists become (train, validation).
    * ``folds`` = K, ``fold`` None: the final run of a tuning. Training uses the whole pool; no
      held-out data is left, so the validation list is the pool too (the best epoch is then
      chosen on training images, without augmentation). Test is still the same split.
    """
    train_idx, val_idx, test_idx = split_indices(n, val=val, test=test, seed=seed)
    if folds is None:
        if fold is not None:
            raise ConfigError("fold needs folds (how many folds the pool is cut into).")
        return train_idx, val_idx, test_idx
    pool = sorted(train_idx + val_idx)
    if fold is None:
        return pool, list(pool), test_idx
    cuts = kfold_indices(pool, folds, seed=seed)
    if not 0 <= fold < folds:
        raise ConfigError(f"fold must lie between 0 and {folds - 1}, got {fold}.")
    fold_train, fold_val = cuts[fold]
    return fold_train, fold_val, test_idx
