"""A county's folder of files, imported in the right order: ``import-dir``.

:func:`plan` recognises each file's layer from its name (区界, 乡镇, 村社区,
网格, 派出所, 警务室, 民警, 监控, 场所, 事件台账 ... or the layer's own name)
and checks it against its columns (:func:`gis.ingest.fields.match_columns`);
when the name says nothing, the columns and the geometry decide, if only one
layer fits.  :func:`import_dir` then imports the files parents first —
districts, townships, stations, villages, grids, posts, people, cameras,
sites, incidents — each through the one import run
(:class:`gis.ingest.pipeline.Run`), and returns one :class:`FolderReport`.

Each file is its own transaction: one refused file does not undo the others
(the files that needed it are refused in turn, and say why).  With
``dry_run`` everything runs in one transaction rolled back at the end, each
file as a savepoint, so later files are checked against the parents the
earlier ones would have loaded, and nothing is written.

A file's coordinate system: what it declares, else ``crs`` when given, else
a hint in its name (高德/腾讯/gcj02 → GCJ-02, 百度/bd09 → BD-09), else the
usual guess of the single-file import.
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from gis import catalog, config
from gis.errors import InvalidInput
from gis.ingest import fields, stable
from gis.ingest.report import Report
from gis.ingest.sources import FORMATS, check_zip, open_source

logger = logging.getLogger(__name__)

ORDER = ("districts", "townships", "stations", "villages", "grids", "posts",
         "officers", "grid_members", "people", "cameras", "sites",
         "incidents")  # fmt: skip
"""Parents before children, places before the people and points in them."""

# Words in a file's name that say its layer (besides the layer's own name
# and its catalog title).  The longest word found wins: 村警务室 is posts.
NAME_WORDS = {
    "districts": ("区界", "区县", "县界", "行政区", "district"),
    "townships": ("乡镇", "街道", "乡镇街道", "township"),
    "stations": ("派出所", "派出所辖区", "station"),
    "villages": ("村", "社区", "村居", "村社区", "行政村", "village"),
    "grids": ("网格", "grid"),
    "posts": ("警务室", "工作站", "警务工作站", "post"),
    "officers": ("民警", "辅警", "警员", "一村一警", "officer"),
    "grid_members": ("网格员", "网格长", "grid_member"),
    "people": ("法律顾问", "调解员", "责任人", "people", "person"),
    "cameras": ("监控", "摄像", "摄像机", "雪亮", "camera"),
    "sites": ("场所", "重点场所", "site"),
    "incidents": ("事件", "纠纷", "矛盾纠纷", "台账", "案件", "警情", "incident"),
}
_SKIP = (".report.", ".quarantine.", ".check.")  # our own outputs
_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
_CRS_WORDS = {"gcj02": ("gcj02", "gcj", "高德", "腾讯"), "bd09": ("bd09", "百度")}


@dataclass
class Planned:
    """One file of the folder and the layer it goes into."""

    path: Path
    layer: str | None
    how: str  # how the layer was recognised, or why it was not
    crs: str | None = None


@dataclass
class FolderReport:
    """What :func:`import_dir` did with every file."""

    directory: str
    dry_run: bool
    files: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(
            f["status"] in ("loaded", "checked") for f in self.files
        )

    def add(self, planned: Planned, report: Report | None, error: str | None):
        entry = {"file": planned.path.name, "layer": planned.layer,
                 "recognised": planned.how}  # fmt: skip
        if report is not None:
            entry.update(status=report.status, summary=report.summary(),
                         report=report.to_dict())  # fmt: skip
        else:
            entry.update(status="refused", summary=error, report=None)
        self.files.append(entry)

    def lines(self) -> list[str]:
        """The summary, a line a file and a total."""
        out = [
            f"{i}. {f['file']} → {f['layer'] or '?'}（{f['recognised']}）: "
            f"{f['summary']}"
            for i, f in enumerate(self.files, 1)
        ]
        done = sum(f["status"] in ("loaded", "checked") for f in self.files)
        word = "检查 checked" if self.dry_run else "导入 loaded"
        out.append(
            f"共 {len(self.files)} 个文件，{done} 个已{word}，"
            f"{len(self.files) - done} 个未通过 / {len(self.files)} files, {done} "
            f"{'checked' if self.dry_run else 'loaded'}, {len(self.files) - done} "
            "refused" + ("（演练，未写入 / dry run: nothing written）" if self.dry_run
                         else "")
        )  # fmt: skip
        return out

    @classmethod
    def load(cls, path: str | Path) -> FolderReport:
        """A report :meth:`write` wrote."""
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(body["directory"], body["dry_run"], body["files"])

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(
            {"directory": self.directory, "dry_run": self.dry_run, "ok": self.ok,
             "files": self.files}, ensure_ascii=False, indent=2, default=str,
        ), encoding="utf-8")  # fmt: skip
        return path


def order() -> list[str]:
    """Every catalog layer in import order (layers :data:`ORDER` does not
    know come after the people)."""
    known = [name for name in ORDER if name in catalog.LAYERS]
    extra = [name for name in catalog.names() if name not in ORDER]
    at = known.index("people") + 1 if "people" in known else len(known)
    return known[:at] + extra + known[at:]


def plan(directory: str | Path, encoding: str | None = None,
         crs: str | None = None) -> list[Planned]:  # fmt: skip
    """The folder's importable files, each with its layer, in import order
    (files whose layer could not be told come last, with the reason)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"不是文件夹 / not a directory: {directory}", field="path")
    planned = [_recognise(path, encoding, crs) for path in _files(directory)]
    if not planned:
        raise InvalidInput(
            f"文件夹中没有可导入的文件 / no importable file in {directory} ("
            f"{', '.join(sorted(set(FORMATS)))})",
            field="path",
        )
    rank = {name: i for i, name in enumerate(order())}
    return sorted(planned, key=lambda p: (rank.get(p.layer, len(rank)), p.path.name))


