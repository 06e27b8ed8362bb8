"""check_sequence / check_names: the one shared guard for arguments that name things."""

import numpy as np
import pytest

from latentscm._validation import check_names, check_sequence


def test_one_string_is_refused_not_split_into_letters():
    for value in ("xy", b"xy"):
        with pytest.raises(TypeError, match=r"'var_names' argument of f must be a sequence of names, not one string"):
            check_names(value, "var_names", "f")
        with pytest.raises(TypeError, match=r"'notes' argument of g .* not one string.*pass \["):
            check_sequence(value, "notes", "g", what="notes")


def test_a_non_iterable_is_refused():
    with pytest.raises(TypeError, match=r"'names' argument of f must be a sequence of names. Got 3"):
        check_names(3, "names", "f")


@pytest.mark.parametrize("value, size, message", [
    (["a", "b", "a"], 3, r"names \['a'\] more than once"),
    (["a", ""], 2, r"non-empty strings. Got ''"),
    (["a", 1], None, r"non-empty strings. Got 1"),
    (["a", "b", "c"], 2, r"has 3 names for 2 columns"),
])
def test_bad_names_are_named(value, size, message):
    with pytest.raises(ValueError, match=message):
        check_names(value, "names", "f", size=size)


def test_good_names_come_back_as_a_tuple():
    assert check_names(iter(["a", "b"]), "names", "f", size=2) == ("a", "b")
    assert check_names(np.array(["a", "b"]), "names", "f") == ("a", "b")
    assert check_sequence(("x",), "notes", "g") == ["x"]
