"""派出所辖区 (police-station jurisdictions)."""

from gis.layers.base import AreaLayer


class StationLayer(AreaLayer):
    name = "stations"
    data = "stations"  # title, kind and popup: gis.catalog
    color = "#e31a1c"
    weight = 2.5
    fill_opacity = 0.0
    show = False
