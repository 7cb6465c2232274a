"""Control-tier report: the tracker's arrival-time error on each synthetic track."""

from __future__ import annotations

from arrival_report import ERRORS


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if ERRORS:
        terminalreporter.section("predicted arrival at the capture window (tracker + scheduler)")
        terminalreporter.write_line(f"{'track':<42s} mean|err|  max|err|  predicted ahead")
        for name, (mean_ms, max_ms, lead_s) in sorted(ERRORS.items()):
            terminalreporter.write_line(
                f"{name:<42s} {mean_ms:6.1f} ms {max_ms:6.1f} ms   {lead_s:.2f} s")
