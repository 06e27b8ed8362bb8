"""What every HTML page of the report shares: the style sheet, embedded images, matplotlib
figures as PNG bytes, and the labelled counterfactual grid (input / model / truth rows)."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence

import numpy as np

from latentscm.report.images import image_grid, png_bytes

__all__ = ["PAGE_STYLE", "data_uri", "img_html", "figure_png", "new_figure", "panel_grid", "counterfactual_grid_html",
           "plain_text", "element_id", "readable", "page_bytes", "non_finite_note"]

#: the style sheet every report page embeds
PAGE_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
h3{font-size:1.05rem;margin-top:1.4rem}
table.metrics{border-collapse:collapse;font-size:.85rem;margin:1rem 0}
table.metrics th,table.metrics td{border:1px solid #ccc;padding:.25rem .55rem;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left;font-family:monospace}
figure{margin:.6rem 0 1.2rem}figcaption{font-size:.82rem;color:#555;margin-top:.25rem}
img{image-rendering:pixelated;max-width:100%}
.note{font-size:.85rem;color:#555}
table.cfgrid{border-collapse:collapse}table.cfgrid th{font-size:.8rem;text-align:right;padding-right:.5rem;
font-weight:600;color:#444;vertical-align:middle}table.cfgrid td{padding:1px 0}
h4{font-size:.95rem;margin:1rem 0 .4rem}
p.how{font-size:.88rem;color:#333;margin:.2rem 0 .6rem}
td.dir{font-size:.75rem;color:#666;text-align:left}td.best{background:#eaf6ea}
details summary{cursor:pointer;color:#1f4e9c;margin:.5rem 0}
.nonfinite{color:#a40000;font-weight:600}
"""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def readable(text: object) -> str:
    """``text`` with every lone surrogate written as a backslash escape.

    Python hands over the bytes of a file name or command-line argument that are not UTF-8 as lone
    surrogates (the directory ``b"caf\\xe9"`` is named ``"caf\\udce9"``); neither UTF-8 nor matplotlib can
    take them, so they are shown as the bytes they stand for (``caf\\xe9``). Other text is unchanged.
    """
    return _SURROGATE.sub(_escape_surrogate, str(text))


def page_bytes(page: str) -> bytes:
    """The UTF-8 bytes of an HTML page (lone surrogates escaped, see :func:`readable`)."""
    return readable(page).encode("utf-8")


def plain_text(text: object) -> str:
    """``text`` as matplotlib must be given it to draw it literally.

    Matplotlib parses a string with two unescaped ``$`` as mathtext, so a user's name such as
    ``"queue$%$"`` (a run directory, a variable, a factor) would be drawn as a formula or make
    the figure fail; escaped dollars are drawn as they are. Lone surrogates are escaped
    (:func:`readable`): matplotlib refuses them.
    """
    return readable(text).replace("$", r"\$")


def element_id(*parts: object) -> str:
    """An HTML ``id`` value (escaped for an attribute) from ``parts`` joined by ``-``.

    HTML forbids (ASCII) whitespace in an id, and run, world and learner names may hold spaces
    (``"my run"``), so each whitespace character is percent-encoded, and ``%`` itself, so that
    different names keep different ids (``"a b"`` -> ``a%20b``, ``"a%20b"`` -> ``a%2520b``). A ``-``
    inside a part is encoded too (``%2D``), so that the separator tells the parts apart: world ``s``
    with learner ``big-vae`` and world ``s-big`` with learner ``vae`` get different ids.
    """
    # HTML's ASCII whitespace, the escape character and the separator
    encoded = ["".join(f"%{ord(c):02X}" if c in "%- \t\n\f\r" else c for c in str(part)) for part in parts]
    return html.escape("-".join(encoded))


