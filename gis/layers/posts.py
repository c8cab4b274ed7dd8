"""警务室 / 警务工作站 / 派出所驻地 (police posts)."""

from gis import vocab
from gis.layers.base import PointLayer


class PostLayer(PointLayer):
    name = "posts"
    title = "警务室/工作站"
    table = "post"
    personal = True  # duty phone numbers
    columns = {
        "name": "t.name",
        "kind": "t.kind",
        "staff": "t.staff",
        "phone": "t.phone",
    }
    categorical = {"kind": vocab.POST_KINDS}
    fields = {
        "name": "名称",
        "kind": "类型",
        "staff": "人员",
        "phone": "电话",
        "village_name": "所在村/社区",
        "station_name": "所属派出所",
    }
    color_field = "kind"
    colors = {
        "station_hq": "#b10026",
        "police_room": "#fc4e2a",
        "workstation": "#feb24c",
    }
    radius = 7
    cluster = False  # a few hundred at most: show each one
