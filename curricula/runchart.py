"""Run charts: the rules that tell signal from noise, and the chart drawn as accessible SVG.

Pure Python (no application imports): modules draw their run-chart exercises with it, and the measures
of organisational capability will chart their snapshots with it.

The rules, on the points that do not fall on the median (the *useful* observations; a point on the
median neither makes nor breaks a run):
- Anhøj's two rules, whose limits depend on how many useful observations there are: an unusually long
  run (more points in a row on one side of the median than round(log2(n) + 3)) and unusually few
  crossings of the median (fewer than the 5th percentile of a binomial(n - 1, 0.5)). For 24 useful
  observations the longest run allowed is 8 and the fewest crossings 8.
- The IHI rules taught alongside them: a shift (six or more points in a row on one side of the median)
  and a trend (five or more points in a row each going up, or each going down; a point equal to the one
  before neither makes nor breaks a trend).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

SHIFT = 6  # points in a row on one side of the median (IHI)
TREND = 5  # points in a row going the same way (IHI)


def longest_run_limit(useful: int) -> int:
    """Anhøj: a run longer than this, among `useful` observations, is a signal."""
    return round(math.log2(useful) + 3) if useful > 0 else 0


def fewest_crossings(useful: int) -> int:
    """Anhøj: fewer crossings of the median than this, among `useful` observations, is a signal (the 5th
    percentile of the binomial distribution with n - 1 trials of probability 1/2)."""
    if useful < 2:
        return 0
    trials, total, seen = useful - 1, 2 ** (useful - 1), 0
    for crossings in range(trials + 1):
        seen += math.comb(trials, crossings)
        if seen / total >= 0.05:
            return crossings
    return trials  # pragma: no cover - the loop always returns


@dataclass(frozen=True, slots=True)
class Analysis:
    median: float
    useful: int  # observations not on the median
    longest_run: int
    longest_run_limit: int
    crossings: int
    fewest_crossings: int
    longest_shift: int  # the longest run, compared with SHIFT
    longest_trend: int  # the most points in a row going one way

    @property
    def runs(self) -> int:
        return self.crossings + 1 if self.useful else 0

    @property
    def long_run(self) -> bool:
        return self.longest_run > self.longest_run_limit

    @property
    def few_crossings(self) -> bool:
        return self.crossings < self.fewest_crossings

    @property
    def shift(self) -> bool:
        return self.longest_shift >= SHIFT

    @property
    def trend(self) -> bool:
        return self.longest_trend >= TREND

    @property
    def signals(self) -> tuple[str, ...]:
        """What the rules find, each as a sentence; empty when the chart shows only random variation."""
        found = []
        if self.shift:
            found.append(f"A shift: {self.longest_shift} points in a row on one side of the median.")
        if self.trend:
            found.append(f"A trend: {self.longest_trend} points in a row going the same way.")
        if self.long_run:
            found.append(
                f"An unusually long run: {self.longest_run} points, where {self.longest_run_limit} is the "
                f"most expected for {self.useful} useful observations."
            )
        if self.few_crossings:
            found.append(
                f"Too few runs: the line crosses the median {_times(self.crossings)}, where at least "
                f"{self.fewest_crossings} is expected for {self.useful} useful observations."
            )
        return tuple(found)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def analyse(values: Sequence[float]) -> Analysis:
    """The run-chart rules applied to `values`, in time order (at least one value)."""
    if not values:
        raise ValueError("a run chart needs at least one value")
    median = statistics.median(values)
    sides = [1 if v > median else -1 for v in values if v != median]
    longest = run = 0
    crossings = 0
    for i, side in enumerate(sides):
        run = run + 1 if i and side == sides[i - 1] else 1
        crossings += bool(i and side != sides[i - 1])
        longest = max(longest, run)
    return Analysis(
        median=median,
        useful=len(sides),
        longest_run=longest,
        longest_run_limit=longest_run_limit(len(sides)),
        crossings=crossings,
        fewest_crossings=fewest_crossings(len(sides)),
        longest_shift=longest,
        longest_trend=_longest_trend(values),
    )


def _longest_trend(values: Sequence[float]) -> int:
    """The most points in a row each higher (or each lower) than the one before; equal neighbours are
    skipped: they neither make nor break a trend."""
    distinct = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    if len(distinct) < 2:
        return len(distinct)
    longest = steps = 1
    direction = 0
    for before, after in itertools.pairwise(distinct):
        step = 1 if after > before else -1
        steps = steps + 1 if step == direction else 2
        direction = step
        longest = max(longest, steps)
    return longest


# --- drawing ---------------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 24, 56


def _number(value: float) -> str:
    return f"{value:g}"


def draw(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    y_label: str = "",
    ident: str = "run-chart",
) -> str:
    """The chart as SVG: points joined by a line, the median as a dashed line named in text, a title and
    a description screen readers announce (what the rules find is appended to the author's words), and
    nothing that needs colour to be read."""
    analysis = analyse(values)
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / len(values))

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    found = " ".join(analysis.signals) or "The rules find no signal: only random variation."
    summary = f"{description} Median {_number(analysis.median)}. {found}".strip()
    t, d = f"{ident}-title", f"{ident}-desc"
    parts = [
        f'<svg class="run-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{t} {d}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{t}">{escape(title)}</title>',
        f'<desc id="{d}">{escape(summary)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
    ]
    for v in (low + pad, (low + high) / 2, high - pad):
        tick = _number(round(v, 1))
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y(v):.1f}" text-anchor="end">{tick}</text>')
    if y_label:
        parts.append(
            f'<text class="axis-label" x="18" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 18 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
        )
    step = max(1, math.ceil(len(labels) / 6))
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{TOP + plot_h + 24}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    median_y = y(analysis.median)
    parts.append(
        f'<line class="median" x1="{LEFT}" y1="{median_y:.1f}" x2="{WIDTH - RIGHT}" y2="{median_y:.1f}" '
        f'stroke-dasharray="6 4"/>'
    )
    parts.append(
        f'<text class="median-label" x="{WIDTH - RIGHT}" y="{median_y - 6:.1f}" text-anchor="end">'
        f"Median {_number(analysis.median)}</text>"
    )
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline class="data" points="{points}" fill="none"/>')
    parts.extend(
        f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="4"/>' for i, v in enumerate(values)
    )
    parts.append("</svg>")
    return "".join(parts)


def table(values: Sequence[float], labels: Sequence[str], *, caption: str, value_label: str = "Value") -> str:
    """The chart's data as an HTML table (shown behind a toggle beside the chart)."""
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        f'<td data-label="{escape(value_label)}">{_number(v)}</td></tr>'
        for label, v in zip(labels, values, strict=True)
    )
    return (
        f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">When</th>'
        f'<th scope="col">{escape(value_label)}</th></tr></thead><tbody>{rows}</tbody></table>'
    )
