"""An edited or stale link must never break a page: a URL value a widget cannot take (out of
its range, or not a number) is ignored and the widget shows its default."""

from __future__ import annotations

import pytest

from tests.page_support import page_runner


@pytest.mark.parametrize(
    ("page", "key", "raw", "default"),
    [
        ("metrics_lab", "shift_x", "999", 3),
        ("metrics_lab", "morph", "-50", 0),
        ("metrics_lab", "scale", "7.5", 1.0),
        ("architectures", "depth", "99", 3),
        ("data", "n", "100000", 48),
        ("loss_lab", "gamma", "42", 2.0),
        ("basics", "t", "-3", 0.5),
        ("basics", "t", "banana", 0.5),
    ],
)
def test_out_of_range_url_value_falls_back_to_the_default(
    page: str, key: str, raw: str, default: float
) -> None:
    at = page_runner(page, timeout=120)(**{key: raw})
    assert at.slider(key=key).value == default


@pytest.mark.parametrize(("page", "key", "raw"), [("metrics_lab", "shift_x", "-7"), ("basics", "t", "0.7")])
def test_in_range_url_value_is_used(page: str, key: str, raw: str) -> None:
    at = page_runner(page, timeout=120)(**{key: raw})
    assert at.slider(key=key).value == pytest.approx(float(raw))
