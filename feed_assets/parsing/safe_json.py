"""JSON from dumps is untrusted: load it without ever raising anything but ``JsonProblem``.

``json.loads`` can fail in ways that are not ``JSONDecodeError``: a document nested a few
thousand levels deep raises ``RecursionError``, a number of more than 4,300 digits raises
``ValueError``, bytes that are not UTF-8 raise ``UnicodeDecodeError``. ``load_json`` turns
each into a ``JsonProblem`` saying where (``line L column C``) and what is wrong, so a
caller can reject the dump (or the line) and go on. Anything that reads JSON from a dump
or a response should use it (the parsers, the format detector, the asset checks).
"""

from __future__ import annotations

import json
from typing import Any

# items nested deeper than this are refused by the parsers (real items are 4 or 5 levels deep),
# which also keeps any later recursive walk (json.dumps, repr) far from Python's recursion limit
MAX_ITEM_DEPTH = 32


class JsonProblem(ValueError):
    """JSON that cannot be read: ``reason`` says why, ``location`` where (``line L column C``)."""

    def __init__(self, reason: str, location: str = "line 1 column 1", pos: int = 0):
        super().__init__(f"{location}: {reason}")
        self.reason = reason
        self.location = location
        self.pos = pos


def load_json(text: str | bytes) -> Any:
    """The parsed JSON value of ``text``; raises only ``JsonProblem``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise JsonProblem(f"invalid JSON: {error.msg}", f"line {error.lineno} column {error.colno}",
                          error.pos) from None
    except RecursionError:
        raise JsonProblem("JSON nested too deeply to read (more levels than the parser allows)") from None
    except UnicodeDecodeError as error:
        raise JsonProblem(f"not UTF-8 text (byte offset {error.start}: {error.reason})", pos=error.start) from None
    except ValueError as error:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise JsonProblem(f"unreadable JSON value: {error}") from None


def nesting_depth(value: Any, limit: int = MAX_ITEM_DEPTH) -> int:
    """How many levels of arrays and objects ``value`` holds (a scalar is 0), counted without
    recursion and only up to ``limit + 1`` (enough to tell that it is too deep).

    Walks one level at a time: the containers of a level are what the next level is read
    from, so scalars (most of an item) cost one type check each."""
    depth = 0
    level = [value]
    while True:
        containers = [node for node in level if isinstance(node, (dict, list))]
        if not containers:
            return depth
        depth += 1
        if depth > limit:
            return depth
        level = []
        for node in containers:
            level.extend(node.values() if isinstance(node, dict) else node)


def json_excerpt_source(value: Any) -> str:
    """Compact JSON text of a (depth-checked) value, for an excerpt; never raises."""
    try:
        return json.dumps(value)
    except (RecursionError, TypeError, ValueError):
        return f"(a JSON {type(value).__name__} that cannot be shown)"
