"""A consumer group's lag history as an inline SVG, computed on the server: two polylines (total
and max lag) in a fixed view box, so the page needs no chart library and no script, and reads
the same without JavaScript. Pure: samples in, coordinates out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WIDTH, HEIGHT = 600, 140
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 8, 8, 22
# More points than the chart has pixels only costs bytes: keep the latest of each bucket.
MAX_POINTS = 300


@dataclass(frozen=True)
class LagChart:
    """What the template draws: polyline points, the axis labels, and the figures in words."""

    total_points: str
    max_points: str
    top: int
    first_time: str
    last_time: str
    last_total: int
    last_max: int
    count: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    right: int = WIDTH - PAD_RIGHT
    plot_top: int = PAD_TOP
    bottom: int = HEIGHT - PAD_BOTTOM


def _thin(samples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(samples) <= MAX_POINTS:
        return list(samples)
    step = len(samples) / MAX_POINTS
    picked = [samples[min(len(samples) - 1, int((i + 1) * step) - 1)] for i in range(MAX_POINTS)]
    return picked


def _time(sample: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(sample["time"]))


def lag_chart(samples: Sequence[dict[str, Any]]) -> LagChart | None:
    """The chart of `samples` (the API's `{time, total_lag, max_lag}`, oldest first); None
    without any."""
    if not samples:
        return None
    points = _thin(samples)
    start, end = _time(points[0]), _time(points[-1])
    span = (end - start).total_seconds() or 1.0
    top = max(1, max(int(s["total_lag"]) for s in points))
    left, right = PAD_LEFT, WIDTH - PAD_RIGHT
    plot_top, bottom = PAD_TOP, HEIGHT - PAD_BOTTOM

    def line(key: str) -> str:
        coords = []
        for s in points:
            x = left + (right - left) * (_time(s) - start).total_seconds() / span
            y = bottom - (bottom - plot_top) * int(s[key]) / top
            coords.append(f"{x:.1f},{y:.1f}")
        if len(coords) == 1:  # one sample: a short flat segment rather than an invisible dot
            coords.append(f"{right:.1f},{coords[0].split(',')[1]}")
        return " ".join(coords)

    return LagChart(
        total_points=line("total_lag"),
        max_points=line("max_lag"),
        top=top,
        first_time=str(points[0]["time"]),
        last_time=str(points[-1]["time"]),
        last_total=int(points[-1]["total_lag"]),
        last_max=int(points[-1]["max_lag"]),
        count=len(samples),
    )
