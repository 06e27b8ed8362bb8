"""A failing torchrun's error message keeps the worker's own failure lines, which a C++ abort prints long before
torchrun's summary fills the end of the output."""

from latentscm.study.execute import _OUTPUT_TAIL, _failure_excerpt


def test_an_early_abort_line_survives_a_long_summary():
    abort = "terminate called after throwing an instance of 'gloo::IoException'"
    output = "\n".join(["warming up"] * 50 + [abort, "  what():  Connection closed by peer"]
                       + ["torchrun summary line " + "x" * 60] * 80)
    assert len(output) > 2 * _OUTPUT_TAIL
    excerpt = _failure_excerpt(output)
    assert abort in excerpt and "what():  Connection closed by peer" in excerpt
    assert "warming up" not in excerpt  # only lines naming a failure are kept from the head
    assert excerpt.endswith(output[-_OUTPUT_TAIL:])


def test_a_short_output_is_kept_whole():
    assert _failure_excerpt("rank 1 Error: boom") == "its output:\nrank 1 Error: boom"
    long_plain = "y" * (3 * _OUTPUT_TAIL)
    assert _failure_excerpt(long_plain) == "its output ends with:\n" + long_plain[-_OUTPUT_TAIL:]
