"""Which column is which, and what each value means, for every importable layer.

Planners' sheets name their columns in Chinese or English, with units and
brackets (``经度(°)``, ``X坐标``, ``Lng``).  :func:`match_columns` recognises the
usual names (the synonyms of :mod:`gis.catalog`, which describes every field
here: :data:`LAYERS`) and takes explicit ``--map target=source`` pairs first;
:func:`parse_chunk` turns the text of a chunk into typed columns and a list of
problems, each naming the row position, the field and the reason in
Chinese and English.  Enumerated values accept the stored code or its Chinese
label (``警务室`` or ``police_room``).  Numbers may be typed in full-width
characters (``１２００``, as a Chinese input method gives them); longitude and
latitude also in degrees, minutes and seconds (:func:`parse_angle`).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis import catalog, vocab
from gis.errors import InvalidInput

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    """One target column: its type, whether it must be present, its limits, and
    the column names that mean it (:attr:`gis.catalog.Property.synonyms`)."""

    name: str
    kind: str = "text"  # text | int | float | angle (lon, lat) | time | choice
    required: bool = False
    choices: dict | None = None
    low: float | None = None
    high: float | None = None
    synonyms: tuple[str, ...] = ()


def _field(prop: catalog.Property) -> Field:
    # Dates are read as times: the boundary import takes the day in Beijing.
    kind = "time" if prop.kind == "date" else prop.kind
    return Field(
        prop.name, kind, prop.required, prop.choices, prop.low, prop.high,
        prop.synonyms,
    )  # fmt: skip


class _Catalogued(Mapping):
    """Layer → its import fields, read from :mod:`gis.catalog` on every access."""

    def __getitem__(self, layer: str) -> list[Field]:
        if layer not in catalog.LAYERS:
            raise KeyError(layer)
        return [_field(p) for p in catalog.LAYERS[layer].imported]

    def __iter__(self):
        return iter(catalog.LAYERS)

    def __len__(self) -> int:
        return len(catalog.LAYERS)


LAYERS: Mapping[str, list[Field]] = _Catalogued()
"""Every importable layer → its fields, as :mod:`gis.catalog` describes them.
Boundaries take their geometry from the file (vector formats) or a ``wkt``
column (CSV, XLSX); points from it or ``lon``/``lat`` columns."""


def _key(name: str) -> str:
    """Compare column names without case, spaces, underscores or bracketed units."""
    name = re.sub(r"[（(\[【].*?[)）\]】]", "", str(name))
    return re.sub(r"[\s_\-]", "", name).lower()


def known_column(name: str) -> bool:
    """Whether ``name`` is one of the usual names of some field
    (:func:`synonyms`), compared as :func:`match_columns` compares them."""
    return _key(name) in _known()


_known_cache: tuple[tuple, frozenset] = ((), frozenset())


def _known() -> frozenset:
    """Every usual name, as :func:`_key` has it; worked out again only when the
    catalog's entries change (header detection asks for every cell)."""
    global _known_cache
    layers = tuple(catalog.LAYERS.values())
    cached, known = _known_cache
    if len(cached) != len(layers) or any(
        a is not b for a, b in zip(cached, layers, strict=True)
    ):
        known = frozenset(key for layer in layers for key in _layer_keys(layer))
        _known_cache = (layers, known)
    return known


