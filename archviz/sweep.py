"""Sweeps: the totals of every combination of variable values, input shapes and batch sizes.

A sweep is a grid. Each spec variable to vary gets a list of values; ``input`` gets a list of
shapes and ``batch`` a list of batch sizes. Every combination is one variant and gives one
row: the values that made it, then its totals (the same :class:`~archviz.analysis.Totals` as
``analyze()``), or an ``error`` where that variant is not a valid network (an input too small
for its pooling, a width that makes fractional filters): a sweep reports those, it does not
stop at them.

Rows come in a fixed order: the variables in the order given (the first changes slowest),
then the batch, then the input shape. Each combination of variables becomes a network once,
derived from the spec's by a replay where it changes only attributes (``Network.with_variables``,
archviz/spec/replay.py), and its plan is reused for every batch and input. The analyses of one
network at one batch share a memo of the layers' sums after each cut, and all variants at one
batch the sums up to each cut (see ``analysis.totals_only``): that is what makes a sweep fast.
Rows are produced one at a time and every memo is capped, so a sweep of any length runs in
bounded memory. The grid itself is never built: a range (``input=32..100000031``) stays a
:class:`range` inside :class:`Values`, input sizes become shapes as they are reached
(:class:`Shapes`), the combinations come from :func:`lazy_product` (``itertools.product`` would
first copy every input into a tuple) and their number is counted with arithmetic.

>>> import archviz
>>> rows = archviz.iter_sweep("vgg16", vary={"num_classes": [10, 1000], "input": ["3x32x32"]})
>>> [(row["num_classes"], row["params"]) for row in rows]
[(10, 33638218), (1000, 37694248)]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archviz.analysis import Totals, check_dtype, totals_only
from archviz.errors import ArchvizError, ArgumentError, SpecError
from archviz.network import Network, load
from archviz.shapes import Shape, input_from_sizes
from archviz.spec.expand import through_extends
from archviz.spec.expr import check_value
from archviz.spec.values import MAX_SIZE
from archviz.suggest import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

INPUT = "input"
BATCH = "batch"
ERROR = "error"
TOTALS_COLUMNS = Totals._fields
COUNT_COLUMNS = tuple(name for name in TOTALS_COLUMNS if name not in ("output_shape", "dtype"))
MAX_VARIANTS = 100_000_000
MAX_TABLE_ROWS = 10_000  # a table is laid out whole; csv and json stream
MEMO_LIMIT = 20_000  # remembered suffixes per network and batch (a few MB at most)
PREFIX_LIMIT = 20_000  # remembered prefixes, for all variants and batches (a few MB at most)
RANGE_DIGITS = 18
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?::\s*(\d+)\s*)?$")


class Values(Sequence[Any]):
    """The values of one ``--vary``: pieces (a ``range`` or a tuple of literals) one after another.

    Nothing is expanded: the length is the pieces' lengths added, an item is found in its piece.

    >>> values = Values([(1, 2), range(10, 10**8)])
    >>> len(values), values[0], values[2], values[-1], list(itertools.islice(values, 4))
    (99999992, 1, 10, 99999999, [1, 2, 10, 11])
    """

    def __init__(self, pieces: Iterable[Sequence[Any]]) -> None:
        self.pieces = tuple(piece for piece in pieces if len(piece))
        self.length = sum(len(piece) for piece in self.pieces)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, int):
            raise TypeError("Values are indexed by one integer")
        position = index + self.length if index < 0 else index
        if not 0 <= position < self.length:
            raise IndexError(index)
        for piece in self.pieces:
            if position < len(piece):
                return piece[position]
            position -= len(piece)
        raise IndexError(index)  # pragma: no cover  (the length is the pieces' lengths)

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self.pieces)

    def __eq__(self, other: object) -> bool:
        """Equal to any list, tuple, range or Values with the same items in the same order."""
        if not isinstance(other, (Values, list, tuple, range)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Values({list(self.pieces)!r})"


class Shapes(Sequence[Shape]):
    """Input shapes made from the ``input`` values as each is reached; every one checked beforehand.

    Literals are converted once, up front (a bad one is an error before the first row); a range
    of square sizes is checked at its two ends, which is enough: every size in it is an integer
    between them, and each becomes its shape only when the sweep reaches it.
    """

    def __init__(self, values: Sequence[Any], default: Shape) -> None:
        self.default = default
        pieces: list[Sequence[Any]] = []
        for piece in values.pieces if isinstance(values, Values) else (values,):
            if isinstance(piece, range):
                for end in (piece[0], piece[-1]):  # every size between passes what both ends pass
                    as_shape(end, default)
                pieces.append(piece)
            else:
                pieces.append(tuple(as_shape(value, default) for value in piece))
        self.pieces = tuple(pieces)
        self.length = len(values)

    def _square(self, size: int) -> Shape:
        default = self.default
        return (default[0], size, size) if len(default) == 3 else as_shape(size, default)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: Any) -> Any:
        value = Values(self.pieces)[index]
        return self._square(value) if isinstance(value, int) else value

    def __iter__(self) -> Iterator[Shape]:
        for piece in self.pieces:
            if isinstance(piece, range):
                yield from map(self._square, piece)
            else:
                yield from piece


def lazy_product(sequences: Sequence[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """``itertools.product`` of re-iterable sequences without copying them: the first changes slowest.

    >>> list(lazy_product([range(2), "ab"]))
    [(0, 'a'), (0, 'b'), (1, 'a'), (1, 'b')]
    >>> next(lazy_product([range(10**8), range(10**8)]))
    (0, 0)
    """
    if not sequences:
        yield ()
        return
    if any(len(sequence) == 0 for sequence in sequences):
        return
    head, rest = sequences[0], sequences[1:]
    for value in head:
        for tail in lazy_product(rest):
            yield (value, *tail)


def _checked_values(values: Sequence[Any]) -> Iterator[Any]:
    """The values that stand for all of ``values`` in a check: every literal, and a range's two ends
    (every integer between them passes any check of size and type that both ends pass)."""
    for piece in values.pieces if isinstance(values, Values) else (values,):
        if isinstance(piece, range):
            yield from (piece[0], piece[-1]) if len(piece) > 1 else piece
        else:
            yield from piece


@dataclass(frozen=True)
class SweepPlan:
    """A checked grid: what varies, in which order, and how many variants it makes."""

    network: Network
    variables: tuple[tuple[str, Sequence[Any]], ...]
    inputs: Sequence[Shape]
    batches: Sequence[int]
    dtype: str = "float32"  # of every row's memory figures

    @property
    def size(self) -> int:
        count = len(self.inputs) * len(self.batches)
        for _, values in self.variables:
            count *= len(values)
        return count

    @property
    def columns(self) -> tuple[str, ...]:
        """The row keys, in order: the varied variables, batch, input, every total, error."""
        return (*(name for name, _ in self.variables), BATCH, INPUT, *TOTALS_COLUMNS, ERROR)


def plan_sweep(spec: str | Path | Network, vary: Mapping[str, Sequence[Any]] | None = None,
               batch: int | Sequence[int] = 1, *, dtype: str = "float32", **variables: Any) -> SweepPlan:
    """Check a grid before anything runs: names, values, shapes; raise SpecError on a bad one.

    ``vary`` maps a spec variable, ``input`` or ``batch`` to its values. Input shapes may be
    tuples, ``"CxHxW"``/``"HxW"`` text or one size for a square input with the spec's channels.
    ``variables`` fix other variables for the whole sweep; ``dtype`` is the one the memory
    columns are in (float32, bfloat16, float16, int8).
    """
    check_dtype(dtype)
    network = spec if isinstance(spec, Network) else load(spec, **variables)
    if isinstance(spec, Network) and variables:
        network = network.with_variables(**variables)
    if vary is not None and not isinstance(vary, Mapping):
        raise ArgumentError(f"vary must map names to lists of values. Received: {type(vary).__name__}",
                            hint="e.g. vary={'width': [0.5, 1, 2], 'input': [224, 160]}")
    vary = dict(vary or {})
    inputs: Sequence[Shape] = (network.input_shape,)
    if isinstance(batch, int):
        batches: Sequence[Any] = (batch,)
    elif isinstance(batch, (str, bytes, Mapping)) or not isinstance(batch, Iterable):
        raise ArgumentError(f"batch must be an integer or a list of integers. Received: {type(batch).__name__} "
                            f"{_short(batch)}", hint="e.g. batch=8 or batch=[1, 8, 32]")
    else:
        batches = _values(BATCH, batch)
    grid: list[tuple[str, Sequence[Any]]] = []
    for name, values in vary.items():
        values = _values(name, values)
        if not len(values):
            raise SpecError(f"--vary {name} needs at least one value. Received: none",
                            hint=f"e.g. --vary {name}=1,2,3")
        if name == INPUT:
            inputs = Shapes(values, network.input_shape)
        elif name == BATCH:
            batches = values
        elif name not in network.variables:
            known = ", ".join(network.variables) or "none"
            raise SpecError(f"unknown variable {name!r} to vary (this spec's variables: {known}; or input, batch)",
                            hint=did_you_mean(name, [*network.variables, INPUT, BATCH]))
        else:
            for value in _checked_values(values):
                check_value(name, value)  # at once, not in each row's error cell
            grid.append((name, values))
    for value in _checked_values(batches):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"batch sizes must be integers >= 1. Received: batch={_short(value)}")
        if value > MAX_SIZE:
            raise SpecError(f"batch sizes must be <= {MAX_SIZE:,}. Received: batch={_short(value)}")
    plan = SweepPlan(network, tuple(grid), inputs, batches, dtype)
    if plan.size > MAX_VARIANTS:
        raise SpecError(f"the grid has {plan.size:,} variants; the limit is {MAX_VARIANTS:,}",
                        hint="sweep fewer values at once")
    return plan


def run_sweep(plan: SweepPlan, progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of ``plan``, one at a time (see the module doc for the order and the columns).

    ``progress`` is called with the number of rows produced so far, every 1,000 rows and at the end.
    """
    names = [name for name, _ in plan.variables]
    done = 0
    prefixes_at: dict[int, dict[Any, Any]] = {}
    prefix_limit = PREFIX_LIMIT // len(plan.batches)  # for all batches together
    for combination in lazy_product([values for _, values in plan.variables]):
        chosen = dict(zip(names, combination))
        try:
            network: Network | None = plan.network.with_variables(**chosen) if chosen else plan.network
            failure = None
        except ArchvizError as exc:
            network, failure = None, one_line(exc)
        for batch in plan.batches:
            memo: dict[Any, Any] = {}  # one network at one batch: see analysis.totals_only
            # every variant at one batch; only variants share prefixes
            prefixes = prefixes_at.setdefault(batch, {}) if names else None
            for shape in plan.inputs:
                row: dict[str, Any] = {**chosen, BATCH: batch, INPUT: shape}
                if network is not None:
                    if len(memo) > MEMO_LIMIT:
                        memo.clear()  # bounded memory, whatever the number of inputs
                    if prefixes is not None and len(prefixes) > prefix_limit:
                        prefixes.clear()
                    try:
                        if network.spec.outputs and network.spec.outputs[0] != network.ordered[-1].name:
                            totals = network.totals_at(shape, batch, plan.dtype)  # the output is not where the walk ends
                        else:
                            totals = totals_only(network.plan, shape, batch, memo, prefixes, plan.dtype)
                    except ArchvizError as exc:
                        row[ERROR] = one_line(through_extends(exc, network.document))
                    else:
                        row.update(zip(TOTALS_COLUMNS, totals))
                        row[ERROR] = None
                else:
                    row[ERROR] = failure
                yield row
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(done)
    if progress is not None:
        progress(done)


