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

Large CSV files are read a block of bytes at a time, decoded and parsed at C
speed (pandas); only a block with something unusual in it — a bad byte, a blank
row, a row with the wrong number of fields — goes line by line (see
:meth:`CsvSource.chunks`).

Hostile or broken files are refused with :class:`~gis.errors.InvalidInput`
naming the file, never a library's traceback: a zip (zipped Shapefile, XLSX) is
checked before anything in it is read (:func:`check_zip`: no entry may climb out
of its folder; entry count and unpacked size are capped in :mod:`gis.config`);
sniffing reads a bounded prefix; encodings must be text codecs
(:func:`text_encoding`); XLSX XML is parsed by defusedxml (no entity
expansion); a NUL byte rejects its CSV row.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from gis import config
from gis.errors import ConfigError, InvalidInput
from gis.ingest import fields

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
# Rows of a sheet or lines of a CSV searched for the header, below a title.
HEADER_ROWS = 10
# Encodings in which a newline, quote or delimiter byte is always that
# character (never part of a multi-byte one): their bytes can be split into
# rows before decoding.
BLOCK_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312"})
MAX_BLOCK_BYTES = 64 << 20  # past this without a row end, read line by line


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
    offset: int | None = None  # bytes of the file read so far (CSV), for progress

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
    notes: list[str]  # what the report should tell about reading the file

    def __init__(self, path: Path):
        self.path = path
        self.notes = []

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
        Layer of a GeoPackage (required when it has several), or worksheet of
        an XLSX workbook (default: the first).  Refused for a CSV, which has
        neither.

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
        encoding = text_encoding(encoding)
    if kind == "csv":
        if layer:
            raise InvalidInput(
                f"CSV 文件没有图层或工作表 / a CSV file has no layers or sheets: "
                f"leave out --layer {layer}",
                field="layer",
            )
        source = CsvSource(path, encoding)
    elif kind == "xlsx":
        source = XlsxSource(path, layer)
    else:
        source = VectorSource(path, kind, encoding, layer)
    bound = _ROW_BOUND.get()
    if bound is not None:
        source.chunks = _bounded(source.chunks, bound)
    return source


class RowBound:
    """How far :func:`rows_at_most` let a source be read."""

    def __init__(self, limit: int):
        self.limit, self.read, self.cut = limit, 0, False

    def note(self) -> str:
        """What a report on the bounded reading says."""
        return (
            f"文件较大，预览只检查了前 {self.read:,} 行，其余的行在确认导入时检查 / "
            f"a big file: the preview checked its first {self.read:,} rows; the "
            "rest are checked when the import is confirmed"
        )


_ROW_BOUND: ContextVar[RowBound | None] = ContextVar("row_bound", default=None)


@contextmanager
def rows_at_most(limit: int) -> Iterator[RowBound]:
    """Sources opened inside stop after the first chunks that hold ``limit``
    rows (whole chunks: a little more); the :class:`RowBound` yielded says
    whether a file was cut.  For the upload page's dry run, so that checking a
    big file does not hold a web worker for minutes."""
    bound = RowBound(limit)
    token = _ROW_BOUND.set(bound)
    try:
        yield bound
    finally:
        _ROW_BOUND.reset(token)


