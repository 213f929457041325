"""Collects tables, target checks and raw figures, and renders the generated Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Report", "fmt_us", "table"]


def fmt_us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(headers) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    environment: dict[str, str]
    quick: bool
    rounds: int
    sections: list[tuple[str, str]] = field(default_factory=list)
    targets: list[tuple[str, str, bool | None]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.raw["environment"] = self.environment

    def section(self, title: str, body: str) -> None:
        self.sections.append((title, body))

    def target(self, what: str, measured: str, met: bool | None) -> None:
        """``met`` is ``None`` when the target could not be measured in this run."""
        self.targets.append((what, measured, met))

    def markdown(self) -> str:
        env = self.environment
        mode = "quick run (`--quick`)" if self.quick else "full run"
        out = [
            "## Results (generated)",
            "",
            f"{mode}, {env['date']}. {env['cpu']}; load average {env['load']} at the start. "
            f"Python {env['python']}; {env['libraries']}.",
            "",
            f"Each comparison: {self.rounds} interleaved rounds (every candidate timed once per "
            "round, shuffled order, GC off during a chunk); figures are the median per-call time "
            "in microseconds; a ratio is the median of the per-round ratios, with their "
            "interquartile range in brackets in the targets. *Spread* is the interquartile "
            "range of a candidate's rounds over its median (noise). "
            f"Load average at the end: {env.get('load_end', 'n/a')}.",
        ]
        if self.targets:
            rows = [
                [what, measured, {True: "met", False: "**missed**", None: "not measured"}[met]]
                for what, measured, met in self.targets
            ]
            out += ["", "### Targets (issue 6)", "", table(["target", "measured", ""], rows, "lll")]
        for title, body in self.sections:
            out += ["", f"### {title}", "", body.strip()]
        return "\n".join(out) + "\n"
