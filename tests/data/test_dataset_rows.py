"""Rows of a Hugging Face-like dataset (any sequence of dict rows with a ``_fingerprint``) that lack a column
row 0 has, or are not dicts, are named by their row."""

import numpy as np
import pytest

from latentscm.data import DataError, import_data


class _Rows(list):
    def __init__(self, rows, fingerprint):
        super().__init__(rows)
        self._fingerprint = fingerprint


@pytest.mark.parametrize("rows, options, message", [
    ([{"image": "ok", "y": 1}] * 2 + [{"picture": "ok", "y": 1}], {}, r"Row 2 .* lacks the column\(s\) \['image'\]"),
    ([{"image": "ok", "y": 1}] * 2 + [{"image": "ok"}], {"label_columns": ["y"]}, r"Row 2 .* lacks .*\['y'\]"),
    ([{"image": "ok"}, None], {}, "Row 1 of the dataset is a NoneType"),
    ([None], {}, "Row 0 of the dataset is a NoneType"),
])
def test_ragged_dataset_rows_are_named(tmp_path, rows, options, message):
    image = np.zeros((4, 4), np.uint8)
    rows = [{k: image if v == "ok" else v for k, v in row.items()} if isinstance(row, dict) else row for row in rows]
    with pytest.raises(DataError, match=message):
        import_data(_Rows(rows, message), root=tmp_path / "store", **options)
    assert list((tmp_path / "store").iterdir()) == []