def _bounded(chunks, bound: RowBound):
    def bounded(size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        for chunk in chunks(size):
            if bound.read >= bound.limit:
                bound.cut = True
                return
            bound.read += len(chunk)
            yield chunk

    return bounded


def text_encoding(name: str, field: str = "encoding") -> str:
    """The codec name of text encoding ``name``; :class:`InvalidInput` for an
    unknown one or a codec that is not a text encoding (``rot13``, ``hex``,
    ``base64``, ``zlib``: they turn bytes into bytes or text into text)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidInput(
            f"未知编码 / unknown encoding {name!r}", field=field
        ) from None
    if not info._is_text_encoding:
        raise InvalidInput(
            f"{name!r} 不是文本编码，请用 utf-8、gbk 或 gb18030 / {name!r} is not a "
            "text encoding; use utf-8, gbk or gb18030",
            field=field,
        )
    return info.name


def check_zip(path: Path) -> list[str]:
    """The entry names of zip ``path`` (a zipped Shapefile, an XLSX workbook),
    checked before anything in it is read.

    Raises
    ------
    InvalidInput
        Not a zip; an entry whose name is absolute or climbs out of its folder
        (``../../x.shp``); more entries than :func:`gis.config.import_zip_entries`
        or more bytes unpacked than :func:`gis.config.import_unzipped_bytes`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise InvalidInput(
            f"{path.name} 不是有效的 zip 压缩包 / {path.name} is not a valid zip "
            "archive",
            field="path",
        ) from None
    climbing = [e.filename for e in entries if not _inside(e.filename)]
    if climbing:
        raise InvalidInput(
            f"{path.name} 中的文件名含有路径 / entries of {path.name} climb out of "
            f"their folder: {', '.join(climbing[:5])}",
            field="path",
        )
    limit = config.import_zip_entries()
    if len(entries) > limit:
        raise InvalidInput(
            f"{path.name} 有 {len(entries)} 个文件，上限 {limit} / {path.name} has "
            f"{len(entries)} entries, more than {limit} (PINGAN_IMPORT_ZIP_ENTRIES)",
            field="path",
        )
    size, limit = sum(e.file_size for e in entries), config.import_unzipped_bytes()
    if size > limit:
        raise InvalidInput(
            f"{path.name} 解压后 {size / 2**20:.0f} MB，超过上限 {limit >> 20} MB / "
            f"{path.name} unpacks to {size / 2**20:.0f} MB, more than "
            f"{limit >> 20} MB (PINGAN_IMPORT_UNZIPPED_MB)",
            field="path",
        )
    return [e.filename for e in entries]


def _inside(name: str) -> bool:
    """Whether zip entry ``name`` stays inside the folder it is unpacked to."""
    parts = name.replace("\\", "/").split("/")
    absolute = name.startswith(("/", "\\")) or ":" in parts[0]
    return not (absolute or ".." in parts or "\x00" in name)


# Errors of the readers (GDAL through pyogrio, zip, XML, text) that mean the
# file is broken, not the program.
_BROKEN = (
    RuntimeError, ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
    zlib.error, csv.Error,
)  # fmt: skip


@contextmanager
def _readable(path: Path, errors: tuple = _BROKEN):
    """Turn a reader's error about ``path`` into :class:`InvalidInput`, with
    the server's directories left out of the message."""
    try:
        yield
    except InvalidInput:
        raise
    except errors as exc:
        root = exc  # openpyxl wraps the XML parser's error in its own
        while root.__cause__ or root.__context__:
            root = root.__cause__ or root.__context__
        if type(root).__module__.startswith("defusedxml"):
            raise InvalidInput(
                f"{path.name} 含有 XML 实体声明或外部引用，出于安全不予读取 / "
                f"{path.name} declares XML entities or external references (a "
                f"'billion laughs' can hide there): refused ({type(root).__name__})",
                field="path",
            ) from None
        reason = f"{type(root).__name__}: {root}".replace(f"{path.parent}{os.sep}", "")
        raise InvalidInput(
            f"无法读取 {path.name}，文件可能已损坏 / cannot read {path.name}: "
            f"{reason[:300]}",
            field="path",
        ) from None


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
    """A delimited text file with a header row (comma, semicolon or tab).

    The header is line 1, or a lower one of the first :data:`HEADER_ROWS`
    lines when a title such as ``华龙区矛盾纠纷台账`` sits above the table, as
    in a sheet saved from Excel (:func:`_header_row`); the lines above it are
    not data, and :attr:`notes` says so.
    """

    format = "csv"

    def __init__(self, path: Path, encoding: str | None):
        super().__init__(path)
        with path.open("rb") as handle:
            sample = handle.read(SNIFF_BYTES)
        self.encoding = encoding or sniff_encoding(sample)
        lines = sample.split(b"\n", HEADER_ROWS)[:HEADER_ROWS]
        texts = [line.decode(self.encoding, errors="replace") for line in lines]
        parsed = []
        for text in texts:
            delimiter = max(",;\t", key=text.count)
            parsed.append((delimiter, _cells(text.rstrip("\r\n"), delimiter)))
        self._header_line = _header_row([cells for _, cells in parsed])
        self.delimiter, self.header = parsed[self._header_line - 1]
        self.columns = [name.strip().lstrip("\ufeff") for name in self.header]
        if not any(self.columns) or any("\x00" in c for c in self.columns):
            raise InvalidInput(
                f"{path.name} 第 {self._header_line} 行没有列名 / line "
                f"{self._header_line} has no column names",
                field="header",
            )
        # Where the header line starts, and where the line after it does.
        self._head = sum(len(line) + 1 for line in lines[: self._header_line - 1])
        head = lines[self._header_line - 1]
        self._body = self._head + len(head) + 1
        self._row_bytes = len(sample) / max(1, sample.count(b"\n"))
        # A header with an open quote runs on past its line: only the
        # sequential reader knows where.
        self._blockwise = (
            codecs.lookup(self.encoding).name in BLOCK_ENCODINGS
            and head.count(b'"') % 2 == 0
        )
        if self._header_line > 1:
            where = f"line {self._header_line}"
            self.notes.append(_above_header(self._header_line, where))

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """Chunks of ``size`` rows (the last may be smaller).

        Blocks of bytes that end where a row ends are decoded whole and parsed
        by pandas' C parser.  A block with a byte that does not decode, a blank
        row, a row whose field count differs from the header's, or a row with
        no ASCII letter or digit (it may be blank once stripped) is read line by
        line instead, so that each such row is reported by its line number as
        before.  Quotes used other than around whole fields make row ends a
        matter for the sequential reader: from there on the whole file is read
        line by line.
        """
        batch = _Batch(self.columns, size)
        with self.path.open("rb") as handle:
            if not self._blockwise:
                handle.seek(self._head)
                rows = self._rows(handle, self._header_line, header=True)
                yield from batch.add_rows(rows, offset=None)
                yield from batch.flush()
                return
            handle.seek(self._body)
            number = self._header_line + 1
            for offset, block in _blocks(handle, size * self._row_bytes):
                if block is None:  # no row end in sight: the careful way
                    handle.seek(offset)
                    rows = self._rows(handle, number)
                    yield from batch.add_rows(rows, offset=None)
                    break
                piece = self._parse_block(block, number)
                if piece is _UNCLEAN:
                    handle.seek(offset)
                    rows = self._rows(handle, number)
                    yield from batch.add_rows(rows, offset=None)
                    break
                end = offset + len(block)
                if piece is None:
                    rows = self._rows(block.splitlines(keepends=True), number)
                    yield from batch.add_rows(rows, offset=end)
                else:
                    yield from batch.add(piece, offset=end)
                number += block.count(b"\n")
        yield from batch.flush()

    def _rows(self, lines, number: int, header: bool = False):
        """``(line number, row, reason or None)`` of each row of ``lines``
        (bytes; the first is line ``number``), one line at a time: a line with
        an invalid byte gives its row the reason, with the byte replaced."""
        broken: dict[int, str] = {}
        lines = self._decoded(lines, number, broken)
        reader = _Reader(lines, self.delimiter, self.path, number)
        if header:
            next(reader, None)
        width = len(self.columns)
        previous = number - 1 + reader.line_num  # physical line of the last row's end
        for row in reader:
            first, previous = previous + 1, number - 1 + reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            hit = (
                [n for n in range(first, previous + 1) if n in broken] if broken else []
            )
            reason = None
            if hit:
                reason = broken.pop(hit[0])
            elif len(row) != width:
                reason = (
                    f"有 {len(row)} 列，表头有 {width} 列 / {len(row)} fields, "
                    f"the header has {width}"
                )
            yield first, row, reason

    def _decoded(self, lines, number: int, broken: dict[int, str]) -> Iterator[str]:
        decode = codecs.getdecoder(
            "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        )
        for n, line in enumerate(lines, start=number):
            if n == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[3:]
            try:
                text = decode(line)[0]
            except UnicodeDecodeError as exc:
                broken[n] = (
                    f"第 {exc.start + 1} 个字节不是有效的 {self.encoding} 编码 / "
                    f"byte {exc.start + 1} is not valid {self.encoding}"
                )
                text = line.decode(self.encoding, errors="replace")
            if "\x00" in text:  # no database text can hold it
                broken.setdefault(n, "含有 NUL 字节 / contains a NUL byte")
                text = text.replace("\x00", "")
            yield text

    def _parse_block(self, block: bytes, number: int):
        """The rows of ``block`` (whole rows, the first on line ``number``) as a
        :class:`_Piece`; None when a row needs the line-by-line reader;
        ``_UNCLEAN`` when quotes sit inside fields."""
        if b"\x00" in block:
            return None  # the line-by-line reader rejects its row
        rows = _row_bounds(block, self.delimiter)
        if rows is None:
            return _UNCLEAN
        starts, lines, fields, letters = rows
        if (fields != len(self.columns)).any() or not letters.all():
            return None
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        width = len(self.columns)
        try:
            frame = pd.read_csv(
                io.BytesIO(block), sep=self.delimiter, header=None,
                names=range(width), index_col=False, dtype=str, na_filter=False,
                skip_blank_lines=False, encoding=encoding, encoding_errors="strict",
                engine="c", quotechar='"', doublequote=True,
            )  # fmt: skip
        except (UnicodeDecodeError, pd.errors.ParserError):
            return None
        if len(frame) != len(starts):
            return None  # cannot happen for the rows checked above; be safe
        columns = [frame[i].to_numpy(dtype=object) for i in range(width)]
        return _Piece(number + lines, columns)


_UNCLEAN = object()


def _cells(text: str, delimiter: str) -> list[str]:
    """The cells of one line of text; none when it is no CSV line at all."""
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return []


class _Reader:
    """``csv.reader`` whose error (a stray carriage return in an unquoted
    field, say) refuses the file naming the line, instead of a traceback."""

    def __init__(self, lines, delimiter: str, path: Path, number: int):
        self.reader = csv.reader(lines, delimiter=delimiter)
        self.path, self.number = path, number

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self.reader)
        except csv.Error as exc:
            line = self.number - 1 + self.reader.line_num
            raise InvalidInput(
                f"{self.path.name} 第 {line} 行无法按 CSV 读取 / line {line} of "
                f"{self.path.name} is not CSV: {exc}",
                field="path",
            ) from None


def _blocks(handle, want: float) -> Iterator[tuple[int, bytes | None]]:
    """``(offset, bytes)`` from ``handle``'s position on, each block ending
    where a row ends (a newline outside quotes; the last gets one if the file
    lacks it).  ``(offset, None)`` when no row end turns up within
    :data:`MAX_BLOCK_BYTES`: the rest is for the line-by-line reader."""
    want = max(1 << 16, int(want))
    offset, tail = handle.tell(), b""
    while True:
        data = handle.read(want)
        buffer = tail + data if tail else data
        if not data:
            if buffer:
                yield offset, buffer if buffer.endswith(b"\n") else buffer + b"\n"
            return
        cut = _row_end(buffer)
        if cut < 0:
            if len(buffer) > MAX_BLOCK_BYTES:
                yield offset, None
                return
            tail = buffer
            continue
        yield offset, buffer[:cut]
        offset, tail = offset + cut, buffer[cut:]


def _row_end(buffer: bytes) -> int:
    """Index just past the last newline of ``buffer`` with an even number of
    quote characters before it (outside any quoted field), or -1."""
    quotes, end = buffer.count(b'"'), len(buffer)
    position = buffer.rfind(b"\n")
    while position >= 0:
        quotes -= buffer.count(b'"', position, end)
        if quotes % 2 == 0:
            return position + 1
        end, position = position, buffer.rfind(b"\n", 0, position)
    return -1


# Bytes that make a cell non-blank for certain: ASCII letters, digits and signs
# (whitespace, the delimiters and quotes do not; nor, conservatively, non-ASCII
# bytes, which may be a full-width space).
_LETTERS = bytes(int(32 < b < 127 and b != ord('"')) for b in range(256))


def _row_bounds(block: bytes, delimiter: str):
    """Where the rows of ``block`` start, the line of each (from 0), its field
    count and whether it has a letter; None when quotes are not only around
    whole fields or a carriage return stands alone."""
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    delimiters = np.flatnonzero(data == ord(delimiter))
    quotes = np.flatnonzero(data == 34)
    ends = np.arange(len(newlines))
    if quotes.size:
        if not _quotes_around_fields(data, quotes, ord(delimiter)):
            return None
        ends = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)
        if not ends.size or ends[-1] != len(newlines) - 1:
            return None  # the file ends inside a quoted field
        delimiters = delimiters[np.searchsorted(quotes, delimiters) % 2 == 0]
    stops = newlines[ends]
    starts = np.concatenate(([0], stops[:-1] + 1))
    lines = np.concatenate(([0], ends[:-1] + 1))
    fields = (
        np.searchsorted(delimiters, stops) - np.searchsorted(delimiters, starts) + 1
    )
    letters = np.frombuffer(block.translate(_LETTERS), dtype=np.uint8).copy()
    letters[delimiters] = 0  # those between fields (a quoted one is a letter)
    has_letter = np.maximum.reduceat(letters, starts) > 0
    return starts, lines, fields, has_letter


