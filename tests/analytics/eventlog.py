"""What a corpus session's event log implies for the session analytics, worked out independently of
``therapybridge.analytics``: times on a 1 ms grid (the event log is in whole milliseconds), turns by plain loops.

The reference transcript a test feeds the analytics is made here too: one segment per sentence (event), its words
spread evenly over the sentence's speech islands (each word inside one island), the islands as the turns.
"""

from __future__ import annotations

import numpy as np

from therapybridge.types import AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, Word

MS = 1000


def _island_word_slots(event) -> list[tuple[int, float, float]]:
    """For each word of the sentence: (island index, start, end) with the word inside that island."""
    words = event.text.split()
    lengths = [b - a for a, b in event.islands]
    total = sum(lengths)
    slots = []
    for k in range(len(words)):
        lo, hi = total * k / len(words), total * (k + 1) / len(words)
        mid = (lo + hi) / 2
        offset = 0.0
        for i, ((a, b), length) in enumerate(zip(event.islands, lengths)):
            if mid <= offset + length or i == len(lengths) - 1:
                start = a + max(lo - offset, 0.0)
                end = a + min(hi - offset, length)
                slots.append((i, round(start, 4), round(end, 4)))
                break
            offset += length
    return slots


def reference_transcript(session) -> Transcript:
    """The session's reference as a transcript of ours (segments with words, the islands as diarizer turns)."""
    segments = []
    for event in sorted(session.events, key=lambda e: (e.start, e.index)):
        words = tuple(Word(start, end, " " + text, 1.0, event.speaker)
                      for text, (_, start, end) in zip(event.text.split(), _island_word_slots(event)))
        segments.append(Segment(event.start, event.end, " " + event.text, words, event.speaker))
    roles = {e.speaker: e.role for e in session.events}
    speakers = tuple(SpeakerInfo(v, f"{roles[v].capitalize()} {n}", roles[v]) for n, v in enumerate(session.speakers))
    turns = tuple(SpeakerTurn(t.start, t.end, t.speaker) for t in session.turns)
    return Transcript(AudioInfo(str(session.audio), session.duration), "en", tuple(segments), speakers, turns=turns)