def iter_sweep(spec: str | Path | Network, vary: Mapping[str, Sequence[Any]] | None = None,
               batch: int | Sequence[int] = 1, *, dtype: str = "float32",
               **variables: Any) -> Iterator[dict[str, Any]]:
    """Stream the rows of a sweep (plain dicts); checks the grid first, so a bad name raises at once.

    >>> rows = iter_sweep("vgg16", vary={"input": [224, 32]})
    >>> [row["macs"] for row in rows]
    [15470264320, 336166912]
    """
    return run_sweep(plan_sweep(spec, vary, batch, dtype=dtype, **variables))


def sweep(spec: str | Path | Network, vary: Mapping[str, Sequence[Any]] | None = None,
          batch: int | Sequence[int] = 1, *, dtype: str = "float32", **variables: Any) -> pd.DataFrame:
    """All rows of a sweep as a pandas DataFrame (pandas is imported here only).

    Rows with an ``error`` have no totals (<NA>): integer columns then use pandas' nullable
    Int64 (or object for counts beyond 64 bits), never float, so every count stays exact.

    >>> frame = sweep("vgg16", vary={"num_classes": [10, 1000], "input": ["3x224x224", "3x32x32"]})
    >>> frame["params"].tolist()
    [134301514, 33638218, 138357544, 37694248]
    """
    import pandas as pd

    plan = plan_sweep(spec, vary, batch, dtype=dtype, **variables)
    columns: dict[str, list[Any]] = {name: [] for name in plan.columns}
    for row in run_sweep(plan):
        for name, values in columns.items():
            values.append(row.get(name))
    data: dict[str, Any] = {}
    for name, values in columns.items():
        if name in COUNT_COLUMNS and None in values:
            exact = all(value is None or -2**63 <= value < 2**63 for value in values)
            data[name] = pd.array(values, dtype="Int64") if exact else pd.Series(values, dtype=object)
        else:
            data[name] = values
    return pd.DataFrame(data, columns=list(plan.columns))


