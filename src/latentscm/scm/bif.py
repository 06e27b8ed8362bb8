"""Bayesian-network files in the BIF format, into and out of :class:`~latentscm.scm.discrete_scm.DiscreteSCM`.

BIF (the Bayesian Interchange Format of Cozman's JavaBayes, as used by the bnlearn network
repository) declares each variable with its states and each conditional probability table::

    network asia { }
    variable smoke { type discrete [ 2 ] { yes, no }; }
    probability ( lung | smoke ) {
      (yes) 0.1, 0.9;
      (no) 0.01, 0.99;
    }

Rows are given per parent configuration (``(labels) p, p, ...;``), with an optional ``default``
row for configurations not listed, or as one ``table`` of numbers: for a root the distribution,
for a node with parents the child's state varying slowest and the last declared parent fastest.
``//`` and ``/* */`` comments and ``property`` lines are ignored.

Reading checks what a file can get wrong and names the variable: undeclared or duplicate
variables, unknown state labels, missing or repeated parent configurations (a row given twice, a
second ``table``, ``default`` or ``type``), wrong numbers of entries, negative or non-finite
probabilities, rows that do not sum to one (to ``tolerance``; rows within it are renormalised, as
published tables are rounded) and parents that form a cycle. Writing uses ``repr`` of each float,
so a written model reads back bit for bit, and is atomic (temporary file, then rename).

Two small networks ship with the package, written by hand from their published definitions
(:func:`load_network`): ``"asia"`` (Lauritzen & Spiegelhalter 1988, "Local computations with
probabilities on graphical structures and their application to expert systems", JRSS B 50) and
``"cancer"`` (Korb & Nicholson 2010, *Bayesian Artificial Intelligence*, 2nd ed., §2.2).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from latentscm.graph import CausalGraph, CycleError
from latentscm.scm.discrete_scm import DiscreteSCM
from latentscm.scm.probability_table import NORMALISATION_ATOL

__all__ = ["format_bif", "load_network", "network_names", "parse_bif", "read_bif", "write_bif"]

_NETWORKS = ("asia", "cancer")
_PUNCTUATION = set("{}()[],;|")
_TOKEN = re.compile(r'"[^"]*"|[{}()\[\],;|]|[^\s{}()\[\],;|"]+')
_WORD = re.compile(r"^[A-Za-z0-9_.+\-]+$")
# A decimal number as BIF writes one; float() alone also takes '0_2' (= 2.0) and other Python-only spellings.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass
class _Token:
    text: str
    line: int


class _Tokens:
    def __init__(self, text: str, source: str):
        self.source = source
        text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        self.items: list[_Token] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("//", 1)[0]
            self.items += [_Token(m.group(0), number) for m in _TOKEN.finditer(line)]
        self.position = 0

    def error(self, message: str, token: _Token | None = None) -> ValueError:
        token = token or (self.items[self.position] if self.position < len(self.items) else None)
        where = f", line {token.line}" if token else " (at end of file)"
        return ValueError(f"BIF {self.source}{where}: {message}")

    def peek(self) -> str | None:
        return self.items[self.position].text if self.position < len(self.items) else None

    def next(self, what: str) -> _Token:
        if self.position >= len(self.items):
            raise self.error(f"unexpected end of file; expected {what}.")
        token = self.items[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.next(repr(text))
        if token.text != text:
            raise self.error(f"expected {text!r}, got {token.text!r}.", token)
        return token

    def word(self, what: str) -> str:
        token = self.next(what)
        if token.text in _PUNCTUATION:
            raise self.error(f"expected {what}, got {token.text!r}.", token)
        return token.text.strip('"')

    def skip_statement(self) -> None:
        while self.next("';'").text != ";":
            pass

    def numbers(self, what: str) -> list[float]:
        """Numbers separated by commas or spaces, up to the closing ';'."""
        values = []
        while True:
            token = self.next("';'")
            if token.text == ";":
                return values
            if token.text == ",":
                continue
            try:
                value = float(token.text)
            except ValueError:
                raise self.error(f"{what}: expected a probability, got {token.text!r}.", token) from None
            if not math.isfinite(value):
                raise self.error(f"{what}: expected a finite probability, got {token.text!r}.", token)
            if not _NUMBER.fullmatch(token.text):
                raise self.error(f"{what}: expected a decimal number, got {token.text!r}.", token)
            values.append(value)


def _parse_variable(tokens: _Tokens, states: dict[str, tuple[str, ...]]) -> None:
    name_token = tokens.items[tokens.position] if tokens.position < len(tokens.items) else None
    name = tokens.word("a variable name")
    if name in states:
        raise tokens.error(f"variable {name!r} is declared twice.", name_token)
    tokens.expect("{")
    labels: tuple[str, ...] | None = None
    while True:
        keyword = tokens.next("'type', 'property' or '}'")
        if keyword.text == "}":
            break
        if keyword.text == "property":
            tokens.skip_statement()
            continue
        if keyword.text != "type":
            raise tokens.error(f"unexpected {keyword.text!r} in variable {name!r}.", keyword)
        if labels is not None:
            raise tokens.error(f"variable {name!r} has a second 'type' line.", keyword)
        kind = tokens.word("'discrete'")
        if kind != "discrete":
            raise tokens.error(f"variable {name!r} has type {kind!r}; only discrete variables are supported.")
        tokens.expect("[")
        count_token = tokens.next("the number of states")
        tokens.expect("]")
        tokens.expect("{")
        found = []
        while True:
            token = tokens.next("a state label or '}'")
            if token.text == "}":
                break
            if token.text != ",":
                found.append(token.text.strip('"'))
        tokens.expect(";")
        if not re.fullmatch(r"[0-9]+", count_token.text) or int(count_token.text) != len(found):
            raise tokens.error(f"variable {name!r} declares [{count_token.text}] states but lists {len(found)}: "
                               f"{found}.", count_token)
        if len(set(found)) != len(found) or not found:
            raise tokens.error(f"variable {name!r} must list distinct state labels. Got {found}.", count_token)
        labels = tuple(found)
    if labels is None:
        raise tokens.error(f"variable {name!r} has no 'type discrete [k] {{...}};' line.", name_token)
    states[name] = labels


def _parse_probability(tokens: _Tokens, states: dict[str, tuple[str, ...]],
                       tables: dict[str, tuple[tuple[str, ...], np.ndarray]], tolerance: float) -> None:
    start = tokens.expect("(")
    child = tokens.word("a variable name")
    parents: list[str] = []
    if tokens.peek() == "|":
        tokens.next("'|'")
        while True:
            parents.append(tokens.word("a parent name"))
            token = tokens.next("',' or ')'")
            if token.text == ")":
                break
            if token.text != ",":
                raise tokens.error(f"expected ',' or ')' in the parents of {child!r}, got {token.text!r}.", token)
    else:
        tokens.expect(")")
    for name in (child, *parents):
        if name not in states:
            raise tokens.error(f"probability block for {child!r} names undeclared variable {name!r}.", start)
    if child in tables:
        raise tokens.error(f"variable {child!r} has two probability blocks.", start)
    if child in parents or len(set(parents)) != len(parents):
        raise tokens.error(f"the parents of {child!r} must be distinct and exclude it. Got {parents}.", start)
    k = len(states[child])
    parent_cards = [len(states[p]) for p in parents]
    rows = np.full((*parent_cards, k), np.nan)
    given = np.zeros(parent_cards, dtype=bool)  # configurations already set by a row or a table
    source = np.full(parent_cards, None, dtype=object)  # the token (line) that set each configuration
    default: list[float] | None = None
    tokens.expect("{")
    while True:
        token = tokens.next("a row, 'table', 'default' or '}'")
        if token.text == "}":
            break
        if token.text == "property":
            tokens.skip_statement()
        elif token.text == "table":
            if np.any(given):
                raise tokens.error(f"the probability block of {child!r} gives a 'table' after another table or "
                                   "rows; give each entry once.", token)
            values = tokens.numbers(f"table of {child!r}")
            if len(values) != rows.size:
                raise tokens.error(f"the table of {child!r} has {len(values)} entries; {rows.size} expected "
                                   f"({' x '.join(map(str, [k, *parent_cards]))}).", token)
            # Child state slowest, last declared parent fastest.
            table = np.asarray(values).reshape(k, *parent_cards)
            rows = np.moveaxis(table, 0, -1).copy()
            given[...] = True
            source[...] = token
        elif token.text == "default":
            if default is not None:
                raise tokens.error(f"the probability block of {child!r} has two default rows.", token)
            default_token = token
            default = tokens.numbers(f"default row of {child!r}")
            if len(default) != k:
                raise tokens.error(f"the default row of {child!r} has {len(default)} entries; {k} expected.", token)
        elif token.text == "(":
            labels = []
            while True:
                item = tokens.next("a parent state or ')'")
                if item.text == ")":
                    break
                if item.text != ",":
                    labels.append(item.text.strip('"'))
            if len(labels) != len(parents):
                raise tokens.error(f"a row of {child!r} gives {len(labels)} parent states for {len(parents)} "
                                   f"parents {parents}.", token)
            index = []
            for parent, label in zip(parents, labels):
                if label not in states[parent]:
                    raise tokens.error(f"unknown state {label!r} of parent {parent!r} in the table of {child!r}; "
                                       f"states: {', '.join(states[parent])}.", token)
                index.append(states[parent].index(label))
            if given[tuple(index)]:
                raise tokens.error(f"row {tuple(labels)} of {child!r} is given twice (or also by a 'table').", token)
            values = tokens.numbers(f"row {tuple(labels)} of {child!r}")
            if len(values) != k:
                raise tokens.error(f"row {tuple(labels)} of {child!r} has {len(values)} entries; {k} expected.",
                                   token)
            rows[tuple(index)] = values
            given[tuple(index)] = True
            source[tuple(index)] = token
        else:
            raise tokens.error(f"unexpected {token.text!r} in the probability block of {child!r}.", token)
    missing = ~given
    if np.any(missing):
        if default is None:
            configuration = tuple(int(i) for i in np.argwhere(missing)[0])
            shown = ", ".join(f"{p}={states[p][i]}" for p, i in zip(parents, configuration))
            raise tokens.error(f"the table of {child!r} has no row for {shown} (and no default row).", start)
        rows[missing] = default
        source[missing] = default_token
    _check_rows(rows, child, parents, states, tolerance, tokens, source)
    # Rows already normalised to DiscreteSCM's tolerance are kept bit for bit; rounded ones rescaled.
    sums = rows.sum(axis=-1, keepdims=True)
    rows = np.where(np.abs(sums - 1.0) > NORMALISATION_ATOL, rows / sums, rows)
    tables[child] = (tuple(parents), rows)


def _check_rows(rows: np.ndarray, child: str, parents: list[str], states: dict[str, tuple[str, ...]],
                tolerance: float, tokens: _Tokens, source: np.ndarray) -> None:
    """Refuse negative, non-finite or non-normalised rows, at the line of the row (or table, or default row)
    that set the first offending configuration; ``source`` (parent cards) holds those tokens."""
    def where(mask: np.ndarray) -> tuple[str, _Token]:
        index = tuple(int(i) for i in np.argwhere(mask)[0])
        shown = ", ".join(f"{p}={states[p][i]}" for p, i in zip(parents, index[:len(parents)]))
        return (f" given {shown}" if shown else ""), source[index[:len(parents)]]

    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        shown, token = where(((rows < 0) | ~np.isfinite(rows)).any(axis=-1))
        raise tokens.error(f"the table of {child!r} has a negative or non-finite probability{shown}.", token)
    sums = rows.sum(axis=-1)
    off = np.abs(sums - 1.0) > tolerance
    if np.any(off):
        value = float(sums[tuple(np.argwhere(off)[0])])
        shown, token = where(off)
        raise tokens.error(f"the probabilities of {child!r}{shown} sum to {value:.6g}, not 1 "
                           f"(tolerance {tolerance:g}).", token)


def parse_bif(text: str, *, source: str = "<string>", tolerance: float = 1e-4) -> DiscreteSCM:
    """A :class:`DiscreteSCM` from BIF text.

    Parameters
    ----------
    text: the BIF source.
    source: what to call it in error messages (a file name).
    tolerance: largest accepted ``|sum - 1|`` of a CPT row; rows off by more than 1e-9 but within it
        are renormalised (published tables are rounded).

    Returns
    -------
    DiscreteSCM whose nodes are in declaration order and whose states are the declared labels.

    Raises
    ------
    ValueError naming the line and the variable for malformed or inconsistent files, and for
    parents that form a directed cycle.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_bif expects the BIF text as a str. Got {type(text).__name__}.")
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise ValueError(f"The 'tolerance' parameter of parse_bif must be a float in [0, 1). Got {tolerance!r}.")
    tokens = _Tokens(text, source)
    states: dict[str, tuple[str, ...]] = {}
    tables: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    while tokens.peek() is not None:
        keyword = tokens.next("a block")
        if keyword.text == "network":
            while tokens.next("'{'").text != "{":
                pass
            depth = 1
            while depth:
                token = tokens.next("'}'")
                depth += {"{": 1, "}": -1}.get(token.text, 0)
        elif keyword.text == "variable":
            _parse_variable(tokens, states)
        elif keyword.text == "probability":
            _parse_probability(tokens, states, tables, float(tolerance))
        else:
            raise tokens.error(f"expected 'network', 'variable' or 'probability', got {keyword.text!r}.", keyword)
    if not states:
        raise ValueError(f"BIF {source}: no variables declared.")
    missing = [name for name in states if name not in tables]
    if missing:
        raise ValueError(f"BIF {source}: no probability block for variable(s) {', '.join(map(repr, missing))}.")
    edges = [(parent, child) for child, (parents, _) in tables.items() for parent in parents]
    try:
        graph = CausalGraph(edges, nodes=list(states))
    except CycleError as error:
        path = " -> ".join([*error.cycle, error.cycle[0]]) if error.cycle else "?"
        raise ValueError(f"BIF {source}: the declared parents form a directed cycle ({path}); a Bayesian "
                         "network must be acyclic.") from error
    cpts = {}
    for name in graph.nodes:
        declared, rows = tables[name]
        order = [declared.index(p) for p in graph.parents(name)]
        cpts[name] = np.transpose(rows, (*order, len(declared)))
    return DiscreteSCM(graph, cpts, states)


