"""Charts drawn on the server as SVG: readable without JavaScript, styled by attributes (the CSP allows no inline
style), each with a title and a description a screen reader reads; the table beside a chart holds its figures."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from signpost.store.dashboard import CrawlPoint

# Distinct in hue and lightness, and dark enough on white for lines and text (WCAG 3:1 for graphics).
PALETTE = ("#1f5fbf", "#1d7a46", "#b3261e", "#7a4b00", "#6b3fa0", "#00707a", "#5d6678")


def _nice_step(value: float) -> int:
    """A round step (1, 2 or 5 times a power of ten) so that four steps reach ``value``: whole-number marks."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude * 4 >= value:
                return step * magnitude
        magnitude *= 10


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """Bars side by side per label (week), one colour per series, each bar with its figure, and a legend."""
    width, height, left, right, top, bottom = 640, 250, 44, 12, 18, 60
    inner_w, inner_h = width - left - right, height - top - bottom
    step = _nice_step(max((max(values, default=0) for _, values in series), default=0))
    peak = step * 4
    group = inner_w / max(len(labels), 1)
    bar = min(28.0, group * 0.8 / max(len(series), 1))

    def y(value: float) -> float:
        return top + inner_h - inner_h * value / peak

    described = "; ".join(
        f"{name}: " + ", ".join(f"{label} {value}" for label, value in zip(labels, values, strict=True))
        for name, values in series
    )
    ident = _id(title)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(described)}</desc>',
    ]
    for tick in range(5):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(step * tick):.1f}" y2="{y(step * tick):.1f}" '
            f'stroke="#d8dce4"/><text x="{left - 6}" y="{y(step * tick) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5d6678">{step * tick}</text>'
        )
    for index, label in enumerate(labels):
        middle = left + group * (index + 0.5)
        parts.append(
            f'<text x="{middle:.1f}" y="{top + inner_h + 16}" text-anchor="middle" font-size="11" fill="#5d6678">'
            f"{escape(label)}</text>"
        )
        start = middle - bar * len(series) / 2
        for number, (_, values) in enumerate(series):
            value = values[index]
            x = start + number * bar
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y(value):.1f}" width="{bar - 2:.1f}" height="{y(0) - y(value):.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"/>'
            )
            if bar >= 14:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{y(value) - 3:.1f}" text-anchor="middle" font-size="10" '
                    f'fill="#1d2330">{value}</text>'
                )
    legend_x = float(left)
    for number, (name, _) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        parts.append(
            f'<rect x="{legend_x:.0f}" y="{height - 20}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16:.0f}" y="{height - 10}" font-size="12" fill="#1d2330">{escape(name)}</text>'
        )
        legend_x += 28 + 7 * len(name)
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
        + (
            f"; pages failed {', '.join(str(p.pages_failed) for p in points)}"
            if any(p.pages_failed for p in points)
            else ""
        )
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
