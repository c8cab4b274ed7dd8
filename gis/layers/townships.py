"""乡镇/街道 (townships and street offices)."""

from gis.layers.base import AreaLayer


class TownshipLayer(AreaLayer):
    name = "townships"
    data = "townships"  # title, kind and popup: gis.catalog
    color = "#6a3d9a"
    weight = 2.5
    fill_opacity = 0.0
