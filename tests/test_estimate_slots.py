"""The time estimate counts the runs that really train side by side (issue 23: 48 runs on two
slots were estimated as if they ran one after another)."""

from seglab.analysis.estimate import estimate_study, makespan
from seglab.settings.presets import preset


def test_makespan_hands_runs_to_the_first_free_slot():
    assert makespan([10, 10, 10], 2) == 20  # two at once, then the third
    assert makespan([3, 1, 1, 1], 2) == 3  # the long run on one slot, three short on the other
    assert makespan([5], 4) == 5  # one run cannot go faster on more slots
    assert makespan([2, 2], 1) == 4


def test_two_slots_halve_an_even_study():
    base = preset("smoke", size=32, width=4)
    configs = [base.replace(seed=s) for s in range(4)]
    one = estimate_study(configs, workers=1)
    two = estimate_study(configs, workers=2, measure=False)  # the same timings, cached
    assert one is not None and two is not None
    assert abs(two.seconds - one.seconds / 2) < 1e-9
    assert "2 at a time" in two.text() and "at a time" not in one.text()
