"""乡镇/街道 (townships and street offices)."""

from gis.layers.base import AreaLayer


class TownshipLayer(AreaLayer):
    name = "townships"
    title = "乡镇/街道"
    kind = "township"
    color = "#6a3d9a"
    weight = 2.5
    fill_opacity = 0.0
    fields = {
        "name": "名称",
        "code": "区划代码",
        "population": "人口",
        "households": "户数",
    }
