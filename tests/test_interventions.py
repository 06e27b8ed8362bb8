import numpy as np
import pytest

from latentscm.interventions import (
    Do,
    InterventionParseError,
    Scale,
    Shift,
    as_interventions,
    format_interventions,
    parse_interventions,
)


def test_apply_vectorised():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(Do(0.5)(x), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(Do([7, 8, 9])(x), [7, 8, 9])
    np.testing.assert_array_equal(Shift(1)(x), [2, 3, 4])
    np.testing.assert_array_equal(Scale(2)(x), [2, 4, 6])
    assert Do(1).hard and not Shift(1).hard and not Scale(1).hard


def test_per_sample_length_mismatch():
    with pytest.raises(ValueError, match="3 values but the batch has 2"):
        Do([1, 2, 3])(np.zeros(2))


def test_bad_values():
    with pytest.raises(ValueError, match="finite"):
        Do(float("nan"))
    with pytest.raises(TypeError):
        Shift("a")
    with pytest.raises(TypeError):
        Do(True)
    with pytest.raises(ValueError, match="1-D"):
        Do(np.zeros((2, 2)))


def test_parse():
    result = parse_interventions("light=0.3, angle+=0.1; scale*=2, x-=1.5")
    assert isinstance(result["light"], Do) and result["light"].value == 0.3
    assert isinstance(result["angle"], Shift) and result["angle"].delta == 0.1
    assert isinstance(result["scale"], Scale) and result["scale"].factor == 2.0
    assert isinstance(result["x"], Shift) and result["x"].delta == -1.5
    assert parse_interventions("") == {}
    again = parse_interventions(format_interventions(result))
    assert format_interventions(again) == format_interventions(result)


@pytest.mark.parametrize(
    "text, token",
    [("light=0.3, angle+=abc", "abc"), ("light=0.3,,x=1", ""), ("light 0.3", "light 0.3"),
     ("a=1, a=2", "a"), ("a=inf", "inf")],
)
def test_parse_errors_point_at_token(text, token):
    with pytest.raises(InterventionParseError) as info:
        parse_interventions(text)
    error = info.value
    assert isinstance(error, ValueError)
    if token:
        assert text[error.start:error.end].strip() == token
    assert "^" in str(error) and text in str(error)


def test_as_interventions():
    result = as_interventions({"a": 1, "b": Shift(2)}, valid_names=["a", "b"])
    assert isinstance(result["a"], Do)
    with pytest.raises(ValueError, match="Unknown intervention target 'c'. Valid names: a, b"):
        as_interventions({"c": 1}, valid_names=["a", "b"])
    assert as_interventions("a=1")["a"].value == 1.0
    assert as_interventions(None) == {}
    with pytest.raises(TypeError):
        as_interventions([("a", 1)])


def test_an_intervention_keeps_its_own_copy_and_formats_back_exactly():
    import numpy as np

    from latentscm.interventions import Do, format_interventions, parse_interventions

    values = np.array([1.0, 2.0, 3.0])
    do = Do(values)
    values[0] = 99.0
    assert do.value.tolist() == [1.0, 2.0, 3.0] and not do.value.flags.writeable
    given = parse_interventions("a=0.123456789, b+=1234567, c*=2, d=1e-20")
    assert parse_interventions(format_interventions(given)).keys() == given.keys()
    for name, item in parse_interventions(format_interventions(given)).items():
        assert repr(item) == repr(given[name])
    assert format_interventions(given) == "a=0.123456789, b+=1234567, c*=2, d=1e-20"


def test_an_int_beyond_any_float_is_a_value_error():
    """Regression: Do(10**400) and Scale([1, 10**400]) raised a bare OverflowError."""
    with pytest.raises(ValueError, match="value of an intervention must be finite"):
        Do(10**400)
    with pytest.raises(ValueError, match="factor of an intervention must be finite"):
        Scale([1, 10**400])


def test_as_interventions_reads_a_single_valid_name_whole():
    """Regression: valid_names='abc' was read letter by letter, accepting 'a' and refusing 'abc'."""
    assert list(as_interventions("abc=1", valid_names="abc")) == ["abc"]
    with pytest.raises(ValueError, match="Unknown intervention target 'a'. Valid names: abc"):
        as_interventions("a=1", valid_names="abc")


@pytest.mark.parametrize("text", ["light=0_3", "angle+=1_0.5", "scale*=\u0662"])
def test_parse_refuses_python_only_number_spellings(text):
    # float() reads '0_3' as 3: a typo of 0.3 must not become do(light = 3)
    with pytest.raises(InterventionParseError, match="is not a decimal number"):
        parse_interventions(text)
    assert parse_interventions("a=-.5, b+=1E-3, c*=2.")["c"].factor == 2.0


@pytest.mark.parametrize(("value", "error", "reason"), [
    (float("nan"), ValueError, "must be finite"), (float("inf"), ValueError, "must be finite"),
    ("x", TypeError, "number or array"), (True, TypeError, "number or array"), (None, TypeError, "Got None"),
    ([1.0, float("nan")], ValueError, "contains NaN or inf"),
])
def test_a_bad_value_names_its_target(value, error, reason):
    with pytest.raises(error, match=rf"^Intervention on 'light': .*{reason}"):
        as_interventions({"shadow": 1.0, "light": value})