def import_dir(engine: sa.Engine, directory: str | Path, dry_run: bool = False,
               crs: str | None = None, report_dir: str | Path | None = None,
               **options) -> FolderReport:  # fmt: skip
    """Import every file of ``directory`` (see the module doc).

    ``options`` are those of :func:`gis.ingest.import_file` (``encoding``,
    ``lenient``, ``username``, ``progress``...) for every file; ``crs`` is
    for the files that declare none.  With ``report_dir`` each file's report
    (and quarantine) is written there as ``<file>.report.json``.
    """
    from gis.ingest import import_file

    folder = FolderReport(str(directory), dry_run)
    files = plan(directory, options.get("encoding"), crs)
    with engine.connect() as conn:
        outer = conn.begin() if dry_run else None
        for planned in files:
            if planned.layer is None:
                folder.add(planned, None, planned.how)
                continue
            report_path = None
            if report_dir is not None:
                report_path = Path(report_dir) / f"{planned.path.name}.report.json"
            shared = {"connection": conn, "dry_run": True} if dry_run else {}
            try:
                report = import_file(engine, planned.layer, planned.path, report_path,
                                     crs=planned.crs, **shared, **options)  # fmt: skip
            except InvalidInput as exc:
                folder.add(planned, None, exc.message)
                continue
            folder.add(planned, report, None)
        if outer is not None:
            outer.rollback()
    return folder


def _files(directory: Path) -> list[Path]:
    out = []
    for path in sorted(directory.iterdir()):
        name = path.name.lower()
        if not path.is_file() or name.startswith(".") or any(s in name for s in _SKIP):
            continue
        if path.suffix.lower() in FORMATS:
            out.append(path)
    return out


def _recognise(path: Path, encoding: str | None, crs: str | None) -> Planned:
    """The layer of ``path`` from its name, checked against its columns."""
    try:
        source = open_source(path, encoding)
    except InvalidInput as exc:
        return Planned(path, None, exc.message)
    geometry = source.geometry_type
    fits = [name for name in order() if _fits(name, source.columns, geometry)]
    by_name = _by_name(path.stem)
    chosen = [name for name in by_name if name in fits]
    if chosen:
        layer, how = chosen[0], "文件名和列 / name and columns"
    elif by_name:  # the import will say which columns are missing
        layer, how = by_name[0], "文件名 / name"
    elif len(fits) == 1:
        layer, how = fits[0], "列 / columns"
    else:
        words = "、".join(NAME_WORDS.get(f, (f,))[0] for f in fits) or "—"
        could = ", ".join(fits) or "无"
        return Planned(path, None, (
            f"无法判断 {path.name} 属于哪个图层（可能：{could}）；请在文件名中"
            f"写明，如 {words} / cannot tell the layer of {path.name} (could be "
            f"{', '.join(fits) or 'none'}): name the file after it"
        ))  # fmt: skip
    return Planned(path, layer, how, None if source.crs else _crs_of(path, crs))