def _quotes_around_fields(data: np.ndarray, quotes: np.ndarray, delimiter: int):
    """Every opening quote starts a field (or doubles a quote) and every closing
    one ends it: then counting quotes tells what the csv module reads."""
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    ok_before = (opening == 0) | np.isin(before, (delimiter, 10, 34))
    after = data[np.minimum(closing + 1, len(data) - 1)]
    ok_after = np.isin(after, (delimiter, 13, 10, 34))
    return bool(ok_before.all() and ok_after.all())


class _Piece:
    """Rows parsed together: line numbers, one object array per header column,
    reasons for broken rows and the rows as read where they differ from the
    columns (by position)."""

    def __init__(self, numbers, columns, broken=None, raw=None):
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.columns = columns
        self.broken = broken or {}
        self.raw = raw or {}

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, start: int, stop: int) -> _Piece:
        def within(d):
            return {i - start: v for i, v in d.items() if start <= i < stop}

        return _Piece(
            self.numbers[start:stop],
            [c[start:stop] for c in self.columns],
            within(self.broken),
            within(self.raw),
        )


class _Batch:
    """Turns pieces of any size into chunks of ``size`` rows."""

    def __init__(self, names: list[str], size: int):
        self.names, self.size = names, size
        self.pending: list[_Piece] = []
        self.count = 0
        self.offset = None

    def add(self, piece: _Piece, offset) -> Iterator[Chunk]:
        self.pending.append(piece)
        self.count += len(piece)
        self.offset = offset
        while self.count >= self.size:
            yield self._emit(self.size)

    def add_rows(self, rows, offset) -> Iterator[Chunk]:
        """Pieces from ``(number, row, reason)`` rows, a chunk's worth at a time."""
        width = len(self.names)
        numbers, cells, broken, raw = [], [], {}, {}
        for number, row, reason in rows:
            if reason is not None:
                broken[len(numbers)] = reason
            if len(row) != width:
                raw[len(numbers)] = row
                row = (row + [""] * width)[:width]
            numbers.append(number)
            cells.append(row)
            if len(numbers) == self.size:
                yield from self.add(_piece(numbers, cells, broken, raw), offset)
                numbers, cells, broken, raw = [], [], {}, {}
        if numbers:
            yield from self.add(_piece(numbers, cells, broken, raw), offset)

    def flush(self) -> Iterator[Chunk]:
        if self.count:
            yield self._emit(self.count)

    def _emit(self, n: int) -> Chunk:
        taken, left = [], n
        while left:
            piece = self.pending[0]
            if len(piece) <= left:
                taken.append(self.pending.pop(0))
                left -= len(piece)
            else:
                taken.append(piece.take(0, left))
                self.pending[0] = piece.take(left, len(piece))
                left = 0
        self.count -= n
        return _chunk(self.names, taken, self.offset)


