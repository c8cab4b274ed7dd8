"""The synthetic demo world inside the real outline of 华龙区 (Hualong District).

:func:`generate` builds it deterministically from a seed (pure, no database);
:func:`load` writes it to PostGIS in one transaction.  Everything except the
district outline is synthetic and marked ``synthetic = true``.
"""

from gis.demo.load import load
from gis.demo.world import World, generate

__all__ = ["World", "generate", "load"]
