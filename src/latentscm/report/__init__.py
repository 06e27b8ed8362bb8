"""Figures and the HTML report.

* :mod:`latentscm.report.html` — :func:`build_report`, the self-contained HTML page for one or
  more run directories (re-exported here with :func:`collect_run` and :class:`RunView`);
* :mod:`latentscm.report.figures` — the matplotlib figures the report embeds;
* :mod:`latentscm.report.images` — image grids and PNG encoding.
"""

from latentscm.report.html import RunView, build_report, collect_run

__all__ = ["build_report", "collect_run", "RunView"]
