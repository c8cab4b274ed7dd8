"""Read the files planners have, in chunks, keeping every row's number and bytes.

A :class:`Source` opens one file — CSV, XLSX, GeoJSON, Shapefile (plain or
zipped) or GeoPackage — works out its text encoding and declared coordinate
system, and yields :class:`Chunk` s of rows.  Every row keeps its line (CSV, XLSX)
or feature number, and its original form, so a rejected row can be reported by
number and written, untouched, to a quarantine file.

Encodings: CSV may be UTF-8 with or without a BOM, or GBK/GB18030 (what Excel
saves on a Chinese Windows); a Shapefile's ``.cpg`` is honoured, else the DBF is
sniffed.  A byte that is not valid in the detected encoding rejects its row (the
line number is reported), never the whole file silently.
"""

from __future__ import annotations

import codecs
import csv
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shapefile",
    ".zip": "shapefile",
    ".gpkg": "gpkg",
}
# A boundary's WKT in one CSV cell can run to megabytes (Python's default
# limit is 128 KiB); the file is still read one line at a time.
csv.field_size_limit(1 << 30)
SNIFF_BYTES = 1 << 20  # enough text to tell UTF-8 from GBK
CHUNK_ROWS = 50_000


@dataclass
class Chunk:
    """Consecutive rows of a source.

    ``numbers`` are 1-based line numbers (tables, counting the header as line 1)
    or feature numbers (vector files); ``columns`` maps each column name to a list
    of values (text for tables); ``geometry`` holds shapely geometries for vector
    files; ``raw`` the rows as read, for quarantine; ``broken`` row positions that
    could not even be decoded, with the reason.
    """

    numbers: list[int]
    columns: dict[str, list]
    raw: list
    geometry: np.ndarray | None = None
    broken: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.numbers)


class Source:
    """One input file.  Use :func:`open_source`."""

    format: str
    encoding: str | None = None
    crs: str | None = None  # as declared by the file (.prj, GeoJSON, GPKG)
    columns: list[str]
    header: object = None  # what a quarantine file needs to repeat the header
    geometry_type: str | None = None  # vector files only

    def __init__(self, path: Path):
        self.path = path

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        raise NotImplementedError

    def count_hint(self) -> int | None:
        """Rows expected (for a progress bar), when cheap to know."""
        return None


