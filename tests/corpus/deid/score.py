"""Locating planted identifiers in a recognised transcript and scoring a de-identification of it.

The script's words are aligned to the recognised words (edit-distance alignment over normalised tokens: lower
case, digits one by one, number words as digits, "@" as "at", a dot inside a word as "dot"), so each planted
identifier maps to the recognised words it became. Used by ``benchmarks/bench_deid.py`` and ``tests/deid``.
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9"}


def tokens(text: str) -> list[str]:
    """Normalised tokens for alignment: lower case, '@' -> at, '.' inside a word -> dot, digits one by one."""
    text = text.lower().replace("@", " at ").replace("_", " underscore ")
    text = re.sub(r"(?<=\w)\.(?=\w)", " dot ", text)
    out = []
    for token in re.findall(r"[a-z0-9']+", text):
        token = token.strip("'")
        if token.isdigit():
            out.extend(token)
        elif token:
            out.append(_NUMBER_WORDS.get(token, token))
    return out


def align(ref: list[str], hyp: list[str]) -> list[int | None]:
    """For each reference token, the index of the hypothesis token aligned to it (None: deleted)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (ref[i - 1] != hyp[j - 1]), prev[j] + 1, row[j - 1] + 1)
    mapping: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            mapping[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return mapping


def score_dialogue(script: dict, original, result) -> dict[str, Any]:
    """Per planted identifier: found / missed / dropped by ASR; per placeholder: true or false alarm."""
    planted, words_of = locate(script, original)
    covered, placeholders = covered_words(result)
    identifier_words = set().union(*words_of) if words_of else set()
    rows = []
    for p, words in zip(planted, words_of):
        status = "dropped" if not words else "found" if words <= covered else "missed"
        rows.append({"category": p["category"], "kind": p["kind"], "status": status})
    alarms = [{"category": category, "true": bool(words & identifier_words)} for category, words in placeholders]
    return {"identifiers": rows, "placeholders": alarms}


def locate(script: dict, original) -> tuple[list[dict], list[set]]:
    """The planted identifiers of a script (with their sentence's role) and, for each, the (segment, word)
    positions of the recognised words it became."""
    ref_tokens, owner = [], []  # owner: index of the planted identifier a reference token belongs to, or -1
    planted = []
    for sentence in script["sentences"]:
        text = sentence["text"]
        cuts = sorted((p["start"], p["end"], p) for p in sentence["planted"])
        pos = 0
        for start, end, p in cuts:
            for t in tokens(text[pos:start]):
                ref_tokens.append(t)
                owner.append(-1)
            planted.append({**p, "role": sentence["role"]})
            for t in tokens(text[start:end]):
                ref_tokens.append(t)
                owner.append(len(planted) - 1)
            pos = end
        for t in tokens(text[pos:]):
            ref_tokens.append(t)
            owner.append(-1)
    hyp_tokens, hyp_word = [], []  # the (segment, word) of each hypothesis token
    for s_index, segment in enumerate(original.segments):
        for w_index, word in enumerate(segment.words):
            for t in tokens(word.word):
                hyp_tokens.append(t)
                hyp_word.append((s_index, w_index))
    mapping = align(ref_tokens, hyp_tokens)
    words_of = [set() for _ in planted]
    for r, h in enumerate(mapping):
        if h is not None and owner[r] >= 0:
            words_of[owner[r]].add(hyp_word[h])
    _add_insertions(mapping, owner, hyp_word, words_of)
    return planted, words_of


def _add_insertions(mapping, owner, hyp_word, words_of) -> None:
    """Recognised words between two aligned words of one identifier belong to it ("Kai steaton" for one name)."""
    aligned = [(r, h) for r, h in enumerate(mapping) if h is not None]
    for (r1, h1), (r2, h2) in zip(aligned, aligned[1:]):
        if h2 - h1 > 1 and owner[r1] >= 0 and owner[r1] == owner[r2]:
            for h in range(h1 + 1, h2):
                words_of[owner[r1]].add(hyp_word[h])


def covered_words(result) -> tuple[set, list]:
    """The original (segment, word) positions inside placeholders, and each placeholder's category and words."""
    covered, placeholders = set(), []
    for finding in result.findings:
        words = {(finding.segment, w) for w in range(*finding.words)}
        covered |= words
        placeholders.append((finding.category, words))
    return covered, placeholders


