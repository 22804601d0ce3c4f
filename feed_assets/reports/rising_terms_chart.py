"""The chart people look at: a day's top rising terms at each time scale, with the significant
ones marked, drawn so that a newcomer can read it without the code.

One panel per scale (week, month, quarter). Each term has two bars: the share of new papers
that use it in the window ending on the day (dark) and in the baseline before it (light).
A term that passes the day's false discovery control is drawn in colour and marked *; the
others are the strongest candidates of that scale, in grey: worth a look, not yet proven.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.textpath import text_to_path

PANEL_WIDTH = 5.2  # inches, a panel per scale
FIGURE_HEIGHT = 6.0
LABEL_POINTS = 9  # the terms' font size
SIGNIFICANT = ("#1f5fa8", "#9cc0e8")  # window, baseline
CANDIDATE = ("#6b6b6b", "#cfcfcf")


def render_rising_terms_chart(lists: pd.DataFrame, day: dt.date, scales: list[str], fdr: float) -> bytes:
    """PNG of the day's lists: ``lists`` has ``scale, rank, term, significant, window_share,
    baseline_share, window_count, baseline_count, window_days, baseline_days`` (shares in 0..1),
    the rows to draw of each scale; ``scales`` gives the panels' order."""
    # a Figure of its own, not pyplot's: no global figure registry to close, no GUI backend to
    # load (savefig draws it with Agg), safe to draw from any thread
    figure = Figure(figsize=(PANEL_WIDTH * len(scales), FIGURE_HEIGHT), dpi=100)
    for index, scale in enumerate(scales):
        rows = lists[lists["scale"] == scale].sort_values("rank")
        title = _panel(figure.add_axes(_panel_box(index, len(scales), _labels(rows))), rows, scale)
        # centred over the panel's share of the width, which is wider than its bars
        figure.text((index + 0.5) / len(scales), 0.905, title, ha="center", fontsize=11)
    figure.suptitle(f"Rising terms on {day}: share of new papers using each term, recent window vs before",
                    fontsize=13)
    figure.legend(handles=[
        Patch(color=SIGNIFICANT[0], label="in the window: significant (*)"),
        Patch(color=SIGNIFICANT[1], label="in the baseline before it"),
        Patch(color=CANDIDATE[0], label="in the window: a candidate, not significant"),
        Patch(color=CANDIDATE[1], label="in the baseline before it"),
    ], loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.text(0.5, 0.055, f"Terms ranked by how surely their share rose (a cautious estimate: few papers "
                            f"rank lower). Terms marked * pass a false discovery rate of {fdr:.0%} over all "
                            f"of the day's terms and scales.", ha="center", fontsize=9, color="#444444")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _labels(rows: pd.DataFrame) -> list[tuple[str, bool]]:
    """Each row's term label, and whether it is significant (drawn bold, marked *)."""
    return [(("* " if significant else "") + term, bool(significant))
            for term, significant in zip(rows["term"], rows["significant"])]


def _panel_box(index: int, panels: int, labels: list[tuple[str, bool]]) -> tuple[float, float, float, float]:
    """Where panel ``index`` goes (left, bottom, width, height as fractions of the figure): its
    share of the width, less room on the left for its longest term label, measured in the
    font it is drawn in. (Placing the panels by measuring the labels, instead of letting
    ``tight_layout`` lay out the drawn figure, halves the time a chart takes to render.)"""
    label_inches = max((text_to_path.get_text_width_height_descent(
        label, FontProperties(size=LABEL_POINTS, weight="bold" if bold else "normal"), ismath=False)[0] / 72
        for label, bold in labels), default=0.0)
    left = min(label_inches + 0.25, 0.55 * PANEL_WIDTH)
    right = 0.2
    return ((index * PANEL_WIDTH + left) / (panels * PANEL_WIDTH), 0.17,
            (PANEL_WIDTH - left - right) / (panels * PANEL_WIDTH), 0.72)


def _panel(axis: Axes, rows: pd.DataFrame, scale: str) -> str:
    """One scale's bars, the strongest term on top; returns the panel's title."""
    if rows.empty:
        axis.text(0.5, 0.5, "no list on this day\n(no papers to compare with)", ha="center", va="center",
                  fontsize=11, color="#444444", transform=axis.transAxes)
        axis.set_axis_off()
        return scale
    first = rows.iloc[0]
    positions = np.arange(len(rows))[::-1]
    height = 0.38
    for position, (_, row) in zip(positions, rows.iterrows()):
        colours = SIGNIFICANT if row["significant"] else CANDIDATE
        axis.barh(position + height / 2, 100 * row["window_share"], height, color=colours[0])
        axis.barh(position - height / 2, 100 * row["baseline_share"], height, color=colours[1])
        axis.text(100 * row["window_share"], position + height / 2,
                  f" {row['window_count']} papers (before: {row['baseline_count']})", va="center", fontsize=7.5,
                  color="#333333")
    axis.set_yticks(positions)
    labels = _labels(rows)
    axis.set_yticklabels([label for label, _ in labels], fontsize=LABEL_POINTS)
    for tick_label, (_, bold) in zip(axis.get_yticklabels(), labels):
        tick_label.set_fontweight("bold" if bold else "normal")
    axis.set_xlabel("share of the period's new papers (%)")
    limit = 100 * max(rows["window_share"].max(), rows["baseline_share"].max())
    axis.set_xlim(0, limit * 1.6 if limit > 0 else 1)
    axis.grid(axis="x", alpha=0.3)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)
    return f"{scale}: last {first['window_days']} days vs the {first['baseline_days']} before"
