"""The axioms page marks the best model of a row only when the models differ there."""

from html.parser import HTMLParser

from latentscm.report.axioms import write_axioms_report


class _Marks(HTMLParser):
    """Per body row of the accuracy table: (set name, number of cells marked best)."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._in_table, self._first = [], None, False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in_table = attrs.get("id") == "axioms-accuracy"
        elif self._in_table and tag == "tr":
            self._row, self._first = ["", 0], True
        elif self._row is not None and tag == "td" and "best" in (attrs.get("class") or "").split():
            self._row[1] += 1

    def handle_data(self, data):
        if self._row is not None and self._first:
            self._row[0] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._first = False
        elif tag == "tr" and self._row is not None:
            self.rows.append(tuple(self._row))
            self._row = None
        elif tag == "table":
            self._in_table = False


def test_a_tie_of_every_model_is_not_marked_but_a_shared_lead_is(tmp_path):
    scores = {"a": {"length_3": 1.0, "length_5": 0.9, "branched": 0.6},
              "b": {"length_3": 1.0, "length_5": 0.7, "branched": 0.8},
              "c": {"length_3": 1.0, "length_5": 0.9}}  # c has no branched score: the two others differ there
    chance = {"length_3": 0.5, "length_5": 0.5, "branched": 0.5}
    page = write_axioms_report(scores, chance, tmp_path / "axioms.html").read_text()
    parser = _Marks()
    parser.feed(page)
    marks = dict(parser.rows[1:])  # the first row is the header
    assert marks == {"length_3": 0, "length_5": 2, "branched": 1}
    assert "no mark where every model scores the same" in page


def test_one_model_and_a_lone_finite_score_get_no_mark(tmp_path):
    page = write_axioms_report({"only": {"length_3": 0.9}}, {"length_3": 0.5}, tmp_path / "one.html").read_text()
    parser = _Marks()
    parser.feed(page)
    assert dict(parser.rows[1:]) == {"length_3": 0}