def open_source(
    path: str | Path, encoding: str | None = None, layer: str | None = None
) -> Source:
    """Open ``path``, choosing the reader from its extension.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        Text encoding of a CSV or Shapefile; detected when not given.
    layer : str, optional
        Layer of a GeoPackage (required when it has several).

    Raises
    ------
    InvalidInput
        Unknown extension, missing file, unreadable encoding, or an ambiguous
        GeoPackage; the message says what to pass.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"文件不存在 / no such file: {path}", field="path")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            f"不支持的文件类型 / unsupported file type {path.suffix!r}; use "
            f"{', '.join(sorted(set(FORMATS)))}",
            field="path",
        )
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InvalidInput(
                f"未知编码 / unknown encoding {encoding!r}", field="encoding"
            ) from None
    if kind == "csv":
        return CsvSource(path, encoding)
    if kind == "xlsx":
        return XlsxSource(path)
    return VectorSource(path, kind, encoding, layer)


# -- CSV --------------------------------------------------------------------------


def sniff_encoding(sample: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` when most non-ASCII lines decode as UTF-8,
    else ``gb18030`` (a superset of GBK and GB2312, so it reads all three).

    Judged line by line, so one corrupt line in a UTF-8 file is reported as that
    line's error instead of turning the whole file into mojibake; Chinese text in
    GBK practically never happens to be valid UTF-8.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    good = bad = 0
    lines = sample.split(b"\n")
    if len(lines) > 1 and len(sample) >= SNIFF_BYTES:
        lines = lines[:-1]  # the sample may end inside a character
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    return "utf-8" if good >= bad else "gb18030"


class CsvSource(Source):
    """A delimited text file with a header row (comma, semicolon or tab)."""

    format = "csv"

    def __init__(self, path: Path, encoding: str | None):
        super().__init__(path)
        with path.open("rb") as handle:
            sample = handle.read(SNIFF_BYTES)
        self.encoding = encoding or sniff_encoding(sample)
        first = sample.split(b"\n", 1)[0].decode(self.encoding, errors="replace")
        self.delimiter = max(",;\t", key=first.count)
        self.header = next(csv.reader([first.rstrip("\r\n")], delimiter=self.delimiter))
        self.columns = [name.strip().lstrip("\ufeff") for name in self.header]
        if not any(self.columns):
            raise InvalidInput(
                f"{path.name} 第 1 行没有列名 / line 1 has no column names",
                field="header",
            )

    def _lines(self, broken: dict[int, str]) -> Iterator[str]:
        """Decoded physical lines; a line with an invalid byte is noted in
        ``broken`` (by line number) and passed on with the byte replaced."""
        decode = codecs.getdecoder(
            "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        )
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[3:]
                try:
                    text = decode(line)[0]
                except UnicodeDecodeError as exc:
                    broken[number] = (
                        f"第 {exc.start + 1} 个字节不是有效的 {self.encoding} 编码 / "
                        f"byte {exc.start + 1} is not valid {self.encoding}"
                    )
                    text = line.decode(self.encoding, errors="replace")
                yield text

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        broken: dict[int, str] = {}
        lines = self._lines(broken)
        reader = csv.reader(lines, delimiter=self.delimiter)
        next(reader)  # the header
        width = len(self.columns)
        rows, numbers, bad = [], [], {}
        previous = 1  # physical line where the last row ended
        for row in reader:
            first, previous = previous + 1, reader.line_num  # a row may span lines
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            hit = (
                [n for n in range(first, previous + 1) if n in broken] if broken else []
            )
            if hit:
                bad[len(rows)] = broken.pop(hit[0])
            elif len(row) != width:
                bad[len(rows)] = (
                    f"有 {len(row)} 列，表头有 {width} 列 / {len(row)} fields, "
                    f"the header has {width}"
                )
            rows.append(row)
            numbers.append(first)
            if len(rows) == size:
                yield self._chunk(numbers, rows, bad)
                rows, numbers, bad = [], [], {}
        if rows:
            yield self._chunk(numbers, rows, bad)

    def _chunk(self, numbers, rows, bad) -> Chunk:
        width = len(self.columns)
        padded = [r if len(r) == width else (r + [""] * width)[:width] for r in rows]
        columns = {
            name: [row[i] for row in padded] for i, name in enumerate(self.columns)
        }
        return Chunk(numbers=numbers, columns=columns, raw=rows, broken=bad)


# -- XLSX -------------------------------------------------------------------------


class XlsxSource(Source):
    """The first worksheet of an Excel workbook, header in row 1 (streamed)."""

    format = "xlsx"

    def __init__(self, path: Path):
        super().__init__(path)
        from openpyxl import load_workbook

        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise InvalidInput(
                f"无法读取 Excel 文件 / cannot read {path.name}: {exc}", field="path"
            ) from None
        self._sheet = self._book.worksheets[0]
        header = next(self._sheet.iter_rows(max_row=1, values_only=True), ())
        self.header = list(header)
        self.columns = ["" if v is None else str(v).strip() for v in header]

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        width = len(self.columns)
        rows, numbers = [], []
        for number, row in enumerate(
            self._sheet.iter_rows(min_row=2, values_only=True), start=2
        ):
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            rows.append((list(row) + [None] * width)[:width])
            numbers.append(number)
            if len(rows) == size:
                yield self._chunk(numbers, rows)
                rows, numbers = [], []
        if rows:
            yield self._chunk(numbers, rows)

    def _chunk(self, numbers, rows) -> Chunk:
        columns = {
            name: [_cell_text(row[i]) for row in rows]
            for i, name in enumerate(self.columns)
        }
        return Chunk(numbers=numbers, columns=columns, raw=rows)


def _cell_text(value) -> str:
    """A cell or attribute as text: empty for None/NaN, dates in ISO form, whole
    floats without ``.0`` (Excel and DBF store 12 as 12.0)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return ""  # an empty date or time column of a GeoPackage or Shapefile
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# -- GeoJSON, Shapefile, GeoPackage -----------------------------------------------


