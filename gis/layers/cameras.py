"""雪亮工程 cameras."""

from gis import vocab
from gis.layers.base import PointLayer


class CameraLayer(PointLayer):
    name = "cameras"
    title = "视频监控(雪亮工程)"
    table = "camera"
    columns = {
        "name": "t.name",
        "kind": "t.kind",
        "status": "t.status",
        "azimuth": "t.azimuth",
        "fov": "t.fov",
        "range_m": "t.range_m",
        "owner": "t.owner",
        "last_seen_at": "to_char(t.last_seen_at AT TIME ZONE 'Asia/Shanghai', "
        "'YYYY-MM-DD HH24:MI')",
    }
    categorical = {"kind": vocab.CAMERA_KINDS, "status": vocab.CAMERA_STATUSES}
    fields = {
        "code": "编号",
        "kind": "类型",
        "status": "状态",
        "range_m": "视距(米)",
        "last_seen_at": "最后在线",
        "village_name": "所在村/社区",
    }
    color_field = "status"
    colors = {"online": "#2b8cbe", "offline": "#969696", "fault": "#d7301f"}
    radius = 4
    show = False  # thousands: clustered, and off until asked for
