"""The shared page helpers: panel grids, embedded images and the labelled counterfactual grid."""

import numpy as np

from latentscm.report.page import counterfactual_grid_html, data_uri, figure_png, img_html, panel_grid


def test_panel_grid_wraps_rows_and_hides_unused_axes():
    figure, axes = panel_grid(5, 4, 1.5, 2.0)
    assert axes.shape == (2, 4)
    assert [axis.axison for axis in axes.flat] == [True] * 5 + [False] * 3
    np.testing.assert_allclose(figure.get_size_inches(), (6.0, 4.0))
    png = figure_png(figure)
    assert png.startswith(b"\x89PNG")
    one, axes = panel_grid(2, 6, 1.0, 1.0)
    assert axes.shape == (1, 2)
    figure_png(one)


def test_embedded_image_and_grid_escape_and_upscale():
    png = b"\x89PNG-bytes"
    assert data_uri(png).startswith("data:image/png;base64,")
    html = img_html(png, 'a "b"', caption="<x>")
    assert 'alt="a &quot;b&quot;"' in html and "&lt;x&gt;" in html
    images = np.zeros((2, 1, 16, 16), dtype=np.float32)
    grid = counterfactual_grid_html([("input", images), ("truth", images)], "do(a)", "<b>e 0.1</b>")
    assert grid.count("<tr>") == 2 and '<th scope="row">truth</th>' in grid and "<b>e 0.1</b>" in grid