def _fits(layer: str, columns: list[str], geometry: str | None) -> bool:
    """Whether a file with ``columns`` (and ``geometry``) can go into ``layer``."""
    entry = catalog.LAYERS[layer]
    if geometry is not None:
        polygons = "Polygon" in geometry
        if entry.geometry is None or polygons != (entry.geometry == "MultiPolygon"):
            return False
    try:
        fields.match_columns(columns, layer, has_geometry=geometry is not None,
                             optional=stable.optional(layer))  # fmt: skip
    except InvalidInput:
        return False
    return True


def _by_name(stem: str) -> list[str]:
    """Layers the file's name points at, the longest word first."""
    text = stem.lower()
    found = {}
    for layer in order():
        words = (*NAME_WORDS.get(layer, ()), layer,
                 *catalog.LAYERS[layer].title.replace("(", "/").split("/"))  # fmt: skip
        hits = [len(w) for w in words if w and w.lower() in text]
        if hits:
            found[layer] = max(hits)
    return sorted(found, key=lambda name: -found[name])


def _crs_of(path: Path, given: str | None) -> str | None:
    if given:
        return given
    name = path.stem.lower()
    for system, words in _CRS_WORDS.items():
        if any(w in name for w in words):
            return system
    return None


_MACOS = "__MACOSX"


def unpack(archive: str | Path, target: str | Path) -> Path:
    """Extract a zipped county folder (the upload page's "整个文件夹") into
    ``target``, flat: each file under its own name, whatever folder it sat
    in.  Returns ``target``.

    Entries are read, never trusted: first the checks every imported zip gets
    (:func:`gis.ingest.sources.check_zip`: no entry climbing out of its folder,
    the entry count and unpacked size within the configured caps), then the
    bytes are counted again as written, not as the archive claims; two files
    of one name refuse the archive.  Names written by Windows' zip in GBK are
    decoded as GBK.
    """
    archive, target = Path(archive), Path(target)
    check_zip(archive)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = [e for e in zipped.infolist() if not e.is_dir()]
            names = [_entry_name(e) for e in entries]
            _check_entries(names)
            budget = config.import_unzipped_bytes()
            for entry, name in zip(entries, names, strict=True):
                if name is None:
                    continue
                with zipped.open(entry) as data, (target / name).open("xb") as out:
                    while block := data.read(1 << 20):
                        budget -= len(block)
                        if budget < 0:
                            raise InvalidInput(_too_big(), field="file")
                        out.write(block)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidInput(
            f"压缩包无法读取 / the zip file cannot be read: {exc}", field="file"
        ) from None
    except InvalidInput:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def _entry_name(entry) -> str | None:
    """The file name an entry is extracted to (None: skipped), or refused."""
    raw = entry.filename
    if not entry.flag_bits & 0x800:  # no UTF-8 flag: Windows wrote GBK
        try:
            raw = raw.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    parts = raw.replace("\\", "/").split("/")
    if raw.startswith("/") or ".." in parts or "\x00" in raw:
        raise InvalidInput(
            f"压缩包中的路径不安全 / unsafe path in the zip file: {raw!r}", field="file"
        )
    name = parts[-1]
    if _MACOS in parts or name.startswith(".") or not name:
        return None
    return name


def _check_entries(names: list) -> None:
    kept = [n for n in names if n is not None]
    twice = sorted({n for n in kept if kept.count(n) > 1})
    if twice:
        raise InvalidInput(
            f"压缩包中有同名文件 / files of the same name in the zip: "
            f"{', '.join(twice)}",
            field="file",
        )


def _too_big() -> str:
    limit = config.import_unzipped_bytes() >> 20
    return (
        f"压缩包解压后超过 {limit} MB / the zip unpacks to more than {limit} MB "
        "(PINGAN_IMPORT_UNZIPPED_MB)"
    )
