"""Map layers: one module per overlay, all sharing :class:`gis.layers.base.Layer`.

``LAYERS`` maps a layer's name to its instance; a page is a list of names.
"""

from gis.layers.base import EVERYTHING, Answer, BBox, Layer, Scope, View
from gis.layers.cameras import CameraLayer
from gis.layers.district import DistrictLayer
from gis.layers.grids import GridLayer
from gis.layers.heat import HeatLayer
from gis.layers.hotspots import HotspotLayer
from gis.layers.incidents import IncidentLayer
from gis.layers.posts import PostLayer
from gis.layers.sites import SiteLayer
from gis.layers.stations import StationLayer
from gis.layers.townships import TownshipLayer
from gis.layers.villages import VillageLayer
from gis.layers.workload import WorkloadLayer

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        DistrictLayer(),
        TownshipLayer(),
        VillageLayer(),
        GridLayer(),
        StationLayer(),
        PostLayer(),
        SiteLayer(),
        CameraLayer(),
        IncidentLayer(),
        HeatLayer(),
        WorkloadLayer(),
        HotspotLayer(),
    )
}


def get(name: str) -> Layer:
    """The layer called ``name``; KeyError names the known ones."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known: {', '.join(LAYERS)}") from None


__all__ = ["LAYERS", "EVERYTHING", "Answer", "BBox", "Layer", "Scope", "View", "get"]
