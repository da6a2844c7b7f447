"""Log-scale axes whose ticks read as counts ('100 M', '2 G'), however narrow the range.

matplotlib's log locator labels powers of ten only, so a range within one decade (the VGG
family's 133-144 M parameters) gets no label at all. Here the ticks are the first of these that
gives at least three inside the data's range: powers of ten alone (over more than 3.5
decades), 1-2-5 per decade, 1-1.5-2-3-5-7, every integer multiple of a
power of ten, or round linear steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from archviz.render.charts import _human_formatter


def log_ticks(low: float, high: float) -> list[float]:
    """Round tick values between ``low`` and ``high`` (both > 0) for a log axis.

    >>> log_ticks(1.4e8, 3.5e10)
    [200000000.0, 500000000.0, 1000000000.0, 2000000000.0, 5000000000.0, 10000000000.0, 20000000000.0]
    >>> log_ticks(2e6, 5e11)
    [10000000.0, 100000000.0, 1000000000.0, 10000000000.0, 100000000000.0]
    >>> log_ticks(1.32e8, 1.44e8)
    [132000000, 134000000, 136000000, 138000000, 140000000, 142000000, 144000000]
    """
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    wide = math.log10(high / low) > 3.5  # 1-2-5 over more decades: the labels run together
    for multiples in (((1,),) if wide else ()) + ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), tuple(range(1, 10))):
        ticks = [m * 10.0**k for k in range(first, last + 1) for m in multiples]
        inside = [t for t in ticks if low <= t <= high]
        if len(inside) >= 3:
            return inside
    span = high - low
    step = 10 ** math.floor(math.log10(span / 3)) if span > 0 else 10 ** math.floor(math.log10(low))
    for factor in (5, 2, 1):
        if span / (step * factor) >= 2.5:
            step *= factor
            break
    start = math.ceil(low / step) * step
    count = int((high - start) // step) + 1
    return [round(start + i * step, 6) for i in range(max(count, 1))]


def log_limits(values: Sequence[float]) -> tuple[float, float]:
    """The view of a log axis over ``values``: 8% of the range on either side (in log terms), and
    never less than a factor 1.25, so a single value or a narrow family still gets round ticks.

    >>> [round(v) for v in log_limits([100, 10_000])]
    [69, 14454]
    """
    positive = [v for v in values if v > 0]
    low, high = min(positive), max(positive)
    pad = max((high / low) ** 0.08, 1.25)
    return low / pad, high * pad


def human_log_axis(axis: Any, values: Sequence[float]) -> None:
    """A log-scaled ``axis`` over ``values``: its view (:func:`log_limits`) and round ticks with count labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    low, high = log_limits(values)
    if axis.axis_name == "x":
        axis.axes.set_xlim(low, high)
    else:
        axis.axes.set_ylim(low, high)
    axis.set_major_locator(FixedLocator(log_ticks(low, high)))
    axis.set_major_formatter(_human_formatter())
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def count_axis(axis: Any, values: Sequence[float]) -> bool:
    """A log axis over ``values`` when all are positive; else (a variant with no parameters) a
    linear one from 0. Returns whether it is logarithmic."""
    from matplotlib.ticker import MaxNLocator

    setter = axis.axes.set_xlim if axis.axis_name == "x" else axis.axes.set_ylim
    if values and min(values) > 0:
        (axis.axes.set_xscale if axis.axis_name == "x" else axis.axes.set_yscale)("log")
        human_log_axis(axis, values)
        return True
    setter(0, max(values, default=0) * 1.1 or 1)
    axis.set_major_locator(MaxNLocator(6, integer=True))
    axis.set_major_formatter(_human_formatter())
    return False