def _layer_keys(layer: catalog.DataLayer):
    """Every column name (as :func:`_key` has it) recognised in ``layer``:
    its properties' names, behind its subjects, and its parent's."""
    names = {
        _key(n) for prop in layer.properties for n in (prop.name, *prop.synonyms)
    }
    yield from names
    for subject in _keys(layer.subjects):
        yield from (subject + n for n in names)
    for lead in _PARENT_LEADS:
        for subject in _keys(layer.parent_subjects):
            yield from (lead + subject + n for n in ("", *names))


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``["name=村名", ...]`` (``--map``) as a dict, target → source column."""
    mapping = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise InvalidInput(
                f"--map 应写作 目标=源列 / --map takes target=source, got {pair!r}",
                field="map",
            )
        mapping[target.strip()] = source.strip()
    return mapping


def match_columns(
    columns: list[str],
    layer: str,
    mapping: dict[str, str] | None = None,
    has_geometry: bool = False,
    optional: tuple[str, ...] = (),
) -> dict[str, str]:
    """Target field → source column, for the fields of ``layer`` found in
    ``columns``.  Raises :class:`InvalidInput` for a missing required field (with
    the columns found and how to ``--map`` them) or a bad ``--map``.  A file with
    geometry (GeoJSON, Shapefile, GeoPackage) takes its points or polygons from
    it, not from ``lon``/``lat`` or ``wkt`` columns.  Fields in ``optional``
    may be missing although required (a code the import can derive)."""
    fields = {
        f.name: f
        for f in layer_fields(layer)
        if not (has_geometry and f.name in ("lon", "lat", "wkt"))
    }
    found: dict[str, str] = {}
    for target, source in (mapping or {}).items():
        if target not in fields:
            raise InvalidInput(
                f"--map 目标字段未知 / unknown --map target {target!r}; {layer} has "
                f"{', '.join(fields)}",
                field="map",
            )
        if source not in columns:
            raise InvalidInput(
                f"--map 源列不存在 / no column {source!r} in the file; columns: "
                f"{', '.join(columns)}",
                field="map",
            )
        found[target] = source
    taken = set(found.values())
    entry = catalog.get(layer)
    for name in fields:
        if name in found:
            continue
        ranked = [
            (rank, column) for column in columns if column not in taken
            for rank in [_rank(column, name, fields, entry)] if rank is not None
        ]  # fmt: skip
        if not ranked:
            continue
        best = min(rank for rank, _ in ranked)
        tied = [column for rank, column in ranked if rank == best]
        if len(tied) > 1:
            raise InvalidInput(_ambiguous(name, tied), field=name, candidates=tied)
        found[name] = tied[0]
        taken.add(tied[0])
    missing = [
        n for n, f in fields.items()
        if f.required and n not in found and n not in optional
    ]  # fmt: skip
    if missing:
        spare = [c for c in columns if c not in found.values()]
        raise InvalidInput(
            f"缺少必需的列 {', '.join(missing)}；文件中未识别的列："
            f"{'、'.join(spare) or '无'}；请用“列对应”指定（命令行 --map "
            f"{missing[0]}=<列名>） / missing required column(s) "
            f"{', '.join(missing)}; the file has {', '.join(columns) or 'no columns'}"
            f"; unrecognised: {', '.join(spare) or 'none'}; name them with --map "
            f"{missing[0]}=<column>",
            field=missing[0],
            candidates=spare,
        )
    return found


# Words before the parent's subject: 所属乡镇, 上级村.
_PARENT_LEADS = ("所属", "上级", "隶属", "")


def _rank(column: str, name: str, fields: dict, entry) -> int | None:
    """How well ``column`` names the field ``name`` of the layer ``entry``:
    0 one of its names, 1 one behind the layer's own subject (村代码) or the
    parent's code (乡镇代码), 2 the parent by name (乡镇名称, 所属乡镇);
    None not at all."""
    key, names = _key(column), _names(fields[name])
    if key in names:
        return 0
    if any(key.startswith(s) and key[len(s):] in names for s in _keys(entry.subjects)):
        return 1
    if name != "parent":
        return None
    codes, labels = _names(fields["code"]), _names(fields["name"])
    for lead in _PARENT_LEADS:
        for subject in _keys(entry.parent_subjects):
            if not key.startswith(lead + subject):
                continue
            rest = key[len(lead + subject):]
            if rest in codes:
                return 1
            if rest in labels or rest == "":
                return 2
    return None


def _names(field: Field) -> frozenset:
    return frozenset(_key(n) for n in (field.name, *field.synonyms))


def _keys(words) -> list[str]:
    return [_key(w) for w in words]


def _ambiguous(name: str, columns: list[str]) -> str:
    listed = "、".join(columns)
    return (
        f"列 {listed} 都可能是 {name}，请用“列对应”指定其一（命令行 --map "
        f"{name}={columns[0]}） / columns {', '.join(columns)} could each be "
        f"{name}: say which with --map {name}=<column>, e.g. --map "
        f"{name}={columns[0]}"
    )


def layer_fields(layer: str) -> list[Field]:
    """The import fields of ``layer``; :class:`InvalidInput` for an unknown one."""
    catalog.get(layer)  # an unknown layer gets the catalog's message
    return LAYERS[layer]


def defaults(layer: str) -> dict:
    """What an absent column means, as the schema's defaults and rules have it."""
    return {p.name: p.default for p in catalog.get(layer).imported
            if p.default is not None}  # fmt: skip


