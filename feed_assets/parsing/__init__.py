"""Pure parsers: bytes of a dump in, normalized entries and rejections out (no I/O, no Dagster)."""
