"""村/社区 (villages and residential communities)."""

from gis.layers.base import AreaLayer


class VillageLayer(AreaLayer):
    name = "villages"
    data = "villages"  # title, kind and popup: gis.catalog
    color = "#1f78b4"
    weight = 1.2
    fill_opacity = 0.06
