"""How the benchmarks print: a header, figures beside their reference, a PASS or MISS per
target. A miss is printed, never raised: the numbers are the result."""

import math
import textwrap
from collections.abc import Sequence

WIDTH = 96


def header(title: str, explanation: str) -> None:
    print()
    print("=" * WIDTH)
    print(title)
    print("-" * WIDTH)
    paragraphs = explanation.strip().split("\n\n")
    for number, paragraph in enumerate(paragraphs):
        print(textwrap.fill(" ".join(paragraph.split()), WIDTH))
        if number < len(paragraphs) - 1:
            print()
    print("-" * WIDTH)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def row(label: str, *cells: str) -> None:
    """A label and its figures, one right-aligned column each (ours first)."""
    print(f"  {label:<44}" + "".join(f"{cell:>24}" for cell in cells))


def columns(*names: str) -> None:
    row("", *names)


def verdict(target: str, passed: bool, detail: str) -> None:
    print(f"  {'PASS' if passed else 'MISS'}  {target}: {detail}")
