"""村/社区 (villages and residential communities)."""

from gis.layers.base import AreaLayer


class VillageLayer(AreaLayer):
    name = "villages"
    title = "村/社区"
    kind = "village"
    color = "#1f78b4"
    weight = 1.2
    fill_opacity = 0.06
    fields = {
        "name": "名称",
        "code": "区划代码",
        "parent_name": "所属乡镇/街道",
        "population": "人口",
        "households": "户数",
    }
