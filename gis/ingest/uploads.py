"""Files uploaded for import, kept in a private directory each until imported.

The web upload page saves what a person sent with :func:`save`, previews it and
checks it with a dry run, and imports it only when they confirm; between the two
requests (possibly served by different workers) the files, the options chosen
and the owner live on disk, not in memory::

    <root>/<32 hex digits>/          mode 0700, one per upload
        upload.json                  owner, layer, options, file names
        files/<name>                 the file, or the parts of one Shapefile
        check.json, check.csv        the dry run's report
        report.json, report.csv      the import's report
        report.quarantine.<ext>      the rows a lenient import set aside

Only the owner and admins may see an upload; to anyone else it does not exist.
Uploads older than :data:`MAX_AGE` are removed by :func:`sweep`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from gis.errors import Conflict, InvalidInput, NotFound
from gis.ingest.report import Finding, Report

logger = logging.getLogger(__name__)

SINGLE_FILES = (".csv", ".xlsx", ".geojson", ".json", ".gpkg", ".zip")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_REQUIRED = (".shp", ".shx", ".dbf")
MAX_AGE = 24 * 3600  # seconds an upload is kept
CHECK, REPORT = "check", "report"  # stems of the dry run's and the import's report
DOWNLOADS = (
    "check.json", "check.csv", "report.json", "report.csv",
    "report.quarantine.csv", "report.quarantine.xlsx", "report.quarantine.geojson",
)  # fmt: skip
_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE_CHARS = re.compile(r"[^\w.\-()（）]+")
_MAX_NAME = 150  # bytes of UTF-8 in a stored file's stem (ext4 allows 255)
_META = "upload.json"
_LOCK = "commit.lock"


@dataclass
class Upload:
    """One upload: who sent it, which layer it is for, with which options."""

    id: str
    directory: Path
    owner: str
    layer: str
    filename: str  # the file to import (the ``.shp`` of a Shapefile)
    files: list[str]  # as stored
    sent_names: list[str] = field(default_factory=list)  # as the browser sent them
    options: dict = field(default_factory=dict)  # crs, encoding, layer_name, ...
    created: float = 0.0

    @property
    def path(self) -> Path:
        """The file to import."""
        return self.directory / "files" / self.filename

    def report_path(self, stem: str = REPORT) -> Path:
        return self.directory / f"{stem}.json"

    @property
    def committed(self) -> bool:
        """Whether the real import has run (its report is written)."""
        return self.report_path(REPORT).is_file()

    def claim_commit(self) -> None:
        """Take the right to run the import, once; :class:`Conflict` if taken.

        An exclusive create on disk, so two workers handling a double click
        cannot both import the file.
        """
        try:
            os.close(os.open(self.directory / _LOCK, os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise Conflict(
                "该文件正在导入，请稍后刷新 / this upload is being imported already"
            ) from None

    def release_commit(self) -> None:
        """Give the claim back after an import that did not run to the end."""
        (self.directory / _LOCK).unlink(missing_ok=True)

    def saved_report(self, stem: str = REPORT) -> Report | None:
        """The report written by the dry run (``check``) or the import, if any."""
        try:
            data = json.loads(self.report_path(stem).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        findings = [
            Finding(**{**f, "location": f["location"] and tuple(f["location"])})
            for f in data.pop("findings")
        ]
        outputs = [Path(p) for p in data.pop("outputs")]
        return Report(**data, findings=findings, outputs=outputs)

    def downloads(self) -> list[str]:
        """Names of the report files there are to download."""
        return [name for name in DOWNLOADS if (self.directory / name).is_file()]

    def download(self, name: str) -> Path:
        """The path of report file ``name``; :class:`NotFound` for anything else."""
        if name not in self.downloads():
            raise NotFound(f"没有文件 {name} / no file {name!r} in this upload")
        return self.directory / name


def save(
    root: str | Path,
    owner: str,
    layer: str,
    files: list[tuple[str, BinaryIO]],
    options: dict | None = None,
) -> Upload:
    """Store ``files`` (name, binary stream) in a new private directory.

    One file of a type in :data:`SINGLE_FILES`, or the parts of one Shapefile
    (:data:`SHAPEFILE_PARTS`, at least ``.shp``, ``.shx`` and ``.dbf``, all with
    the same name).  Names are checked (no paths) and made safe; Chinese names
    are kept.

    Raises
    ------
    InvalidInput
        No file, a path, an unknown type, or an incomplete Shapefile.
    """
    names = [safe_name(name) for name, _ in files]
    filename = _main_file(names)
    root = Path(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    upload_id = secrets.token_hex(16)
    directory = root / upload_id
    (directory / "files").mkdir(mode=0o700, parents=True)
    os.chmod(directory, 0o700)
    try:
        for name, (_, stream) in zip(names, files, strict=True):
            with (directory / "files" / name).open("xb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
        upload = Upload(
            id=upload_id, directory=directory, owner=owner, layer=layer,
            filename=filename, files=names, sent_names=[n for n, _ in files],
            options=dict(options or {}),
            created=time.time(),
        )  # fmt: skip
        _write_meta(upload)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return upload


def load(root: str | Path, upload_id: str, username: str, role: str) -> Upload:
    """The upload ``upload_id`` if ``username`` owns it or ``role`` is admin.

    Raises :class:`NotFound` otherwise, the same as for an upload that does not
    exist, so nobody learns which uploads others have made.
    """
    missing = NotFound(f"没有这次上传 / no upload {upload_id!r}")
    if not _ID.match(upload_id or ""):
        raise missing
    directory = Path(root) / upload_id
    try:
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raise missing from None
    if meta["owner"] != username and role != "admin":
        raise missing
    return Upload(id=upload_id, directory=directory, **meta)


def sweep(root: str | Path, max_age: float = MAX_AGE, now: float | None = None) -> int:
    """Remove the uploads last touched more than ``max_age`` seconds ago.

    Called whenever a new upload is made, so no timer or worker is needed.
    Returns how many were removed.
    """
    root = Path(root)
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age
    removed = 0
    for entry in root.iterdir():
        try:
            old = _ID.match(entry.name) and entry.stat().st_mtime < cutoff
        except FileNotFoundError:  # another worker removed it just now
            continue
        if old:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d upload(s) older than %.0f h", removed, max_age / 3600)
    return removed


def safe_name(name: str | None) -> str:
    """``name`` fit to be a file name on the server, or :class:`InvalidInput`.

    A name with a directory in it is refused rather than cut down: browsers send
    bare names, so a path means a hand-made request.
    """
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise InvalidInput("请选择要上传的文件 / choose a file to upload", field="file")
    if "/" in name or "\\" in name or "\x00" in name or name.strip(".") == "":
        raise InvalidInput(
            f"文件名不能包含路径 / the file name must not be a path: {name!r}",
            field="file",
        )
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SINGLE_FILES + SHAPEFILE_PARTS:
        raise InvalidInput(
            f"不支持的文件类型 / unsupported file type: {name!r}; upload one "
            f"{' '.join(SINGLE_FILES)} file, or the {' '.join(SHAPEFILE_PARTS)} "
            "files of one Shapefile",
            field="file",
        )
    stem = _UNSAFE_CHARS.sub("_", stem).strip("._") or "upload"
    while len(stem.encode("utf-8")) > _MAX_NAME:
        stem = stem[:-1]
    return f"{stem}.{suffix.lower()}"


def _main_file(names: list[str]) -> str:
    """The file to import among ``names``: the single file, or the ``.shp``."""
    if not names:
        raise InvalidInput("请选择要上传的文件 / choose a file to upload", field="file")
    suffixes = [Path(n).suffix for n in names]
    if len(names) == 1 and suffixes[0] in SINGLE_FILES:
        return names[0]
    if any(s not in SHAPEFILE_PARTS for s in suffixes):
        raise InvalidInput(
            "一次只能上传一个文件，或同一个 Shapefile 的各组成文件 / upload one "
            f"file, or the parts of one Shapefile; got {', '.join(names)}",
            field="file",
        )
    stems = {Path(n).stem for n in names}
    missing = [s for s in SHAPEFILE_REQUIRED if s not in suffixes]
    if len(stems) != 1 or len(set(suffixes)) != len(suffixes) or missing:
        raise InvalidInput(
            "Shapefile 需要同名的 .shp、.shx 和 .dbf 文件（.prj、.cpg 可选）"
            f" / a Shapefile needs its .shp, .shx and .dbf with one name (.prj, "
            f".cpg optional); got {', '.join(names)}"
            + (f"; missing {', '.join(missing)}" if missing else ""),
            field="file",
        )
    return names[suffixes.index(".shp")]


def _write_meta(upload: Upload) -> None:
    meta = {k: v for k, v in asdict(upload).items() if k not in ("id", "directory")}
    tmp = upload.directory / f".{_META}.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, upload.directory / _META)
