"""Stable codes for rows of a file that has no code column.

A post or camera list often has names and coordinates but no code; a
historic ledger may have no case number.  Refusing the file would leave the
planner with nothing, and numbering the rows would duplicate them on the next
import.  A code made from what the row *is* matches the same row again:

- posts, cameras, sites: the layer, the name and the position (WGS84,
  rounded to 1e-6 degrees, about 10 cm);
- incidents: the row's content (category, report time, position, and the
  description when there is one).

The code is a letter for the layer and 16 hex digits of a BLAKE2b hash
(``P3F2A09C1D4E5B6A7``): 64 bits, a collision among a million rows about one
chance in 3·10^7.  Two rows of one file that make the same code are the same
thing twice and are reported as duplicates.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

logger = logging.getLogger(__name__)

PREFIX = {"posts": "P", "cameras": "C", "sites": "S", "incidents": "E"}
"""Layers whose rows may come without a code, and their codes' first letter."""


def optional(layer: str) -> tuple[str, ...]:
    """The required fields a file of ``layer`` may lack: ``code`` where this
    module makes one."""
    return ("code",) if layer in PREFIX else ()


# What makes a row itself, besides its position.
_CONTENT = {"incidents": ("category", "reported_at", "description")}
_DEFAULT = ("name",)


def make_codes(layer: str, values: dict, lon, lat) -> np.ndarray:
    """A stable code for every row (see the module doc), as an object array."""
    names = _CONTENT.get(layer, _DEFAULT)
    parts = [_text(values.get(name), len(lon)) for name in names]
    x = np.char.mod("%.6f", np.round(lon, 6))
    y = np.char.mod("%.6f", np.round(lat, 6))
    codes = np.empty(len(lon), dtype=object)
    for i in range(len(lon)):
        key = "\x1f".join([layer, *(p[i] for p in parts), x[i], y[i]])
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest().upper()
        codes[i] = PREFIX[layer] + digest
    return codes


def _text(column, n: int) -> list[str]:
    """A parsed column as text per row ('' where empty or absent)."""
    if column is None:
        return [""] * n
    if np.asarray(column).dtype.kind == "M":  # times, as the point import has them
        return list(np.datetime_as_string(column, unit="s"))
    return ["" if v is None else str(v) for v in column]


def note(layer: str) -> str:
    """The report's note on how the codes were made."""
    what = ("类别、上报时间、位置和描述", "category, report time, position and "
            "description") if layer in _CONTENT else ("名称和位置", "name and position")
    letter = PREFIX[layer]
    return (
        f"文件没有编码列：编码由图层、{what[0]}生成（{letter} 加 16 位十六进制），"
        f"再次导入同一文件会匹配同一行而不重复 / no code column: codes were made "
        f"from the layer, {what[1]} ({letter} and 16 hex digits of a hash), "
        "so importing the same file again matches the same rows"
    )