def fill_defaults(layer: str, values: dict, n: int) -> None:
    """Give each absent column of ``values`` (``n`` rows) its default."""
    for column, default in defaults(layer).items():
        if column not in values:
            values[column] = np.full(n, default, dtype=object)


def parse_chunk(
    columns: dict[str, list],
    matched: dict[str, str],
    layer: str,
    raw_times: bool = False,
) -> tuple[dict[str, np.ndarray], list[tuple[int, str, str]]]:
    """Typed values of each matched field, and ``(position, field, reason)``
    problems.  Empty cells become None (NaN for numbers).

    Times are timezone-aware datetimes, or with ``raw_times`` a
    ``datetime64[ns]`` array in UTC (NaT when empty or bad), which costs
    nothing per row.  Only rows with a problem take a step in Python.
    """
    values, problems = {}, []
    for field in layer_fields(layer):
        if field.name not in matched:
            continue
        text = _stripped(columns[matched[field.name]])
        if field.kind == "time":
            parsed, bad = _time(text, field, raw_times)
        else:
            parsed, bad = _PARSERS[field.kind](text, field)
        empty = text == ""
        if field.required:
            for i in np.flatnonzero(empty):
                problems.append((int(i), field.name, _missing(field)))
        for i in np.flatnonzero(bad & ~empty):
            problems.append((int(i), field.name, _invalid(field, text[i])))
        values[field.name] = parsed
    problems.sort()
    return values, problems


def _stripped(cells) -> np.ndarray:
    """The cells as an object array of stripped text ("" for None)."""
    try:
        text = [v.strip() for v in cells]
    except AttributeError:  # None or numbers: not from a text file
        text = [("" if v is None else str(v)).strip() for v in cells]
    out = np.empty(len(text), dtype=object)
    out[:] = text
    return out


def _missing(field: Field) -> str:
    return f"缺少 {field.name} / {field.name} is empty"


def _invalid(field: Field, value: str) -> str:
    if field.kind == "choice":
        allowed = ", ".join(f"{c}({label})" for c, label in field.choices.items())
        return f"{field.name} 取值无效 / {field.name} {value!r} is not one of {allowed}"
    if field.kind == "time":
        return (
            f"{field.name} 不是有效时间 / {field.name} {value!r} is not a date/time "
            "(2025-03-01 08:30, 2025/3/1 8:30, 2025.3.1 or 2025年3月1日 8时30分)"
        )
    if field.kind == "angle":
        hemispheres = "E/W 东经/西经" if field.name == "lon" else "N/S 北纬/南纬"
        return (
            f"{field.name} 不是有效的经纬度 / {field.name} {value!r} is not decimal "
            f"degrees (114.3085) or degrees, minutes, seconds (114°18′30.5″, "
            f"114度18分30.5秒, 114 18 30.5; minutes and seconds below 60; "
            f"hemisphere {hemispheres})"
        )
    limits = ""
    if field.low is not None or field.high is not None:
        limits = f" in [{field.low}, {field.high}]"
    kind = "an integer" if field.kind == "int" else "a number"
    return f"{field.name} 不是有效数值 / {field.name} {value!r} is not {kind}{limits}"


def _text(text: np.ndarray, field: Field):
    out = text.copy()
    out[out == ""] = None
    return out, np.zeros(len(text), dtype=bool)


def _number(text: np.ndarray, field: Field):
    numbers = np.asarray(pd.to_numeric(text, errors="coerce"), dtype=float)
    # Full-width digits (１２００) and thousands separators (1,200): only cells
    # that did not parse can have them.
    retry = np.flatnonzero(np.isnan(numbers))
    if retry.size:
        grouped = [
            unicodedata.normalize("NFKC", t).replace(",", "") if t else t
            for t in text[retry]
        ]
        again = pd.to_numeric(pd.Series(grouped, dtype=object), errors="coerce")
        numbers[retry] = again.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers)
        if field.kind == "int":
            bad |= np.isfinite(numbers) & (numbers != np.round(numbers))
        if field.low is not None:
            bad |= numbers < field.low
        if field.high is not None:
            bad |= numbers > field.high
    return numbers, bad


