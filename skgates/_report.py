"""The decision table of ``python -m skgates``, as text and as a self-contained HTML page.

:func:`decision_rows` turns the fitted decision rules of every selector (a list of
:class:`skgates.rankers.Selection`) into rows, one per column (the real columns first,
the noise probes summarised); :func:`text_report` prints them and :func:`html_report`
writes them with the figures of :mod:`skgates.plotting` embedded as base64 PNG.
matplotlib is imported by :func:`html_report` only.
"""

import base64
import datetime
import html
import io
import textwrap
from dataclasses import dataclass

import numpy as np

#: Short names of the selectors for the table's header.
SHORT_NAMES = {"CancelOutSelector": "CancelOut", "TailDropoutRanker": "TailDropout"}


@dataclass
class Cell:
    """One selector's verdict on one row: a column, or a summary of several."""

    probability: float        # selection probability (the highest, for a summary row)
    stability: int            # columns kept by stability selection (0/1 for a column)
    fdr: int | None           # columns kept by the FDR test; None where it did not run


@dataclass
class Row:
    label: str
    cells: list
    summary: bool = False     # a summary of several columns rather than one column
    probe: bool = False


@dataclass
class Context:
    """What the page says about the data and the rules."""

    data: str                 # e.g. "breast cancer (standardised)"
    n_rows: int
    n_columns: int
    n_probes: int
    task: str                 # e.g. "classification (2 classes)"
    n_resamples: int
    threshold: float
    fdr: float | None
    seconds: float = 0.0


def _short(name):
    return SHORT_NAMES.get(name, name)


def _fdr_support(selection):
    if selection.fdr is None:
        return None
    return np.asarray(selection.fdr.get_support(), dtype=bool)


def decision_rows(columns, probes, selections, top=30):
    """Rows of the decision table.

    Parameters
    ----------
    columns : sequence of str
    probes : array-like of bool
        Which columns are noise probes.
    selections : list of Selection
    top : int
        Most rows of real columns: every real column some rule kept is shown, then the
        others by decreasing mean probability until ``top`` rows; the rest is one summary
        row. The probes are always one summary row.

    Returns
    -------
    rows : list of Row
    """
    columns = [str(c) for c in columns]
    probes = np.asarray(probes, dtype=bool)
    probabilities = np.vstack([s.stability.probabilities_ for s in selections])
    stable = np.vstack([s.stability.get_support() for s in selections]).astype(bool)
    fdr = [_fdr_support(s) for s in selections]

    def cells(index):
        out = []
        for i in range(len(selections)):
            kept_fdr = None if fdr[i] is None else int(fdr[i][index].sum())
            out.append(Cell(float(probabilities[i, index].max(initial=0.0)),
                            int(stable[i, index].sum()), kept_fdr))
        return out

    real = np.flatnonzero(~probes)
    n_stable = stable[:, real].sum(axis=0)
    n_fdr = np.sum([f[real] for f in fdr if f is not None], axis=0) if any(
        f is not None for f in fdr) else np.zeros(len(real))
    mean_p = probabilities[:, real].mean(axis=0)
    order = real[np.lexsort((real, -mean_p, -n_fdr, -n_stable))]
    kept = {j for j in real if stable[:, j].any() or any(f is not None and f[j] for f in fdr)}
    n_shown = max(len(kept), min(top, len(real)))
    shown, rest = order[:n_shown], order[n_shown:]
    rows = [Row(columns[j], cells(np.array([j]))) for j in shown]
    if len(rest):
        word = "real columns" if probes.any() else "columns"
        rows.append(Row(f"{len(rest)} more {word}, highest P", cells(rest), summary=True))
    if probes.any():
        rows.append(Row(f"{int(probes.sum())} noise probes, highest P",
                        cells(np.flatnonzero(probes)), summary=True, probe=True))
    return rows


def _cell_text(cell, summary):
    marks = ""
    if summary:
        if cell.stability:
            marks += f"S{cell.stability}"
        if cell.fdr:
            marks += ("," if marks else "") + f"F{cell.fdr}"
    else:
        marks = ("S" if cell.stability else "") + ("F" if cell.fdr else "")
    return f"{cell.probability:.2f} {marks}".rstrip()