def non_finite_note(rows: Sequence[tuple[str, np.ndarray]]) -> str:
    """Plain text naming the rows whose images hold non-finite values, and how they are drawn; ``""`` if none.

    Parameters
    ----------
    rows : sequence of (str, array (N, C, H, W))
        Row label and its images, as drawn by :func:`~latentscm.report.images.image_grid`.

    Returns
    -------
    str
        E.g. ``"non-finite: 3072 of 3072 pixel values of model (NaN and -inf drawn black, +inf white)"``.
    """
    counts = []
    for label, images in rows:
        values = np.asarray(images)
        if np.issubdtype(values.dtype, np.inexact):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            if bad:
                counts.append(f"{bad} of {values.size} pixel values of {label}")
    if not counts:
        return ""
    return f"non-finite: {'; '.join(counts)} (NaN and -inf drawn black, +inf white)"


def _non_finite_html(note: str) -> str:
    return f'<span class="nonfinite">\u26a0 {html.escape(note)}</span><br>' if note else ""


def data_uri(png: bytes) -> str:
    """A ``data:`` URI embedding PNG bytes (no network, no side files)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img_html(png: bytes, alt: str, caption: str = "", css_class: str = "", warning: str = "") -> str:
    """A ``<figure>`` with the embedded image, its alt text, an optional caption and warning.

    Parameters
    ----------
    png : bytes
        The image, PNG-encoded.
    alt : str
        Alternative text.
    caption : str, optional
        Shown below the image (escaped).
    css_class : str, optional
        Class of the ``<img>`` element.
    warning : str, optional
        Shown above the caption, marked (escaped), e.g. :func:`non_finite_note` of the drawn images.

    Returns
    -------
    str
        HTML.
    """
    cls = f' class="{css_class}"' if css_class else ""
    cap = (f"<figcaption>{_non_finite_html(warning)}{html.escape(caption)}</figcaption>" if caption or warning
           else "")
    return f'<figure><img{cls} alt="{html.escape(alt)}" src="{data_uri(png)}">{cap}</figure>'


def figure_png(figure) -> bytes:
    """PNG bytes of a matplotlib figure (100 dpi, tight), which is then closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def new_figure(width: float, height: float, columns: int = 1):
    """A headless (Agg) matplotlib figure with ``columns`` axes in one row: ``(figure, axes (1, columns))``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height), squeeze=False)


def panel_grid(count: int, max_columns: int, panel_width: float, panel_height: float):
    """A headless figure of ``count`` panels, at most ``max_columns`` per row; unused axes hidden.

    Parameters
    ----------
    count : int
        Number of panels (>= 1).
    max_columns : int
        Panels per row at most.
    panel_width, panel_height : float
        Size of one panel in inches.

    Returns
    -------
    (figure, axes)
        ``axes`` is the (rows, columns) array; iterate ``axes.flat`` for the panels in order.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    columns = min(max_columns, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(panel_width * columns, panel_height * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_axis_off()
    return figure, axes


def counterfactual_grid_html(rows: Sequence[tuple[str, np.ndarray]], caption: str, facts: str) -> str:
    """Labelled rows of images, upscaled (nearest) to cells of at least 96 px, with numbers beside.

    Parameters
    ----------
    rows : sequence of (str, array (N, C, H, W))
        Row label (e.g. "input", "model", "truth") and its images in [0, 1].
    caption : str
        What the grid shows (escaped).
    facts : str
        HTML shown under the caption (the grid's numbers).

    Returns
    -------
    str
        HTML; rows with non-finite values are named above the caption (:func:`non_finite_note`).
    """
    height = rows[0][1].shape[2]
    scale = max(1, -(-96 // height))
    body = "".join(f'<tr><th scope="row">{html.escape(label)}</th><td>'
                   f'<img alt="{html.escape(label)}: {html.escape(caption)}" '
                   f'src="{data_uri(png_bytes(image_grid([images], scale=scale)))}"></td></tr>'
                   for label, images in rows)
    return (f'<figure class="cf"><table class="cfgrid">{body}</table><figcaption>'
            f"{_non_finite_html(non_finite_note(rows))}{html.escape(caption)}<br>"
            f"{facts}</figcaption></figure>")