def read_bif(path: str | os.PathLike, *, tolerance: float = 1e-4) -> DiscreteSCM:
    """A :class:`DiscreteSCM` from a BIF file (see :func:`parse_bif`)."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"No such BIF file: {file}.")
    try:
        text = file.read_text(encoding="utf-8-sig")  # a leading byte-order mark is not part of the text
    except UnicodeDecodeError as error:
        raise ValueError(f"{file} is not a BIF file: it is not UTF-8 text ({error.reason} at byte "
                         f"{error.start}).") from None
    return parse_bif(text, source=str(file), tolerance=tolerance)


def _bif_word(value: Hashable, what: str) -> str:
    text = str(value)
    if not _WORD.match(text):
        raise ValueError(f"The {what} {text!r} cannot be written to BIF: use letters, digits and '_.+-' only.")
    return text


def format_bif(scm: DiscreteSCM, *, network_name: str = "unknown") -> str:
    """BIF text of a :class:`DiscreteSCM` (one row per parent configuration, parents in node order).

    State labels are written with ``str``; they and the node names must be BIF words (letters,
    digits, ``_.+-``), and a node's labels must differ (``ValueError`` otherwise). Probabilities
    are written with ``repr``, so :func:`parse_bif` reads the same numbers back.
    """
    if not isinstance(scm, DiscreteSCM):
        raise TypeError(f"format_bif expects a DiscreteSCM. Got {type(scm).__name__}.")
    lines = [f"network {_bif_word(network_name, 'network name')} {{", "}"]
    states = scm.states
    for name in scm.nodes:
        labels = [_bif_word(s, f"state of variable {name!r},") for s in states[name]]
        if len(set(labels)) != len(labels):  # distinct states such as 1 and '1' would be one label in the file
            raise ValueError(f"The states {list(states[name])} of variable {name!r} cannot be written to BIF: "
                             f"they are written as the labels {labels}, which repeat.")
        lines += [f"variable {_bif_word(name, 'variable name')} {{",
                  f"  type discrete [ {len(labels)} ] {{ {', '.join(labels)} }};", "}"]
    for name in scm.nodes:
        parents = scm.graph.parents(name)
        cpt = scm.cpts[name]
        if not parents:
            lines += [f"probability ( {name} ) {{", f"  table {', '.join(map(repr, map(float, cpt)))};", "}"]
            continue
        lines.append(f"probability ( {name} | {', '.join(parents)} ) {{")
        for index in itertools.product(*(range(len(states[p])) for p in parents)):
            labels = ", ".join(str(states[p][i]) for p, i in zip(parents, index))
            lines.append(f"  ({labels}) {', '.join(map(repr, map(float, cpt[index])))};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_bif(scm: DiscreteSCM, path: str | os.PathLike, *, network_name: str = "unknown") -> Path:
    """Write ``scm`` as BIF to ``path`` atomically (temporary file beside it, then rename)."""
    from latentscm._io import atomic_write

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, format_bif(scm, network_name=network_name))


def network_names() -> list[str]:
    """Names of the networks shipped with latentscm (``"asia"``, ``"cancer"``)."""
    return list(_NETWORKS)


def load_network(name: str) -> DiscreteSCM:
    """A shipped network as a :class:`DiscreteSCM` (no download: the BIF files are package data)."""
    if name not in _NETWORKS:
        raise ValueError(f"Unknown network {name!r}. Shipped: {', '.join(_NETWORKS)}; read other files with "
                         "read_bif(path).")
    text = resources.files("latentscm.scm").joinpath("networks", f"{name}.bif").read_text()
    return parse_bif(text, source=f"{name}.bif")
