"""雪亮工程 cameras."""

from gis.layers.base import PointLayer


class CameraLayer(PointLayer):
    name = "cameras"
    data = "cameras"  # title, popup and enumerations: gis.catalog
    color_field = "status"
    colors = {"online": "#2b8cbe", "offline": "#969696", "fault": "#d7301f"}
    radius = 4
    show = False  # thousands: off until asked for
    cluster_color = "#2171b5"
    cluster_shape = "square"