class VectorSource(Source):
    """A file GDAL reads (through pyogrio), in chunks of features."""

    def __init__(self, path: Path, kind: str, encoding: str | None, layer: str | None):
        super().__init__(path)
        self.format = kind
        self._target = _vsi_path(path) if kind == "shapefile" else str(path)
        self.layer = self._choose_layer(layer)
        if kind == "shapefile":
            self.encoding = encoding or _shapefile_encoding(path, self._target)
        info = pyogrio.read_info(
            self._target, layer=self.layer, encoding=self._encoding_option()
        )
        self.columns = [str(name) for name in info["fields"]]
        self.header = self.columns
        self.crs = _epsg(info.get("crs"))
        self.geometry_type = info.get("geometry_type")
        self._count = info.get("features")

    def _encoding_option(self) -> str | None:
        return self.encoding if self.format == "shapefile" else None

    def _open_options(self) -> dict:
        # GDAL would read ISO times in GeoJSON as its own date type, which keeps
        # only milliseconds and turns an empty one into NaT: take the text.
        return {"DATE_AS_STRING": "YES"} if self.format == "geojson" else {}

    def _choose_layer(self, layer: str | None) -> str | None:
        layers = [str(row[0]) for row in pyogrio.list_layers(self._target)]
        if layer is not None:
            if layer not in layers:
                raise InvalidInput(
                    f"没有图层 {layer} / no layer {layer!r}; layers: "
                    f"{', '.join(layers)}",
                    field="layer",
                )
            return layer
        if len(layers) > 1:
            raise InvalidInput(
                f"{self.path.name} 有多个图层，请用 --layer 选择 / has several "
                f"layers, choose one with --layer: {', '.join(layers)}",
                field="layer",
            )
        return layers[0] if layers else None

    def count_hint(self) -> int | None:
        return self._count if self._count and self._count > 0 else None

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        start = 0
        while True:
            frame = pyogrio.read_dataframe(
                self._target,
                layer=self.layer,
                encoding=self._encoding_option(),
                **self._open_options(),
                skip_features=start,
                max_features=size,
            )
            if not len(frame):
                return
            numbers = list(range(start + 1, start + len(frame) + 1))
            geometry = np.asarray(frame.geometry.values, dtype=object)
            attributes = frame.drop(columns=frame.geometry.name)
            columns = {
                str(name): [_cell_text(v) for v in attributes[name]]
                for name in attributes.columns
            }
            raw = [
                {**record, "__geometry__": shape}
                for record, shape in zip(
                    attributes.to_dict("records"), geometry, strict=True
                )
            ]
            yield Chunk(numbers=numbers, columns=columns, raw=raw, geometry=geometry)
            start += len(frame)
            if len(frame) < size:
                return


def _vsi_path(path: Path) -> str:
    """GDAL's path for a Shapefile, looking inside a zip for the one ``.shp``."""
    if path.suffix.lower() != ".zip":
        return str(path)
    with zipfile.ZipFile(path) as archive:
        shps = [n for n in archive.namelist() if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise InvalidInput(
            f"压缩包中应恰有一个 .shp / the zip must hold exactly one .shp, found "
            f"{len(shps)}: {', '.join(shps) or 'none'}",
            field="path",
        )
    return f"/vsizip/{path}/{shps[0]}"


def _sidecar(path: Path, suffix: str) -> bytes | None:
    """A Shapefile's ``.cpg``/``.dbf`` bytes, from beside it or inside its zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.lower().endswith(suffix):
                    return archive.read(name)
        return None
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate.read_bytes()
    return None


# DBF language-driver ids for Chinese code pages (byte 29 of the header).
_DBF_CHINESE = {0x4D: "gb18030", 0x7A: "gb18030"}


def _shapefile_encoding(path: Path, target: str) -> str:
    """``.cpg`` if present, else the DBF's code-page byte, else a sniff of its
    records: UTF-8 if they decode, otherwise GB18030 (covers GBK)."""
    cpg = _sidecar(path, ".cpg")
    if cpg:
        name = cpg.decode("ascii", errors="ignore").strip()
        aliases = {"936": "gb18030", "gbk": "gb18030", "65001": "utf-8"}
        name = aliases.get(name.lower(), name)
        try:
            return codecs.lookup(name).name
        except LookupError:
            logger.warning("%s: unknown .cpg %r, sniffing instead", path.name, name)
    dbf = _sidecar(path, ".dbf") or b""
    if len(dbf) > 32 and dbf[29] in _DBF_CHINESE:
        return _DBF_CHINESE[dbf[29]]
    header_size = int.from_bytes(dbf[8:10], "little") if len(dbf) > 10 else 0
    return "utf-8" if sniff_encoding(dbf[header_size:]) != "gb18030" else "gb18030"


def _epsg(wkt: str | None) -> str | None:
    """``EPSG:n`` for a file's declared CRS, or its WKT when EPSG has no match."""
    if not wkt:
        return None
    crs = CRS.from_user_input(wkt)
    code = crs.to_epsg(min_confidence=70)
    if code:
        return f"EPSG:{code}"
    return crs.to_wkt()