def _piece(numbers, cells, broken, raw) -> _Piece:
    columns = [np.empty(len(cells), dtype=object) for _ in cells[0]]
    for i, column in enumerate(zip(*cells, strict=True)):
        columns[i][:] = column
    return _Piece(numbers, columns, broken, raw)


def _chunk(names: list[str], pieces: list[_Piece], offset) -> Chunk:
    if len(pieces) == 1:
        joined = pieces[0]
    else:
        base = np.cumsum([0] + [len(p) for p in pieces[:-1]])
        joined = _Piece(
            np.concatenate([p.numbers for p in pieces]),
            [np.concatenate(c) for c in zip(*(p.columns for p in pieces), strict=True)],
            _merged(base, [p.broken for p in pieces]),
            _merged(base, [p.raw for p in pieces]),
        )
    return Chunk(
        numbers=joined.numbers.tolist(),
        columns=dict(zip(names, joined.columns, strict=True)),
        raw=_RawRows(joined.columns, joined.raw),
        broken={int(i): r for i, r in joined.broken.items()},
        offset=offset,
    )


def _merged(bases, dicts: list[dict]) -> dict:
    return {b + i: v for b, d in zip(bases, dicts, strict=True) for i, v in d.items()}


class _RawRows:
    """Each row as read, made from the columns when asked (only rejected rows
    are ever asked for: the quarantine file)."""

    def __init__(self, columns: list[np.ndarray], differing: dict[int, list]):
        self.columns, self.differing = columns, differing

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __getitem__(self, i: int) -> list:
        if i in self.differing:
            return self.differing[i]
        return [column[i] for column in self.columns]


