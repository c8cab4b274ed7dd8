"""What the import benchmarks share: an import run in a fresh Python process,
with the ``gis`` package of a chosen checkout.

``--baseline DIR`` in ``bench_import.py`` and ``bench_import_boundaries.py``
runs the same import with the code of another checkout (say, a worktree of
``main``: ``git worktree add /tmp/pingan-base main``) on an identical
database in the same run, so the two figures meet the same load on the
machine, and prints their ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, resource, sys, time
args = json.loads(sys.argv[1])
from gis import db
from gis.ingest import import_file, sources
if args["chunk"]:
    sources.CHUNK_ROWS = args["chunk"]
engine = db.get_engine(args["url"])
timings = {}
profiler = None
if args["profile"]:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
start = time.perf_counter()
report = import_file(engine, args["layer"], args["path"], timings=timings,
                     **args["options"])
seconds = time.perf_counter() - start
if profiler is not None:
    import pstats
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
print(json.dumps({
    "seconds": seconds, "status": report.status, "read": report.read,
    "loaded": report.loaded, "unchanged": report.unchanged,
    "errors": [str(f) for f in report.errors[:5]],
    "warnings": sum(f.severity != "error" for f in report.findings),
    "timings": timings,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
}))
"""


def import_in_child(url: str, layer: str, path, code: Path = ROOT, chunk=None,
                    profile=False, **options) -> dict:  # fmt: skip
    """Import ``path`` into ``layer`` of the database ``url`` in a new Python
    process whose ``gis`` is that of the checkout ``code``; its figures
    (seconds, counts, stage timings, peak RSS in MiB, and ``cpu_s``: the
    process's own CPU seconds, which other work on the machine disturbs far
    less than the wall time)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    args = {"url": url, "layer": layer, "path": str(path), "chunk": chunk,
            "profile": profile, "options": options}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)], cwd=code, env=env,
        stdout=subprocess.PIPE, check=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_dir(value: str | None) -> Path | None:
    """The ``--baseline`` checkout, checked to hold a ``gis`` package."""
    if value is None:
        return None
    path = Path(value).resolve()
    if not (path / "gis" / "ingest" / "__init__.py").is_file():
        raise SystemExit(f"--baseline {value}: no gis/ingest package there")
    return path


def ratio_line(label: str, ours: float, theirs: float) -> str:
    """``label: this 12.3 s vs baseline 11.9 s = 1.034 (+3.4 %)``."""
    change = 100 * (ours / theirs - 1)
    return (f"{label}: this {ours:.2f} s vs baseline {theirs:.2f} s = "
            f"{ours / theirs:.3f} ({change:+.1f} %)")  # fmt: skip
