"""The validation report of an import, and the quarantine file of its bad rows.

A :class:`Report` collects findings — each with the row (line or feature)
number, the field, a severity and the reason in Chinese and English — and the
counts read / loaded / rejected.  It is written as JSON (for programs and the
``import_batch`` table) and as CSV in UTF-8 with a BOM, which Excel on a Chinese
Windows opens without garbling.

In lenient mode every rejected row goes, untouched, to a quarantine file beside
the report: the same format as the input for CSV (same encoding, original
fields), XLSX for spreadsheets, GeoJSON for vector files.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SEVERITIES = ("error", "repaired", "warning")

# The upload page's name of each command-line option: a message must make
# sense on both (the page has no "--crs").
OPTION_WORDS = {
    "crs": "坐标系", "encoding": "文字编码", "layer": "GeoPackage 图层 / Excel 工作表",
    "map": "列对应", "valid-from": "生效日期",
}  # fmt: skip


def ask(option: str, value: str) -> str:
    """How to set ``option`` to ``value``, in Chinese, on the page and the CLI:
    ``“坐标系”填 gcj02（命令行 --crs gcj02）``."""
    return f"“{OPTION_WORDS[option]}”填 {value}（命令行 --{option} {value}）"


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or mended) with one row, or with the file as a whole."""

    row: int | None  # line number (tables) or feature number (vector files)
    field: str | None
    severity: str  # error: the row is rejected; repaired / warning: loaded
    reason: str  # "中文 / English"
    location: tuple[float, float] | None = None  # WGS84 lon/lat, topology findings
    area_m2: float | None = None


@dataclass
class Report:
    """Everything an import found, and what it did."""

    layer: str
    path: str
    mode: str  # strict | lenient
    read: int = 0
    loaded: int = 0  # accepted rows: written, or already in the database as is
    rejected: int = 0
    unchanged: int = 0  # of the loaded rows, those the database already held
    status: str = "running"  # loaded | rejected | failed | checked (dry run)
    crs: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)  # report, CSV, quarantine

    @classmethod
    def of(cls, layer: str, path, mode: str, source) -> Report:
        """A new report on reading ``source`` (its encoding and notes)."""
        return cls(
            layer=layer,
            path=str(path),
            mode=mode,
            encoding=source.encoding,
            notes=list(source.notes),
        )

    def add(self, row, field_name, reason, severity="error", **extra) -> None:
        self.findings.append(Finding(row, field_name, severity, reason, **extra))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def rejected_rows(self) -> set[int]:
        return {f.row for f in self.errors if f.row is not None}

    def summary(self) -> str:
        """The one line the CLI prints: read = loaded + rejected (+ the good
        rows a strict refusal held back)."""
        words = {"loaded": "已导入", "rejected": "已拒绝", "failed": "失败",
                 "checked": "已检查（未写入）"}
        held = self.read - self.loaded - self.rejected
        return (
            f"{words.get(self.status, self.status)} {self.status}: {self.layer} "
            f"read {self.read} = loaded {self.loaded} + rejected {self.rejected}"
            # Strict: a file with an error loads nothing, its good rows neither.
            + (f" + held back {held} (strict: the file was refused)" if held > 0
               else "")
            + (f" ({self.unchanged} unchanged)" if self.unchanged else "")
        )  # fmt: skip

    def to_dict(self) -> dict:
        body = asdict(self)
        body["findings"] = [asdict(f) for f in self.findings]
        return body

    def write(self, path: str | Path) -> list[Path]:
        """Write ``path`` (JSON) and the same findings as ``<stem>.csv``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )
        table = path.with_suffix(".csv")
        with table.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["行号 row", "字段 field", "级别 severity", "原因 reason",
                 "经度 lon", "纬度 lat", "面积 m²"]
            )  # fmt: skip
            for f in self.findings:
                lon, lat = f.location or (None, None)
                writer.writerow(
                    [f.row, f.field, f.severity, f.reason, lon, lat, f.area_m2]
                )
        return [path, table]