# -- XLSX -------------------------------------------------------------------------


class XlsxSource(Source):
    """One worksheet of an Excel workbook (streamed): ``sheet``, else the first.

    Its header is row 1, or a lower one of its first :data:`HEADER_ROWS` rows
    when a title such as ``华龙区警务室一览表`` sits above the table
    (:func:`_header_row`; :attr:`notes` says so).  Row numbers stay the sheet's.
    """

    format = "xlsx"

    def __init__(self, path: Path, sheet: str | None = None):
        super().__init__(path)
        check_zip(path)  # a workbook is a zip: capped before openpyxl unpacks it
        _require_defusedxml()
        with _readable(path, _XLSX_BROKEN):
            self._open(sheet)

    def _open(self, sheet: str | None) -> None:
        path = self.path
        self._book = _load_workbook(path)
        self.sheets = list(self._book.sheetnames)
        if sheet is not None and sheet not in self.sheets:
            raise InvalidInput(
                f"工作表不存在 / no worksheet {sheet!r} in {path.name}; it has: "
                f"{', '.join(self.sheets)}",
                field="layer",
            )
        self._sheet = self._book[sheet] if sheet else self._book.worksheets[0]
        top = list(self._sheet.iter_rows(max_row=HEADER_ROWS, values_only=True))
        self._header_row = _header_row(top)
        header = top[self._header_row - 1] if top else ()
        self.header = list(header)
        self.columns = ["" if v is None else str(v).strip() for v in header]
        if self._header_row > 1:
            where = f"row {self._header_row} of sheet {self._sheet.title!r}"
            self.notes.append(_above_header(self._header_row, where))

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        with _readable(self.path, _XLSX_BROKEN):  # the XML is parsed as read
            yield from self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Chunk]:
        width = len(self.columns)
        rows, numbers = [], []
        first = self._header_row + 1
        for number, row in enumerate(
            self._sheet.iter_rows(min_row=first, values_only=True), start=first
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


# openpyxl raises many kinds of error for a broken workbook; defusedxml's for
# entity declarations (billion laughs) and external references.
_XLSX_BROKEN = (Exception,)


def _require_defusedxml() -> None:
    """openpyxl parses XML with defusedxml when it is installed (and
    OPENPYXL_DEFUSEDXML is not False): make sure, rather than silently parse
    a hostile workbook without it."""
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise ConfigError(
            "读取 XLSX 需要 defusedxml / reading XLSX files needs defusedxml "
            "(pip install -r requirements.txt; OPENPYXL_DEFUSEDXML must not be False)"
        )


def _load_workbook(path: Path):
    """openpyxl's read-only workbook (values, not formulas)."""
    from openpyxl import load_workbook

    return load_workbook(path, read_only=True, data_only=True)


def _header_row(rows: list) -> int:
    """1-based number of the header among the first rows of a table: the first
    naming two or more known columns, when each row above it has at most one
    cell filled (a title, a note); else 1."""
    for number, row in enumerate(rows, start=1):
        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
        if sum(fields.known_column(cell) for cell in cells) >= 2:
            return number
        if len(cells) > 1:
            break  # a row of several cells that is no header: row 1 is the header
    return 1


def _above_header(number: int, where: str) -> str:
    """The note for a header found on row ``number`` (``where``, in words)."""
    return (
        f"表头在第 {number} 行，其上 {number - 1} 行（标题、说明）不是数据 / the "
        f"header is {where}; the {number - 1} line(s) above it (title, notes) "
        "are not data"
    )


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
        with _readable(path):
            self._open(kind, encoding, layer)

    def _open(self, kind: str, encoding: str | None, layer: str | None) -> None:
        path = self.path
        self.format = kind
        self._target = _vsi_path(path) if kind == "shapefile" else str(path)
        self.layer = self._choose_layer(layer)
        if kind == "shapefile":
            self.encoding = encoding or _shapefile_encoding(path, self._target)
        info = pyogrio.read_info(
            self._target,
            layer=self.layer,
            encoding=self._encoding_option(),
            **self._open_options(),
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
        with _readable(self.path):  # a file may break only past its start
            yield from self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Chunk]:
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
    shps = [n for n in check_zip(path) if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise InvalidInput(
            f"压缩包中应恰有一个 .shp / the zip must hold exactly one .shp, found "
            f"{len(shps)}: {', '.join(shps) or 'none'}",
            field="path",
        )
    return f"/vsizip/{path}/{shps[0]}"


def _sidecar(path: Path, suffix: str, limit: int = SNIFF_BYTES) -> bytes | None:
    """The first ``limit`` bytes of a Shapefile's ``.cpg``/``.dbf``, from beside
    it or inside its (checked) zip: never the whole of a file that may unpack
    to gigabytes."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.lower().endswith(suffix):
                    with archive.open(name) as member:
                        return member.read(limit)
        return None
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            with candidate.open("rb") as handle:
                return handle.read(limit)
    return None


# DBF language-driver ids for Chinese code pages (byte 29 of the header).
_DBF_CHINESE = {0x4D: "gb18030", 0x7A: "gb18030"}


def _shapefile_encoding(path: Path, target: str) -> str:
    """``.cpg`` if present, else the DBF's code-page byte, else a sniff of its
    records: UTF-8 if they decode, otherwise GB18030 (covers GBK)."""
    cpg = _sidecar(path, ".cpg", 64)
    if cpg:
        name = cpg.decode("ascii", errors="ignore").strip()
        aliases = {"936": "gb18030", "gbk": "gb18030", "65001": "utf-8"}
        name = aliases.get(name.lower(), name)
        try:
            return text_encoding(name)
        except InvalidInput:
            logger.warning("%s: unusable .cpg %r, sniffing instead", path.name, name)
    # The header (at most 64 KiB) and whole records up to SNIFF_BYTES.
    dbf = _sidecar(path, ".dbf", (1 << 16) + SNIFF_BYTES) or b""
    if len(dbf) > 32 and dbf[29] in _DBF_CHINESE:
        return _DBF_CHINESE[dbf[29]]
    return "utf-8" if sniff_encoding(_dbf_records(dbf)) != "gb18030" else "gb18030"


def _dbf_records(dbf: bytes) -> bytes:
    """The whole records of the start of a DBF, one a line, for the sniffer
    (a record cut short could end inside a character)."""
    if len(dbf) < 12:
        return b""
    header = int.from_bytes(dbf[8:10], "little")
    width = max(1, int.from_bytes(dbf[10:12], "little"))
    body = dbf[header : header + (max(0, len(dbf) - header) // width) * width]
    return b"\n".join(body[i : i + width] for i in range(0, len(body), width))


def _epsg(wkt: str | None) -> str | None:
    """``EPSG:n`` for a file's declared CRS, or its WKT when EPSG has no match."""
    if not wkt:
        return None
    crs = CRS.from_user_input(wkt)
    code = crs.to_epsg(min_confidence=70)
    if code:
        return f"EPSG:{code}"
    return crs.to_wkt()
