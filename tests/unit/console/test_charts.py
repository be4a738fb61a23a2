"""The lag chart's coordinates and the reset form's `topics` lines: pure, no I/O."""

from __future__ import annotations

import pytest

from app.console import charts, forms


def _sample(second: int, total: int, most: int) -> dict[str, object]:
    return {"time": f"2026-12-02T06:00:{second:02d}Z", "total_lag": total, "max_lag": most}


def test_no_samples_no_chart() -> None:
    assert charts.lag_chart([]) is None


def test_the_first_sample_is_at_the_left_the_last_at_the_right_the_top_is_the_highest() -> None:
    chart = charts.lag_chart([_sample(0, 10, 4), _sample(30, 0, 0), _sample(40, 20, 8)])
    assert chart is not None
    first, _, last = chart.total_points.split()
    assert first == f"{chart.left:.1f},{chart.bottom - (chart.bottom - chart.plot_top) / 2:.1f}"
    assert last == f"{chart.right:.1f},{chart.plot_top:.1f}"
    assert chart.top == 20
    assert (chart.last_total, chart.last_max, chart.count) == (20, 8, 3)


def test_one_sample_draws_a_flat_segment_and_zero_lag_still_has_a_scale() -> None:
    chart = charts.lag_chart([_sample(0, 0, 0)])
    assert chart is not None
    assert chart.top == 1
    assert (
        chart.total_points
        == f"{chart.left:.1f},{chart.bottom:.1f} {chart.right:.1f},{chart.bottom:.1f}"
    )


def test_many_samples_are_thinned_keeping_the_latest() -> None:
    samples = [
        {
            "time": f"2026-12-02T{6 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "total_lag": i,
            "max_lag": 0,
        }
        for i in range(0, 9000, 3)
    ]
    chart = charts.lag_chart(samples)
    assert chart is not None
    assert len(chart.total_points.split()) == charts.MAX_POINTS
    assert chart.last_total == 8997
    assert chart.count == len(samples)


@pytest.mark.parametrize(
    ("raw", "topics"),
    [
        ("", []),
        ("orders", [{"topic": "orders", "partitions": []}]),
        (
            "orders:0,2\n\npayments",
            [{"topic": "orders", "partitions": [0, 2]}, {"topic": "payments", "partitions": []}],
        ),
        ("orders: 1 3", [{"topic": "orders", "partitions": [1, 3]}]),
        ("orders:-1,x", [{"topic": "orders", "partitions": ["-1", "x"]}]),
    ],
)
def test_topics_lines(raw: str, topics: list[dict[str, object]]) -> None:
    assert forms.topic_selections(raw) == topics
