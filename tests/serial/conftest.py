"""Serial tier: report how many hypothesis examples the parser fuzzers actually ran."""

from __future__ import annotations

from fuzz_counts import COUNTS


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if COUNTS:
        terminalreporter.section("hypothesis examples run (lanecam serial parsers)")
        for name, n in sorted(COUNTS.items()):
            terminalreporter.write_line(f"{n:7d}  {name}")
        terminalreporter.write_line(f"{sum(COUNTS.values()):7d}  total")
