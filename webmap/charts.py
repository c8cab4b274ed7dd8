"""Charts drawn on the server as SVG (no chart library, no CDN): the
dashboard's monthly trend and township ranking.  Labels are escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

FOUND, RESOLVED, RATE = "#4e79a7", "#59a14f", "#e15759"


def trend(months: list[dict], width: int = 760, height: int = 240) -> Markup:
    """Found and resolved per month as bars, the resolution rate as a line."""
    if not months:
        return Markup('<p class="muted">所选时段没有事件</p>')
    left, bottom, top = 48, 36, 16
    plot_w, plot_h = width - left - 40, height - bottom - top
    peak = max(max(m["found"], m["resolved"]) for m in months) or 1
    step = plot_w / len(months)
    bar = max(1.0, step * 0.38)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="按月受理与化解趋势">']  # fmt: skip
    for k in range(5):  # grid lines and counts
        y = top + plot_h * k / 4
        value = round(peak * (1 - k / 4))
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" class="grid"/><text x="{left - 6}" '
                     f'y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{value}</text>')
    points = []
    for i, m in enumerate(months):
        x = left + i * step + step / 2
        for j, (key, color) in enumerate((("found", FOUND), ("resolved", RESOLVED))):
            h = plot_h * m[key] / peak
            parts.append(f'<rect x="{x - bar + j * bar:.1f}" y="{top + plot_h - h:.1f}"'
                         f' width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                         f'<title>{escape(m["month"])} {"受理" if j == 0 else "化解"} '
                         f'{m[key]}</title></rect>')  # fmt: skip
        rate = m["resolved"] / m["found"] if m["found"] else 0
        points.append(f"{x:.1f},{top + plot_h * (1 - rate):.1f}")
        if len(months) <= 12 or i % max(1, len(months) // 12) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" class="axis" '
                         f'text-anchor="middle">'
                         f'{escape(m["month"])}</text>')
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" '
                 f'stroke="{RATE}" stroke-width="2"/>')  # fmt: skip
    parts.append(f'<text x="{left + plot_w + 4}" y="{top + 4}" class="axis">100%</text>'
                 f'<text x="{left + plot_w + 4}" y="{top + plot_h}" '
                 'class="axis">0%</text>')
    parts.append(_key(left, height - 6))
    parts.append("</svg>")
    return Markup("".join(parts))


def _key(x: int, y: int) -> str:
    items = (("受理", FOUND), ("化解", RESOLVED), ("化解率", RATE))
    out = []
    for i, (label, color) in enumerate(items):
        out.append(f'<rect x="{x + i * 90}" y="{y - 9}" width="10" height="10" '
                   f'fill="{color}"/><text x="{x + i * 90 + 14}" y="{y}" '
                   f'class="axis">{label}</text>')  # fmt: skip
    return "".join(out)


def ranking(rows: list[dict], width: int = 760) -> Markup:
    """Horizontal bars: each area's resolution rate and "三零" village share."""
    rows = [r for r in rows if r["rate"] is not None]
    if not rows:
        return Markup('<p class="muted">所选时段没有事件</p>')
    line, left = 22, 150
    height = line * len(rows) + 30
    plot = width - left - 60
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="化解率与三零达标率排名">']  # fmt: skip
    for i, r in enumerate(rows):
        y = 8 + i * line
        share = r["three_zero"].get("share") or 0
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" class="axis" text-anchor="end">'
            f'{escape(r["name"])}</text>'
            f'<rect x="{left}" y="{y}" width="{plot * r["rate"]:.1f}" height="9" '
            f'fill="{RESOLVED}"><title>化解率 {r["rate"]:.1%}</title></rect>'
            f'<rect x="{left}" y="{y + 10}" width="{plot * share:.1f}" height="7" '
            f'fill="{FOUND}"><title>三零达标村社 {share:.1%}</title></rect>'
            f'<text x="{left + plot * r["rate"] + 4:.1f}" y="{y + 9}" class="axis">'
            f'{r["rate"]:.1%}</text>'
        )
    parts.append(f'<rect x="{left}" y="{height - 12}" width="10" height="9" '
                 f'fill="{RESOLVED}"/><text x="{left + 14}" y="{height - 4}" '
                 f'class="axis">化解率</text><rect x="{left + 90}" y="{height - 12}" '
                 f'width="10" height="9" fill="{FOUND}"/><text x="{left + 104}" '
                 f'y="{height - 4}" class="axis">“三零”达标村社比例</text>'
                 '</svg>')
    return Markup("".join(parts))
