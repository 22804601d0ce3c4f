"""A Dagster logger for a person at a terminal: one line per asset step (days or rows, seconds)
and the assets' own progress messages (days collected, batches written); Dagster's DEBUG
events are not printed (they stay in the run's event log, seen in the UI).

``feed-assets backfill`` configures it for its run (run config ``loggers: {progress: {}}``);
a run that configures no logger gets Dagster's usual console logger.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

import dagster as dg

EVENT_TYPES_SHOWN = {"STEP_SUCCESS", "STEP_FAILURE", "ASSET_MATERIALIZATION"}


class ProgressHandler(logging.Handler):
    """Turns a run's log records into short lines: the step's rows on success, the error on failure."""

    def __init__(self, stream: TextIO):
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.started = time.monotonic()
        self.assets: dict[str, dict[str, str]] = {}  # step -> asset -> what it wrote
        self.partitions: dict[str, set[str]] = {}

    def line(self, text: str) -> None:
        self.stream.write(f"[{time.monotonic() - self.started:6.1f} s] {text}\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:  # a message of the project's own code: its progress, warnings and errors
            if record.levelno >= logging.INFO:  # a resource's, at the run's end, has no step
                message = meta.get("orig_message", record.getMessage())
                self.line(f"  {step}: {message}" if step else f"  {message}")
            return
        kind = event.event_type_value
        if kind not in EVENT_TYPES_SHOWN:
            return
        data = event.event_specific_data
        if kind == "ASSET_MATERIALIZATION":
            materialization = data.materialization
            assets = self.assets.setdefault(step, {})
            asset = materialization.asset_key.to_user_string()
            if materialization.partition is not None:
                self.partitions.setdefault(asset, set()).add(materialization.partition)
                days = len(self.partitions[asset])
                assets[asset] = f"{asset} {days} day{'s' if days != 1 else ''}"
            else:
                count = materialization.metadata.get("dagster/row_count")
                assets[asset] = f"{asset} {count.value:,} rows" if count is not None else asset
        elif kind == "STEP_SUCCESS":
            assets = self.assets.pop(step, {})
            if assets:  # the checks' steps are summed up by the command at the end
                self.line(f"{step} done in {data.duration_ms / 1000:.1f} s: {', '.join(assets.values())}")
        else:
            error = data.error.message.strip().splitlines()[-1] if data.error else "no error recorded"
            self.line(f"{step} FAILED: {error}")


@dg.logger(description="One line per step and the assets' progress, for a terminal (feed-assets backfill).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("feed_assets.progress", level=logging.DEBUG)
    logger.addHandler(ProgressHandler(sys.stdout))
    return logger
