"""A labelled figure (OEE, availability, …) that reads at a glance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


class KpiTile(Vertical):
    DEFAULT_CSS = """
    KpiTile {
        height: 4;
        width: 1fr;
        border: round $panel-lighten-2;
        padding: 0;
    }
    KpiTile .kpi-label { color: $text-muted; height: 1; }
    KpiTile .kpi-value { text-style: bold; height: 1; }
    KpiTile.-good .kpi-value { color: $success; }
    KpiTile.-fair .kpi-value { color: $warning; }
    KpiTile.-poor .kpi-value { color: $error; }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="kpi-label")
        yield Static("–", classes="kpi-value")

    def show(self, text: str, ratio: float | None = None) -> None:
        self.query_one(".kpi-value", Static).update(text)
        self.set_class(ratio is not None and ratio >= 0.85, "-good")
        self.set_class(ratio is not None and 0.6 <= ratio < 0.85, "-fair")
        self.set_class(ratio is not None and ratio < 0.6, "-poor")
