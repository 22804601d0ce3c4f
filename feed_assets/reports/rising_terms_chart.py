"""The chart people look at: the daily share of the top rising terms over the last weeks."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to PNG only

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def render_rising_terms_chart(shares: pd.DataFrame, day: dt.date) -> bytes:
    """PNG of ``shares`` (columns ``feed_date``, ``term``, ``share`` in 0..1): one line per term.

    The legend lists the terms in the order they appear in ``shares`` (strongest first).
    """
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        if shares.empty:
            axes.text(0.5, 0.5, f"No rising terms on {day}", ha="center", va="center", fontsize=14)
            axes.set_axis_off()
        else:
            for term in dict.fromkeys(shares["term"]):
                series = shares[shares["term"] == term].sort_values("feed_date")
                axes.plot(pd.to_datetime(series["feed_date"]), series["share"] * 100, marker="o", markersize=3,
                          linewidth=1.8, label=term)
            axes.set_ylabel("share of the day's new papers (%)")
            axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
            axes.grid(alpha=0.3)
            axes.legend(loc="upper left", fontsize=9, frameon=False)
            figure.autofmt_xdate()
        axes.set_title(f"Top rising terms as of {day}")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