def _counts(rows_cells, selections):
    """``by S`` and ``by F`` counts of a column row."""
    n_fdr = sum(s.fdr is not None for s in selections)
    by_s = f"{sum(c.stability for c in rows_cells)}/{len(selections)}"
    by_f = f"{sum(c.fdr or 0 for c in rows_cells)}/{n_fdr}" if n_fdr else ""
    return by_s, by_f


def legend(context, selections, width=None):
    """Lines explaining P, S and F (each wrapped at ``width`` characters when given)."""
    fits = 2 * context.n_resamples
    per_fit = sorted({int(round(s.stability.n_features_per_fit_)) for s in selections})
    bound = max(s.stability.expected_false_selections_bound_ for s in selections)
    lines = [
        f"P  fraction of {fits} fits, each on a random half of the rows, that ranked the column "
        f"among their {'/'.join(map(str, per_fit))} most important",
        f"S  kept by stability selection: P >= {context.threshold:.2f}; expected number of "
        f"false selections <= {bound:.2f} per selector (Meinshausen-Buhlmann bound)",
    ]
    if any(s.fdr is not None for s in selections):
        lines.append(
            f"F  kept by the held-out swap test with Benjamini-Hochberg at false discovery "
            f"rate {context.fdr:.2f}: expected share of false selections among those kept "
            f"<= {context.fdr:.2f}")
    if context.n_probes:
        lines.append("   summary rows: the highest P, and how many columns S and F kept "
                     "(S2 = two); every probe kept is a false selection")
    if width is None:
        return lines
    return [wrapped for line in lines
            for wrapped in textwrap.wrap(line, width, subsequent_indent="   ")]


def summary_rows(context, selections, probes):
    """Per selector: ``(name, stability text, fdr text, seconds text)``."""
    probes = np.asarray(probes, dtype=bool)

    def kept(support):
        n = int(support.sum())
        text = f"{n} kept"
        if context.n_probes:
            n_probes = int((support & probes).sum())
            text += f", {n_probes} {'probe' if n_probes == 1 else 'probes'}"
        return text

    out = []
    for s in selections:
        stable = kept(np.asarray(s.stability.get_support(), dtype=bool))
        if s.fdr is not None:
            fdr = kept(np.asarray(s.fdr.get_support(), dtype=bool))
            if s.fdr_note:
                fdr += " (too few rows to select)"
        else:
            fdr = "-"
        out.append((s.name, stable, fdr, f"{s.seconds:.1f} s"))
    return out


def _format(table, header_rows=1):
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        lines.append(line)
        if n == header_rows - 1:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def data_line(context):
    what = f"{context.n_rows} rows, {context.n_columns} columns"
    if context.n_probes:
        what += (f" ({context.n_columns - context.n_probes} real + {context.n_probes} noise "
                 "probes)")
    return f"Data: {context.data}: {what}; {context.task}"


def text_report(context, rows, selections, probes):
    """The decision table, its legend and the per-selector summary, as text."""
    has_fdr = any(s.fdr is not None for s in selections)
    header = ["column"] + [_short(s.name) for s in selections] + ["by S"] + (
        ["by F"] if has_fdr else [])
    table = [header]
    for row in rows:
        line = [row.label] + [_cell_text(c, row.summary) for c in row.cells]
        if row.summary:
            line += [""] + ([""] if has_fdr else [])
        else:
            by_s, by_f = _counts(row.cells, selections)
            line += [by_s] + ([by_f] if has_fdr else [])
        table.append(line)
    lines = [data_line(context), ""]
    lines += _format(table)
    lines += [""] + legend(context, selections, width=100) + [""]
    summary = [["selector", "stability selection (S)", "FDR test (F)", "time"]]
    summary += [list(r) for r in summary_rows(context, selections, probes)]
    lines += _format(summary)
    return "\n".join(lines)


