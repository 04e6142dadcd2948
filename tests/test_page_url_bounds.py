"""An edited or stale link must never break a page: URL values outside a widget's range are
pulled back to the nearest allowed value."""

from __future__ import annotations

import pytest

from tests.page_support import page_runner


@pytest.mark.parametrize(
    ("page", "key", "raw", "expected"),
    [
        ("metrics_lab", "shift_x", "999", 16),
        ("metrics_lab", "morph", "-50", -4),
        ("metrics_lab", "scale", "7.5", 1.5),
        ("architectures", "depth", "99", 5),
        ("data", "n", "100000", 256),
        ("loss_lab", "gamma", "42", 5.0),
        ("basics", "t", "-3", 0.05),
    ],
)
def test_out_of_range_url_value_is_clamped(page: str, key: str, raw: str, expected: float) -> None:
    at = page_runner(page, timeout=120)(**{key: raw})
    assert at.slider(key=key).value == expected
