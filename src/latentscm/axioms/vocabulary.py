"""The token vocabulary of axiom demonstrations: special tokens plus one token per node name.

A demonstration (see :mod:`latentscm.axioms.demonstrations`) is written in a compact token form,
one token per node name and per connective, e.g. the transitivity question "v3 causes v7. v7
causes v1. Does v3 cause v1?" is ::

    v3 > v7  v7 > v1  ? v3 v1 =

and a d-separation question "are v3 and v1 d-separated given v7?" ends in ``| v7 dsep v3 v1 =``
(conditioning set first, so every question ends in ``<kind> x y =``). The model reads the answer
off the last tokens. :class:`Vocabulary` maps tokens to integer
ids and back, and pads batches of sequences (the padding id is 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from latentscm._validation import check_number, check_sequence

__all__ = ["Vocabulary", "PAD", "CAUSES", "ASK_CAUSES", "ASK_DSEP", "GIVEN", "ANSWER", "YES", "NO", "SPECIALS",
           "node_names"]

PAD = "<pad>"
#: ``x > y``: x causes y.
CAUSES = ">"
#: ``? x y =``: does x cause y?
ASK_CAUSES = "?"
#: ``| z... dsep x y =``: are x and y d-separated given z...?
ASK_DSEP = "dsep"
GIVEN = "|"
#: The token whose position the answer is read from.
ANSWER = "="
YES = "Yes"
NO = "No"
#: Special tokens in id order (``PAD`` is id 0).
SPECIALS: tuple[str, ...] = (PAD, CAUSES, ASK_CAUSES, ASK_DSEP, GIVEN, ANSWER, YES, NO)


def node_names(n_names: int, *, prefix: str = "v") -> list[str]:
    """The pool of node-name tokens ``v0 .. v{n-1}``.

    Parameters
    ----------
    n_names : int
        Size of the pool (>= 2).
    prefix : str, default "v"
        Prefix of every name.

    Returns
    -------
    list of str
        ``[f"{prefix}{i}" for i in range(n_names)]``.
    """
    n = check_number(n_names, "n_names", "node_names", low=2, integer=True)
    if not isinstance(prefix, str) or not prefix or any(ch.isspace() for ch in prefix):
        raise ValueError(f"The 'prefix' parameter of node_names must be a non-empty string without spaces. "
                         f"Got {prefix!r} instead.")
    return [f"{prefix}{i}" for i in range(n)]


class Vocabulary:
    """Token <-> id map for axiom demonstrations.

    Parameters
    ----------
    names : sequence of str
        The node-name tokens (e.g. :func:`node_names`); they follow the special tokens
        :data:`SPECIALS`, so ``PAD`` is id 0 and ``names[i]`` is id ``len(SPECIALS) + i``.

    Raises
    ------
    ValueError
        Duplicate names, empty names, names with spaces, or a name equal to a special token.
    """

    def __init__(self, names: Sequence[str]):
        names = check_sequence(names, "names", "Vocabulary", what="names")
        for name in names:
            if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
                raise ValueError(f"Every name of Vocabulary must be a non-empty string without spaces. Got {name!r}.")
            if name in SPECIALS:
                raise ValueError(f"The name {name!r} of Vocabulary is a special token ({', '.join(SPECIALS)}).")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Duplicate names in Vocabulary: {', '.join(dupes)}.")
        self.names = names
        self._tokens: tuple[str, ...] = (*SPECIALS, *names)
        self._ids = {token: i for i, token in enumerate(self._tokens)}

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token, in id order."""
        return self._tokens

    @property
    def pad_id(self) -> int:
        """Id of the padding token (0)."""
        return self._ids[PAD]

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def id(self, token: str) -> int:
        """Id of one token (raises ``KeyError`` naming it when unknown)."""
        try:
            return self._ids[token]
        except KeyError:
            raise KeyError(f"Token {token!r} is not in the vocabulary ({len(self.names)} names "
                           f"{self.names[0] if self.names else ''}..{self.names[-1] if self.names else ''} and the "
                           f"special tokens {', '.join(SPECIALS)}).") from None

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings to ids.

        Parameters
        ----------
        tokens : iterable of str
            One sequence.

        Returns
        -------
        ndarray of int64, shape (T,)
            The ids.

        Raises
        ------
        KeyError
            A token is not in the vocabulary (the message names it).
        """
        if isinstance(tokens, str):
            raise TypeError(f"Vocabulary.encode takes a sequence of tokens, not one string. Got {tokens!r}; "
                            f"split it first (tokens are separated by spaces).")
        return np.array([self.id(token) for token in tokens], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to token strings, dropping padding.

        Parameters
        ----------
        ids : iterable of int, shape (T,)
            One (possibly padded) sequence.

        Returns
        -------
        list of str
            The tokens without ``PAD``.

        Raises
        ------
        ValueError
            An id outside ``[0, len(self))``.
        """
        out = []
        for value in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1):
            index = int(value)
            if not 0 <= index < len(self._tokens):
                raise ValueError(f"Token id {index} is outside the vocabulary (0..{len(self._tokens) - 1}).")
            if index != self.pad_id:
                out.append(self._tokens[index])
        return out

    def pad(self, sequences: Sequence[Sequence[str]], *, length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode and right-pad a batch of token sequences.

        Parameters
        ----------
        sequences : sequence of sequences of str
            N token sequences.
        length : int or None, default None
            Padded length T (default: the longest sequence).

        Returns
        -------
        ids : ndarray of int64, shape (N, T)
            Token ids, ``PAD`` (0) after the end of each sequence.
        lengths : ndarray of int64, shape (N,)
            Length of every sequence before padding.

        Raises
        ------
        ValueError
            An empty batch, an empty sequence, or a sequence longer than ``length``.
        """
        if len(sequences) == 0:
            raise ValueError("Vocabulary.pad needs at least one sequence.")
        encoded = [self.encode(sequence) for sequence in sequences]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        if lengths.min() == 0:
            raise ValueError(f"Sequence {int(np.argmin(lengths))} given to Vocabulary.pad is empty.")
        if length is None:
            length = int(lengths.max())
        length = check_number(length, "length", "Vocabulary.pad", low=1, integer=True)
        if lengths.max() > length:
            raise ValueError(f"Sequence {int(np.argmax(lengths))} has {int(lengths.max())} tokens, more than "
                             f"length={length} given to Vocabulary.pad.")
        ids = np.full((len(encoded), length), self.pad_id, dtype=np.int64)
        for row, sequence in enumerate(encoded):
            ids[row, : len(sequence)] = sequence
        return ids, lengths

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._tokens == other._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.names)} names, {len(SPECIALS)} special tokens)"
