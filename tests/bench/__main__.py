"""`make bench`: every benchmark in turn, or those named (`python -m tests.bench fanout`)."""

import sys
import traceback
from collections.abc import Callable

from tests.bench import fanout, intake, notify, platforms, reads, settlement, twitch

BENCHMARKS: dict[str, Callable[[], None]] = {
    "settlement": settlement.main,
    "fanout": fanout.main,
    "intake": intake.main,
    "twitch": twitch.main,
    "reads": reads.main,
    "notify": notify.main,
    "platforms": platforms.main,
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    crashed = []
    for name in names or list(BENCHMARKS):
        try:
            BENCHMARKS[name]()
        except Exception:
            # One benchmark that cannot run does not keep the others from running.
            traceback.print_exc()
            crashed.append(name)
    if crashed:
        print(f"\nthese benchmarks could not run: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
