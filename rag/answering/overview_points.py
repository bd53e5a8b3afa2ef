"""What makes a sentence one of a document's main points, whatever the question's wording.

An overview of one document ("tl;dr of the joint statement") asks for what the document says, not for the sentences
that sound most like the question: those are its framing lines ("the leaders met today to ..."). A main point is
central to the document (close, by the stored sentence vectors, to the rest of what it says) and announces something
(a named programme or initiative, a figure); a line that only introduces a list ("launching the following
initiatives:") gives way to the items it introduces.
"""

from __future__ import annotations

import re

import numpy as np

# A name of two or more capitalised words ("Luzon Economic Corridor", "Net Zero World Initiative"), small joining
# words allowed inside; a name opening the sentence is not counted (its first word is capitalised anyway).
NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|for|and|the|on|in|to)\s+)*[A-Z][\w'’-]*)+")
FIGURE = re.compile(r"[$¥€£%]|\b\d[\d,.]*\b")
# A line ending in a colon, or in a phrase pointing forward ("the following initiatives."), introduces what follows
# (a list, a quotation) and says nothing by itself.
INTRODUCES = re.compile(r":\s*[\"“]?\s*$|\b(the following(\s+\w+){0,3}|as follows)\W*$", re.I)


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Each sentence's mean cosine to the document's other sentences (the rows are unit vectors)."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n)
    similarity = vectors @ vectors.T
    return (similarity.sum(axis=1) - np.diag(similarity)) / (n - 1)


def announces(sentence: str) -> float:
    """How much the sentence announces: 1 for a multiword name or a figure each, at most 2 (0 for framing)."""
    names = [m for m in NAME.finditer(sentence) if m.start() > 0 and len(m.group(0).split()) >= 2]
    return float(min(len(names), 1) + bool(FIGURE.search(sentence)))


def introduces_list(sentence: str) -> bool:
    """True for a line that only introduces what follows it ("... is launching the following initiatives:")."""
    return bool(INTRODUCES.search(sentence))
