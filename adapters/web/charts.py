"""Charts as SVG, drawn on the server from the same ``Table`` the page prints under them.

Hand-made, not a charting library: a few rectangles and labels are all these charts need, and
making them here keeps them inside the Content-Security-Policy (no inline style or script: colours
come from the stylesheet by class), accessible (``role="img"``, a title, a description that points
at the table) and free of any download. A suppressed figure draws no bar and says so.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from bot.dashboard import Cell, Table

WIDTH = 640
ROW = 26
LABEL = 190


def _svg(table: Table, height: int, body: list[str], summary: str) -> Markup:
    key = escape(table.key)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-{key}-title chart-{key}-desc" focusable="false">'
        f'<title id="chart-{key}-title">{escape(table.title)}</title>'
        f'<desc id="chart-{key}-desc">{escape(summary)} The table below gives every figure.</desc>'
        + "".join(body)
        + "</svg>"
    )


def _bars(table: Table, labels: list[str], cells: list[Cell], what: str) -> Markup:
    top = max((c.value or 0 for c in cells), default=0) or 1
    span = WIDTH - LABEL - 90
    body: list[str] = []
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        y = 6 + i * ROW
        body.append(
            f'<text class="chart-label" x="{LABEL - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
        )
        if cell.value is None:
            body.append(
                f'<text class="chart-suppressed" x="{LABEL + 4}" y="{y + 16}">{escape(cell.text)}</text>'
            )
            continue
        length = max(1.0, span * float(cell.value) / top) if cell.value else 0.0
        body.append(f'<rect class="bar" x="{LABEL}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}"/>')
        body.append(
            f'<text class="chart-value" x="{LABEL + length + 6:.1f}" y="{y + 16}">{escape(cell.text)}</text>'
        )
    summary = f"Horizontal bars: {what} for each row."
    return _svg(table, 12 + ROW * len(labels), body, summary)


def _columns(
    table: Table, labels: list[str], cells: list[Cell], what: str, *, percent: bool = False
) -> Markup:
    height, base, left = 240, 200, 40
    top = 100.0 if percent else float(max((c.value or 0 for c in cells), default=0) or 1)
    step = (WIDTH - left - 10) / max(1, len(cells))
    body = [f'<line class="axis" x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}"/>']
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        x = left + i * step
        body.append(
            f'<text class="chart-label small" x="{x + step / 2:.1f}" y="{base + 16}" '
            f'text-anchor="middle">{escape(label.removeprefix("to "))}</text>'
        )
        if cell.value is None:
            body.append(
                f'<text class="chart-suppressed small" x="{x + step / 2:.1f}" y="{base - 6}" '
                f'text-anchor="middle">n/s</text>'
            )
            continue
        h = (base - 24) * float(cell.value) / top if top else 0
        body.append(
            f'<rect class="bar" x="{x + 4:.1f}" y="{base - h:.1f}" width="{step - 8:.1f}" height="{h:.1f}"/>'
        )
        body.append(
            f'<text class="chart-value small" x="{x + step / 2:.1f}" y="{base - h - 4:.1f}" '
            f'text-anchor="middle">{escape(cell.text)}</text>'
        )
    summary = f"Columns: {what}, oldest week on the left; n/s means not shown (too few)."
    return _svg(table, height, body, summary)


def chart(table: Table) -> Markup:
    """The chart for ``table`` (see ``Table.chart``), or nothing if it has no rows."""
    if not table.rows:
        return Markup("")
    rows = [(label, cells) for label, cells in table.rows if label not in ("All", "All severities")]
    if table.chart == "bars-last":
        return _bars(table, [r[0] for r in rows], [r[1][-1] for r in rows], table.columns[-1])
    if table.chart == "columns":
        first = table.rows[0]
        return _columns(table, table.columns, first[1], first[0])
    if table.chart == "percent":
        return _columns(
            table,
            [r[0] for r in rows],
            [r[1][1] for r in rows],
            "share acknowledged within deadline",
            percent=True,
        )
    return _bars(table, [r[0] for r in rows], [r[1][0] for r in rows], table.columns[0])