# ------------------------------------------------------------------------ HTML
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f3f3f3; }
td.S { background: #cfe8cf; font-weight: bold; }
td.F { background: #e6f0fa; }
td.SF { background: #b5dcb5; font-weight: bold; }
tr.summary td { font-style: italic; color: #555; }
tr.probe td { background: #fbeee0; }
.legend { font-size: 0.9em; color: #444; }
.legend dt { font-weight: bold; float: left; width: 1.5em; }
.legend dd { margin-left: 2em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
code, pre { font-size: 0.9em; }
"""


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figures(selections, probe_names):
    """``(caption, base64 PNG)`` per selector: importances with spread, stability path, FDR."""
    from matplotlib.figure import Figure

    from .plotting import ImportanceDisplay, StabilityPathDisplay

    out = []
    for s in selections:
        panels = 3 if s.fdr is not None else 2
        figure = Figure(figsize=(6.0 * panels, 6.5), layout="constrained")
        axes = figure.subplots(1, panels)
        ImportanceDisplay.from_estimator(
            s.stability, probes=probe_names or None, max_display=20, ax=axes[0],
            name=f"{s.name} over {s.stability.n_fits_} fits")
        StabilityPathDisplay.from_estimator(s.stability, ax=axes[1], name=s.name)
        caption = (f"{s.name}: left, its importances (normalised per fit, mean ± standard "
                   "deviation over the fits; coloured: kept by stability selection; band: "
                   "the noise probes); middle, the stability path (P against the number of "
                   "columns each fit keeps; dashed: the threshold, dotted: the number used)")
        if s.fdr is not None:
            ImportanceDisplay.from_estimator(
                s.fdr, probes=probe_names or None, max_display=20, ax=axes[2],
                name=f"{s.name} swap test")
            caption += ("; right, the held-out loss increase when a column's values are "
                        "swapped between pairs of rows, ± standard error (coloured: kept at "
                        "the FDR level)")
        out.append((caption + ".", _png(figure)))
    return out


def html_report(context, rows, selections, probes, columns, command=""):
    """One self-contained HTML page: the decision table, the summary and the figures.

    Needs matplotlib (the figures are drawn by :mod:`skgates.plotting`).
    """
    probes = np.asarray(probes, dtype=bool)
    probe_names = [str(c) for c, p in zip(columns, probes) if p]
    has_fdr = any(s.fdr is not None for s in selections)
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>skgates: which columns carry signal</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Which columns carry signal?</h1>",
        f"<p>{e(data_line(context))}.</p>",
    ]
    if command:
        parts.append(f"<p>Command: <code>{e(command)}</code>; {context.seconds:.0f} s; "
                     f"{datetime.datetime.now().isoformat(timespec='seconds')}.</p>")
    parts.append('<table class="decision"><thead><tr><th>column</th>')
    parts += [f"<th>{e(_short(s.name))}</th>" for s in selections]
    parts.append("<th>by S</th>" + ("<th>by F</th>" if has_fdr else "") + "</tr></thead><tbody>")
    for row in rows:
        classes = " ".join(c for c, on in (("summary", row.summary), ("probe", row.probe)) if on)
        parts.append(f'<tr class="{classes}"><td>{e(row.label)}</td>' if classes
                     else f"<tr><td>{e(row.label)}</td>")
        for cell in row.cells:
            kind = ("S" if cell.stability else "") + ("F" if cell.fdr else "")
            attribute = f' class="{kind}"' if kind and not row.summary else ""
            parts.append(f"<td{attribute}>{e(_cell_text(cell, row.summary))}</td>")
        if row.summary:
            parts.append("<td></td>" + ("<td></td>" if has_fdr else ""))
        else:
            by_s, by_f = _counts(row.cells, selections)
            parts.append(f"<td>{by_s}</td>" + (f"<td>{by_f}</td>" if has_fdr else ""))
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append('<dl class="legend">')
    for line in legend(context, selections):
        key, text = line[:3].strip(), line[3:]
        parts.append((f"<dt>{e(key)}</dt>" if key else "") + f"<dd>{e(text)}</dd>")
    parts.append("</dl>")
    parts.append("<h2>Per selector</h2><table><thead><tr><th>selector</th>"
                 "<th>stability selection (S)</th><th>FDR test (F)</th><th>time</th>"
                 "</tr></thead><tbody>")
    for name, stable, fdr, seconds in summary_rows(context, selections, probes):
        parts.append(f"<tr><td>{e(name)}</td><td>{e(stable)}</td><td>{e(fdr)}</td>"
                     f"<td>{e(seconds)}</td></tr>")
    parts.append("</tbody></table><h2>Figures</h2>")
    for caption, png in _figures(selections, probe_names):
        parts.append(f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{png}">'
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