def _angle(text: np.ndarray, field: Field):
    numbers, bad = _number(text, field)
    for i in np.flatnonzero(bad):
        if text[i]:
            numbers[i] = parse_angle(text[i], field.name)
    return numbers, bad & np.isnan(numbers)


# After NFKC (which turns ″ into ′′ and full-width forms into ASCII).
_UNITS = str.maketrans({"度": "°", "分": "'", "秒": '"', "′": "'", "º": "°"})
_HEMISPHERE_WORDS = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S"}
_HEMISPHERES = {"lon": {"E": 1, "W": -1}, "lat": {"N": 1, "S": -1}}
_DMS = re.compile(
    r"(?P<d>\d+(?:\.\d+)?)(?:\s*°\s*|\s+|$)"
    r"(?:(?P<m>\d+(?:\.\d+)?)(?:\s*'\s*|\s+|$)"
    r"(?:(?P<s>\d+(?:\.\d+)?)(?:\s*\"\s*)?)?)?"
)


def parse_angle(text: str, axis: str) -> float:
    """Degrees from a longitude (``axis="lon"``) or latitude typed by hand;
    NaN when ``text`` is none of the forms below.

    Decimal degrees with an optional degree sign; degrees and decimal minutes;
    degrees, minutes and seconds, with the signs ``° ′ ″`` (or ``' "``), with
    ``度 分 秒`` or separated by spaces; full-width characters; the hemisphere
    as a sign, a letter before or after (E/W for a longitude, N/S for a
    latitude) or a word before (东经, 西经, 北纬, 南纬).  Minutes and seconds
    must be below 60, and only the last part may have decimals.  A letter of
    the other axis (a latitude's N in the longitude column) is not accepted.

    >>> parse_angle("东经114°18′30.5″", "lon")
    114.30847222222222
    >>> parse_angle("30 30.6 S", "lat")
    -30.51
    """
    value = unicodedata.normalize("NFKC", text).translate(_UNITS).replace("''", '"')
    value = value.strip().upper()
    sign, hemisphere = 1, None
    for word, letter in _HEMISPHERE_WORDS.items():
        if value.startswith(word):
            value, hemisphere = letter + value[len(word) :], letter
    if value[:1].isalpha():
        hemisphere, value = value[0], value[1:].strip()
    elif value[-1:].isalpha():
        hemisphere, value = value[-1], value[:-1].strip()
    if value[:1] in "+-" and value:
        sign, value = (-1 if value[0] == "-" else 1), value[1:].strip()
        if hemisphere is not None:
            return math.nan  # a sign and a hemisphere: which one holds?
    if hemisphere is not None:
        if hemisphere not in _HEMISPHERES[axis]:
            return math.nan
        sign = _HEMISPHERES[axis][hemisphere]
    match = _DMS.fullmatch(value)
    if match is None:
        return math.nan
    d, m, s = match.group("d", "m", "s")
    parts = [float(d), float(m or 0), float(s or 0)]
    # Only the last part may have decimals; minutes and seconds stay below 60.
    last = 2 if s else 1 if m else 0
    if any("." in part for part in (d, m or "")[:last]) or max(parts[1:]) >= 60:
        return math.nan
    return sign * (parts[0] + parts[1] / 60 + parts[2] / 3600)


def _choice(text: np.ndarray, field: Field):
    lookup = vocab.codes_by_name(field.choices)
    lookup.update({code.lower(): code for code in field.choices})
    # A column holds few distinct values: look each up once.
    positions, distinct = pd.factorize(text)
    found = np.empty(len(distinct), dtype=object)
    found[:] = [lookup.get(v, lookup.get(v.lower())) for v in distinct]
    codes = found[positions]
    return codes, np.equal(codes, None)


# Formats tried in turn: ISO 8601 first (what exports write), then the slashes,
# dots and Chinese forms people type (month and day with or without a leading
# zero).  A time without an offset is Beijing time.
_TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分%S秒", "%Y年%m月%d日%H时%M分%S秒",
    "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日%H时%M分", "%Y年%m月%d日",
)  # fmt: skip


_BEIJING = pd.Timedelta(hours=8)