def pareto_front(points: Sequence[tuple[float, float]], maximise: tuple[bool, bool] = (False, False)) -> list[int]:
    """Indices of the points no other point beats on both axes, in order of the first axis.

    Both axes are minimised unless ``maximise`` says otherwise (accuracy against MACs:
    ``maximise=(False, True)``). A point is on the front when every point at least as good on
    the first axis is worse on the second (duplicates of a front point are on it too).

    >>> pareto_front([(1, 9), (2, 5), (3, 7), (4, 1), (2, 5)])
    [0, 1, 4, 3]
    >>> pareto_front([(7.6, 69.0), (1.8, 69.8), (4.1, 76.1), (15.5, 71.6)], maximise=(False, True))
    [1, 2]
    """
    signs = tuple(-1 if flag else 1 for flag in maximise)
    scored = [(point[0] * signs[0], point[1] * signs[1]) for point in points]
    order = sorted(range(len(scored)), key=lambda i: scored[i])
    front: list[int] = []
    best: float | None = None
    last: tuple[float, float] | None = None
    for index in order:
        point = scored[index]
        if best is None or point[1] < best or point == last:
            front.append(index)
            best = point[1] if best is None else min(best, point[1])
            last = point
    return front


@dataclass
class SweepPoints:
    """What the sweep's chart draws: each valid variant's MACs and params and its values on the
    axes that vary (more than one value: the variables in order, then batch, then input).

    Params and MACs are both costs, so their Pareto front is only ever the smallest variant: a
    sweep has no quantity worth trading them against (no accuracy), and its chart draws no front
    (:func:`pareto_front` with an accuracy: ``archviz chart --kind accuracy``).
    """

    axes: tuple[str, ...]
    batches: tuple[int, ...]
    values: list[tuple[Any, ...]]
    macs: list[int]
    params: list[int]
    invalid: int = 0

    @classmethod
    def for_plan(cls, plan: SweepPlan) -> SweepPoints:
        axes = [name for name, values in plan.variables if len(values) > 1]
        axes += [name for name, values in ((BATCH, plan.batches), (INPUT, plan.inputs)) if len(values) > 1]
        batches = tuple(itertools.islice(plan.batches, 0, 1000))
        return cls(tuple(axes), batches, [], [], [])

    def collect(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pass ``rows`` on, keeping each valid variant's point."""
        for row in rows:
            if row[ERROR] is None:
                self.values.append(tuple(row[axis] for axis in self.axes))
                self.macs.append(row["macs"])
                self.params.append(row["params"])
            else:
                self.invalid += 1
            yield row


# -- the --vary syntax ------------------------------------------------------------------------

def parse_vary(texts: Sequence[str]) -> dict[str, Values]:
    """``NAME=V1,V2,...`` (repeatable) into {name: values}.

    Values are read like ``--set`` (YAML scalars: 2, 0.5, true, text); ``A..B`` or ``A..B:STEP``
    is an inclusive integer range. ``input`` values are shapes: ``3x224x224``, ``224x224`` or
    ``224`` (square), and ranges of square sizes (``input=32..512:32``).
    """
    from archviz.spec.expand import parse_override

    grid: dict[str, Values] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise SpecError(f"--vary expects NAME=V1,V2,... Received: {text!r}",
                            hint="e.g. --vary width=0.5,1,2 --vary input=3x224x224,3x160x160")
        if name in grid:
            raise SpecError(f"--vary {name} is given twice", hint=f"list every value once: --vary {name}=A,B,C")
        pieces: list[Sequence[Any]] = []
        literals: list[Any] = []
        for item in raw.split(","):
            item = item.strip()
            if not item:
                raise SpecError(f"--vary {name} has an empty value. Received: {text!r}",
                                hint="separate values with single commas, e.g. 1,2,3")
            expanded = _range(name, item)
            if expanded is not None:
                pieces += [tuple(literals), expanded]
                literals = []
            elif name == INPUT:
                literals.append(item)
            else:
                literals.append(parse_override(f"{name}={item}", "--vary")[1])
        grid[name] = Values([*pieces, tuple(literals)])
        if len(grid[name]) > MAX_VARIANTS:
            raise SpecError(f"--vary {name} has {len(grid[name]):,} values; the limit is {MAX_VARIANTS:,}",
                            hint="sweep fewer values at once")
    return grid


def _range(name: str, item: str) -> range | None:
    match = _RANGE.match(item)
    if match is None:
        return None
    if max(len(match[1]), len(match[2]), len(match[3] or "")) > RANGE_DIGITS:
        # int() of more than 4,300 digits raises ValueError; no size or count has 19
        raise SpecError(f"--vary {name} range bounds may have at most {RANGE_DIGITS} digits. "
                        f"Received: {item[:40]!r}{'...' if len(item) > 40 else ''}")
    start, stop, step = int(match[1]), int(match[2]), int(match[3] or 1)
    if step < 1 or stop < start:
        raise SpecError(f"--vary {name} range {item!r} is empty", hint="write START..STOP[:STEP] with START <= STOP")
    count = (stop - start) // step + 1
    if count > MAX_VARIANTS:
        raise SpecError(f"--vary {name} range {item!r} has {count:,} values; the limit is {MAX_VARIANTS:,}")
    return range(start, stop + 1, step)


def _values(name: str, values: Any) -> Sequence[Any]:
    """The values to vary one name over: a list, tuple, range or other iterable, never one value
    (``vary={"width": 5}``) or a str (its characters). A range or Values stays lazy (never expanded)."""
    if isinstance(values, (str, bytes, bytearray, Mapping)) or not isinstance(values, Iterable):
        raise ArgumentError(f"vary[{name!r}] must be a list of values. Received: {type(values).__name__} "
                            f"{_short(values)}", hint=f"e.g. vary={{{name!r}: [{_short(values)}]}}")
    return values if isinstance(values, (range, Values)) else tuple(values)


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits, alone or inside a tuple
        text = "(a number of more than 4,300 digits)"
    return text if len(text) <= 40 else text[:37] + "..."


def as_shape(value: Any, default: Shape) -> Shape:
    """An input shape from a tuple, 'CxHxW' / 'HxW' / 'S' text or one int S (square, the spec's channels)."""
    if isinstance(value, (tuple, list)):
        sizes = tuple(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        sizes = (value,)  # not through str(): it refuses more than 4,300 digits
    else:
        text = str(value).lower().replace("×", "x")
        try:
            sizes = tuple(int(part) for part in text.split("x"))
        except ValueError:
            sizes = ()
    if not sizes or any(isinstance(size, bool) or not isinstance(size, int) for size in sizes):
        raise SpecError(f"input must look like CxHxW, HxW or S. Received: input={_short(value)}",
                        hint="e.g. --vary input=3x224x224,160,128x96")
    if any(size < 1 for size in sizes):
        raise SpecError(f"input sizes must be >= 1. Received: input={_short(value)}")
    if any(size > MAX_SIZE for size in sizes):
        raise SpecError(f"input sizes must be <= {MAX_SIZE:,}. Received: input={_short(value)}",
                        hint="archviz limits sizes to 2**31-1 to keep every count exact and fast")
    if len(sizes) in (1, 2) and len(default) == 3:
        return input_from_sizes(sizes, default, f"input={_short(value)}")
    if len(sizes) != len(default):
        raise SpecError(f"input must have {len(default)} dimensions like the spec's {list(default)}. "
                        f"Received: input={_short(value)}")
    return sizes


def one_line(exc: ArchvizError) -> str:
    """An error as one line, for a cell of a table or CSV: its frames and notes after ';'."""
    head, *rest = exc.render().split("\n")
    hint = f"  hint: {exc.hint}" if exc.hint else None
    details = [line.strip() for line in rest if line != hint]
    return "; ".join([head, *details]) + (f" (hint: {exc.hint})" if exc.hint else "")