def _ms(t: float) -> int:
    return int(round(t * MS))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) ms of the True runs of a boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _glue(spans, pause_ms, blocked=lambda a, b: False):
    out = []
    for a, b in spans:
        if out and a - out[-1][1] < pause_ms and not blocked(out[-1][1], a):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def expected(session, *, turn_pause=2.0, bc_seconds=1.0, bc_words=2, min_overlap=0.2, long_silence=5.0,
             bin_seconds=10.0) -> dict:
    """Every figure of the analytics, from the event log alone (times in seconds)."""
    n = _ms(session.duration)
    speakers = list(session.speakers)
    masks = {s: np.zeros(n, dtype=bool) for s in speakers}
    island_words: dict[str, list[tuple[int, int, int]]] = {s: [] for s in speakers}  # (start, end, words)
    for event in session.events:
        slots = _island_word_slots(event)
        for i, (a, b) in enumerate(event.islands):
            masks[event.speaker][_ms(a):_ms(b)] = True
            island_words[event.speaker].append((_ms(a), _ms(b), sum(1 for s in slots if s[0] == i)))
    speech = {s: _runs(masks[s]) for s in speakers}
    pause = _ms(turn_pause)

    def words_in(spk, a, b):
        return sum(w for x, y, w in island_words[spk] if a <= x and y <= b)

    runs = {s: _glue(speech[s], pause) for s in speakers}
    backchannels = []
    for s in speakers:
        for a, b in runs[s]:
            inside = any(x <= a and b <= y for o in speakers if o != s for x, y in runs[o])
            if b - a <= _ms(bc_seconds) and words_in(s, a, b) <= bc_words and inside:
                backchannels.append((a, b, s))
    floor = {s: [(a, b) for a, b in speech[s] if not any(x <= a and b <= y for x, y, o in backchannels if o == s)]
             for s in speakers}
    turns = []
    for s in speakers:
        others = [iv for o in speakers if o != s for iv in floor[o]]
        for a, b in _glue(floor[s], pause, lambda lo, hi, others=others: any(x < hi and y > lo for x, y in others)):
            turns.append((a, b, s))
    turns.sort(key=lambda t: (t[0], t[1], t[2]))

    latencies, interruptions = [], []
    for k, (a, b, s) in enumerate(turns):
        earlier = turns[:k]
        if earlier:
            last = max(earlier, key=lambda t: t[1])  # first of the latest-ending ones
            if last[2] != s and last[0] < a and b > last[1]:
                latencies.append((a - last[1]) / MS)
        running = [t for t in earlier if t[2] != s and t[0] < a]
        if running:
            whom = max(running, key=lambda t: t[1])
            if (whom[1] - a) / MS >= min_overlap - 1e-9:
                interruptions.append(((a, b, s), whom[2]))
    monologues = []
    for a, b, s in turns:
        if monologues and monologues[-1][2] == s:
            monologues[-1] = (monologues[-1][0], max(monologues[-1][1], b), s)
        else:
            monologues.append((a, b, s))

    bc_of = {s: [(a, b) for a, b, o in backchannels if o == s] for s in speakers}
    per = {}
    for s in speakers:
        words = utterances = questions = 0
        for event in (e for e in session.events if e.speaker == s):
            slots = _island_word_slots(event)
            tokens = event.text.split()
            words += len(tokens)
            all_bc = True
            for k, (token, (i, _, _)) in enumerate(zip(tokens, slots)):
                x, y = _ms(event.islands[i][0]), _ms(event.islands[i][1])
                all_bc = all_bc and any(a <= x and y <= b for a, b in bc_of[s])
                if token.endswith((".", "?", "!", "…")) or k == len(tokens) - 1:
                    if not all_bc:
                        utterances += 1
                        questions += token.endswith("?")
                    all_bc = True
        own = [t for t in turns if t[2] == s]
        lengths = sorted((b - a) / MS for a, b, _ in own)
        talk = masks[s].sum() / MS
        per[s] = {
            "talk_time": talk, "turns": len(own), "median_turn": float(np.median(lengths)) if lengths else None,
            "longest_turn": max(lengths) if lengths else None, "words": words,
            "words_per_minute": words / (talk / 60) if talk else None, "utterances": utterances,
            "questions": questions, "question_share": questions / utterances if utterances else None,
            "longest_monologue": max(((b - a) / MS for a, b, o in monologues if o == s), default=None),
            "backchannels": len(bc_of[s]),
            "interruptions": sum(1 for t, _ in interruptions if t[2] == s),
            "interrupted": sum(1 for _, whom in interruptions if whom == s),
        }
    total_talk = sum(p["talk_time"] for p in per.values())
    for p in per.values():
        p["talk_share"] = p["talk_time"] / total_talk

    count = sum(masks[s].astype(int) for s in speakers)
    silent = count == 0
    gaps = _runs(silent)
    bin_ms = _ms(bin_seconds)
    return {
        "speakers": per,
        "turns": [(a / MS, b / MS, s) for a, b, s in turns],
        "backchannels": sorted((a / MS, b / MS, s) for a, b, s in backchannels),
        "latencies": latencies,
        "latency_median": float(np.median(latencies)) if latencies else None,
        "latency_p90": float(np.percentile(latencies, 90)) if latencies else None,
        "interruptions": len(interruptions),
        "overlap_time": (count >= 2).sum() / MS,
        "backchannels_per_minute": len(backchannels) / (session.duration / 60),
        "silence_total": silent.sum() / MS,
        "long_silences": [(a / MS, b / MS) for a, b in gaps if b - a >= _ms(long_silence)],
        "silence_map": [float(silent[k:k + bin_ms].mean()) for k in range(0, n, bin_ms)],
    }