def _time(text: np.ndarray, field: Field, raw: bool = False):
    series = pd.Series(text, dtype=object)
    times = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    # What exports write (2025-03-01 08:30:00, no offset): all such rows at
    # once, exactly as the ISO 8601 pass below would read them.
    plain = _plain_iso(text)
    if plain.any():
        parsed = _datetimes(series[plain], "ISO8601")
        times[plain] = parsed - _BEIJING  # read as UTC; it was Beijing time
    todo = times.isna() & (series != "")
    if todo.any():  # full-width digits and signs (２０２５－０３－０１)
        series[todo] = [unicodedata.normalize("NFKC", t) for t in series[todo]]
    for fmt in ("ISO8601", *_TIME_FORMATS):
        todo = times.isna() & (series != "")
        if not todo.any():
            break
        parsed = _datetimes(series[todo], fmt)
        naive = ~series[todo].str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
        # utc=True read naive times as UTC; they were Beijing time.
        parsed[naive] = parsed[naive] - pd.Timedelta(hours=8)
        times[todo] = parsed
    bad = (times.isna() & (series != "")).to_numpy()
    if raw:
        return times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"), bad
    out = np.array(
        [None if pd.isna(t) else t.to_pydatetime() for t in times], dtype=object
    )
    return out, bad


def _datetimes(series: pd.Series, fmt: str) -> pd.Series:
    """``series`` read in ``fmt`` as UTC; NaT where it does not fit, or falls
    outside the years nanoseconds can hold (1677-2262)."""
    parsed = pd.to_datetime(series, format=fmt, errors="coerce", utc=True)
    low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    inside = (parsed > low + _BEIJING) & (parsed < high - _BEIJING)
    return parsed.where(inside).astype("datetime64[ns, UTC]")


def _plain_iso(text: np.ndarray) -> np.ndarray:
    """Which cells are ``YYYY-MM-DD HH:MM:SS`` (or with a ``T``): digits and
    separators only, hence no offset."""
    shape = np.fromiter(map(len, text), dtype=np.int64, count=len(text)) == 19
    if not shape.any():
        return shape
    joined = "".join(text[shape])
    if not joined.isascii():
        return np.zeros(len(text), dtype=bool)
    chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 19)
    digits = (chars >= 48) & (chars <= 57)
    ok = digits[:, [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]].all(axis=1)
    ok &= (chars[:, 4] == 45) & (chars[:, 7] == 45)  # -
    ok &= (chars[:, 10] == 32) | (chars[:, 10] == 84)  # space or T
    ok &= (chars[:, 13] == 58) & (chars[:, 16] == 58)  # :
    shape[shape] = ok
    return shape


_PARSERS = {
    "text": _text,
    "int": _number,
    "float": _number,
    "angle": _angle,
    "time": _time,
    "choice": _choice,
}


TABLE_MARKERS = (
    "<!-- column names: generated by scripts/column-names, do not edit -->",
    "<!-- end of column names -->",
)
"""Where README.md holds :func:`names_table` (a test holds the two equal)."""


def names_table() -> str:
    """The recognised column names as Markdown, from the catalog: one row a
    field (its names, the layers that have it), then one row a layer (the
    subjects its columns may be prefixed with, and its parent's)."""
    rows = ["| 字段 field | 识别的列名 recognised column names | 图层 layers |",
            "|---|---|---|"]  # fmt: skip
    names = catalog.synonyms()
    for name, words in names.items():
        layers = [n for n, e in catalog.LAYERS.items()
                  if any(p.name == name and p.imported for p in e.properties)]
        if layers:
            listed = ", ".join(f"`{w}`" for w in dict.fromkeys((name, *words)))
            rows.append(f"| `{name}` | {listed} | {', '.join(layers)} |")
    rows += ["", "| 图层 layer | 列名前缀 subject prefixes (村代码 = code) | "
             "上级 parent (乡镇代码, 所属乡镇, 乡镇名称, 乡镇 = parent) |",
             "|---|---|---|"]  # fmt: skip
    for name, entry in catalog.LAYERS.items():
        own = "、".join(entry.subjects) or "—"
        parent = "、".join(entry.parent_subjects) or "—"
        rows.append(f"| `{name}` | {own} | {parent} |")
    return "\n".join(rows) + "\n"
