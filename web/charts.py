"""Charts drawn on the server as SVG: readable without JavaScript, styled by attributes (the CSP allows no inline
style), each with a title and a description a screen reader reads; the table beside a chart holds its figures."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from signpost.store.dashboard import CrawlPoint

# Distinct in hue and lightness, and dark enough on white for lines and text (WCAG 3:1 for graphics).
PALETTE = ("#1f5fbf", "#1d7a46", "#b3261e", "#7a4b00", "#6b3fa0", "#00707a", "#5d6678")


def _nice_top(value: float) -> int:
    """A round number at or above ``value`` for the top of the axis."""
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return int(10 * magnitude)


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One line per series over the labels (weeks), with axis marks, points and a legend."""
    width, height, left, right, top, bottom = 640, 240, 44, 12, 16, 56
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = _nice_top(max((max(values, default=0) for _, values in series), default=0))
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return left + (inner_w * (index + 0.5) / count)

    def y(value: float) -> float:
        return top + inner_h - inner_h * value / peak

    described = "; ".join(
        f"{name}: " + ", ".join(f"{label} {value}" for label, value in zip(labels, values, strict=True))
        for name, values in series
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{_id(title)}-t {_id(title)}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title><desc id="{_id(title)}-d">{escape(described)}</desc>',
    ]
    for tick in range(5):
        value = peak * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d8dce4"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" fill="#5d6678">'
            f"{value:g}</text>"
        )
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x(index):.1f}" y="{top + inner_h + 16}" text-anchor="middle" font-size="11" fill="#5d6678">'
            f"{escape(label)}</text>"
        )
    for number, (name, values) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>' for i, v in enumerate(values))
        legend_x = left + number * 110
        parts.append(
            f'<rect x="{legend_x}" y="{height - 18}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 8}" font-size="12" fill="#1d2330">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(title: str) -> str:
    return "chart-" + "".join(character if character.isalnum() else "-" for character in title.lower())


def sparkline(points: Sequence[CrawlPoint], name: str) -> Markup:
    """A source's last crawls: items found (grey), articles kept (blue), approvals (green), failures as red marks."""
    width, height = 132, 30
    if not points:
        return Markup('<span class="muted">no crawls yet</span>')
    peak = max(1, *(max(p.items_found, p.articles_kept) for p in points))
    step = width / max(len(points), 1)

    def line(values: list[int], colour: str) -> str:
        coords = " ".join(
            f"{step * (i + 0.5):.1f},{height - 3 - (height - 6) * v / peak:.1f}" for i, v in enumerate(values)
        )
        return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>'

    failed = [i for i, p in enumerate(points) if p.ok is False]
    summary = (
        f"{name}, last {len(points)} crawls: items found {', '.join(str(p.items_found) for p in points)}; "
        f"articles kept {', '.join(str(p.articles_kept) for p in points)}; "
        f"approved {', '.join(str(p.approvals) for p in points)}; {len(failed)} failed"
    )
    parts = [
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(summary)}</title>',
        line([p.items_found for p in points], "#5d6678"),
        line([p.articles_kept for p in points], "#1f5fbf"),
        line([p.approvals for p in points], "#1d7a46"),
        *(
            f'<rect x="{step * i + step / 2 - 2:.1f}" y="0" width="4" height="{height}" fill="#b3261e"/>'
            for i in failed
        ),
        "</svg>",
    ]
    return Markup("".join(parts))
