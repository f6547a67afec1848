"""The benchmarks' timing helpers: warm-up calls go untimed, one time per call or item, the spread's keys."""
import numpy as np
import pytest

from inpaint.bench.timing import median_seconds, seconds_each, summary, timed_calls


def test_timed_calls_times_only_the_calls_after_warmup():
    calls = []
    seconds = timed_calls(lambda: calls.append(1), repeats=4, warmup=3)
    assert len(calls) == 7 and seconds.shape == (4,) and (seconds >= 0).all()
    assert median_seconds(lambda: None, repeats=3) >= 0


def test_seconds_each_calls_once_per_item_in_order():
    seen = []
    seconds = seconds_each(seen.append, ["a", "b", "c"])
    assert seen == ["a", "b", "c"] and seconds.shape == (3,)


def test_summary_gives_median_percentiles_and_range():
    s = summary([4.0, 1.0, 3.0, 2.0, 5.0], percentiles=(10, 90))
    assert s == {"median": 3.0, "p10": pytest.approx(1.4), "p90": pytest.approx(4.6), "min": 1.0, "max": 5.0, "n": 5}
    assert set(summary(np.arange(10.0))) == {"median", "p25", "p75", "min", "max", "n"}
    with pytest.raises(ValueError, match="no times"):
        summary([])
