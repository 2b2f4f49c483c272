"""Scripted therapy dialogues with planted identifiers, for measuring de-identification (``therapybridge.deid``).

Each dialogue is a therapist and a client taking turns; most sentences carry one or two planted identifiers of a
known category (``NAME``, ``PLACE``, ``DATE``, ``AGE``, ``PHONE``, ``EMAIL``, ``ADDRESS``, ``URL``, ``ID``), written
the way a person says them ("five five five, oh one nine two", "March third", "jane dot doe at gmail dot com",
"that's Q U I L L"). The sentences are spoken by the corpus TTS (:mod:`tests.corpus.deid.synth`) and recognised by
our ASR, so recognition errors count in the figures.

Where the names come from: given names and surnames are **generated** from a syllable grammar
(:func:`generated_name`) with a fixed seed, so they are in no list that any recogniser carries (Presidio has no
name lists for English, spaCy's model learnt from OntoNotes, and ours hold none). About one surname in six is
instead an ordinary English word that is also a surname (``WORD_SURNAMES``: Baker, Brooks, …), the hard case for
a recogniser that keys on unknown words.

The split: ``deid01``-``deid15`` are the ``tune`` half (recognisers may be tuned on them); ``deid16``-``deid20``
are the ``report`` half (figures are reported on it). The first ten were once split five and five, but their
misses were read while tuning, so all ten became tuning material and a fresh report half was drawn
(``deid11``-``deid15``): its own sentence templates, its own word surnames and towns, names checked against every
name of the first ten, and its own voices. Every non-reserved English Kokoro voice already speaks in the first
ten, so each later voice is a new one made by mixing the style vectors of an American and a British voice of the
same sex (``"af_heart+bf_emma"``, :func:`tests.corpus.deid.synth.voice_style`): no report voice is a voice of
an earlier dialogue, though each is built from two of them.

That happened once more: the misses of ``deid11``-``deid15`` were read (2026-12-03) to see why names were missed,
so they became tuning material too, and a second fresh report half was drawn (``deid16``-``deid20``): again its own
templates, word surnames and towns, names checked against every name of the fifteen before it, and voices mixed
from pairs that no earlier dialogue used.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

CATEGORIES = ("NAME", "PLACE", "DATE", "AGE", "PHONE", "EMAIL", "ADDRESS", "URL", "ID")

# Voices, none of them reserved (tests/corpus/sessions.RESERVED_VOICES). The first ten dialogues (all tune now)
# alternate between the corpus's development voices (even ones) and its evaluation voices (odd ones); the later
# halves speak with mixed voices, an American and a British voice of one sex (see the module docstring).
TUNE_VOICES = [("af_bella", "am_michael"), ("bf_isabella", "am_adam"), ("am_fenrir", "af_jessica"),
               ("bm_daniel", "af_nova"), ("af_alloy", "am_santa"), ("bf_alice", "am_michael")]
OLD_REPORT_VOICES = [("af_heart", "am_puck"), ("bm_george", "af_sarah"), ("af_kore", "am_liam"),
                     ("bf_emma", "bm_fable"), ("am_echo", "af_aoede"), ("bf_lily", "am_puck")]
OLD_FRESH_VOICES = [("af_heart+bf_emma", "am_liam+bm_george"), ("bm_fable+am_echo", "af_kore+bf_lily"),
                    ("af_sarah+bf_alice", "am_puck+bm_daniel"), ("am_adam+bm_fable", "af_aoede+bf_isabella"),
                    ("af_nova+bf_lily", "am_santa+bm_george")]
REPORT_VOICES = [("af_bella+bf_alice", "am_fenrir+bm_fable"), ("bm_daniel+am_liam", "af_jessica+bf_emma"),
                 ("af_kore+bf_isabella", "am_michael+bm_george"), ("am_echo+bm_daniel", "af_alloy+bf_lily"),
                 ("af_heart+bf_isabella", "am_santa+bm_fable")]

WORD_SURNAMES = ["Baker", "Brooks", "Hunter", "Wells", "Marsh", "Stone", "Fields", "Rivers", "Bishop", "Fox",
                 "Carpenter", "Cross", "Hill", "Lane"]
FRESH_WORD_SURNAMES = ["Walker", "Parker", "Mason", "Cook", "Frost", "Gardner", "Shepherd", "Wood", "Price",
                       "Glass", "Booth", "Chambers"]  # deid11-deid15's own (none of them in WORD_SURNAMES)
REPORT_WORD_SURNAMES = ["Fletcher", "Weaver", "Barber", "Knight", "Bell", "Hart", "Page", "Rose", "Short", "Bright",
                        "Fisher", "Snow"]  # the report half's own (in neither list above)

_ONSETS = ["b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "st", "t",
           "tr", "v", "w", "z", "th", "sh", "ch"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"]
_CODAS = ["", "", "n", "r", "l", "s", "m", "nd", "rt", "ck", "th", "x", "ll"]
_ENDINGS = ["", "", "a", "o", "ey", "ius", "ard", "enko", "ovic", "ley", "by", "wick", "ton", "ash"]


@dataclass(frozen=True)
class Planted:
    """One planted identifier: its category and where it sits in its sentence's text (character offsets)."""

    category: str
    start: int
    end: int
    kind: str = ""  # a finer tag for the tables: "spelled", "spoken digits", "word surname", …


@dataclass(frozen=True)
class Sentence:
    speaker: str  # a Kokoro voice
    role: str  # "therapist" or "client"
    text: str
    planted: tuple[Planted, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"speaker": self.speaker, "role": self.role, "text": self.text,
                "planted": [asdict(p) for p in self.planted]}


@dataclass(frozen=True)
class Dialogue:
    id: str
    half: str  # "tune" or "report"
    therapist: str
    client: str
    seed: int
    sentences: tuple[Sentence, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "half": self.half, "therapist": self.therapist, "client": self.client,
                "seed": self.seed, "sentences": [s.to_dict() for s in self.sentences]}


def generated_name(rng: random.Random, syllables: int | None = None) -> str:
    """A pronounceable made-up name ("Draveth", "Quoskenko"): onset-vowel-coda syllables and an ending."""
    count = syllables or rng.choice([1, 2, 2, 2])
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + (rng.choice(_CODAS) if i == count - 1 else "")
             for i in range(count)]
    name = "".join(parts) + (rng.choice(_ENDINGS) if count < 3 else "")
    name = re.sub(r"(.)\1\1", r"\1\1", name)
    return name[:1].upper() + name[1:]


_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third",
             "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_TENS = {9: "ninety", 10: "one hundred"}
_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_STREETS = ["Road", "Street", "Avenue", "Lane", "Drive", "Court", "Place"]
_TOWNS = ["Dayton", "Tacoma", "Asheville", "Bakersfield", "Duluth", "Spokane", "Savannah", "Provo", "Fresno",
          "Albany", "Boise", "Wichita", "Tulsa", "Eugene", "Macon", "Reno", "Toledo", "Lubbock"]
_FRESH_TOWNS = ["Fargo", "Yakima", "Lansing", "Topeka", "Billings", "Modesto", "Peoria", "Akron", "Roanoke",
                "Laredo", "Ogden", "Pueblo"]
_REPORT_TOWNS = ["Missoula", "Flagstaff", "Greenville", "Amarillo", "Scranton", "Bismarck", "Chattanooga",
                 "Waco", "Muncie", "Rapid City", "Elmira", "Medford"]
_DOMAINS = ["gmail", "yahoo", "outlook", "hotmail", "proton mail", "icloud"]
_TLDS = ["com", "net", "org"]


def spoken_digits(rng: random.Random, count: int, oh: bool = True) -> str:
    """``count`` random digits said one by one ("five oh two"); zero is said "oh" about half the time."""
    words = []
    for _ in range(count):
        digit = rng.randrange(10)
        words.append("oh" if digit == 0 and oh and rng.random() < 0.5 else _DIGITS[digit])
    return " ".join(words)


def spoken_year(rng: random.Random) -> str:
    year = rng.randrange(1941, 2006)
    century, rest = divmod(year, 100)
    first = "nineteen" if century == 19 else "two thousand"
    if century == 20:
        return f"two thousand {_UNITS[rest]}".strip() if rest < 10 else f"twenty {_small(rest)}"
    return f"{first} {_small(rest)}" if rest >= 10 else f"{first} oh {_UNITS[rest]}"


def _small(n: int) -> str:
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen"]
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    if n < 10:
        return _UNITS[n] or "zero"
    if n < 20:
        return teens[n - 10]
    return tens[n // 10] + (f"-{_UNITS[n % 10]}" if n % 10 else "")


class _Draw:
    """The random identifiers of one dialogue; the same person keeps the same name when mentioned again."""

    def __init__(self, rng: random.Random, generation: int = 0, exclude: frozenset[str] = frozenset()) -> None:
        self.rng = rng  # generation: 0 the first ten dialogues, 1 deid11-deid15, 2 the report half
        self.surnames = (WORD_SURNAMES, FRESH_WORD_SURNAMES, REPORT_WORD_SURNAMES)[generation]
        self.towns = (_TOWNS, _FRESH_TOWNS, _REPORT_TOWNS)[generation]
        self.exclude = exclude  # names that must not be drawn again (a later half avoids the earlier halves' names)

    def _new(self, syllables: int | None = None) -> str:
        while (name := generated_name(self.rng, syllables)) in self.exclude:
            pass
        return name

    def first(self) -> str:
        return self._new(self.rng.choice([1, 2, 2]))

    def last(self) -> tuple[str, str]:
        if self.rng.random() < 1 / 6:
            return self.rng.choice(self.surnames), "word surname"
        return self._new(), ""

    def spelled(self, name: str) -> str:
        letters = [c.upper() for c in name if c.isalpha()]
        return (" " if self.rng.random() < 0.5 else "-").join(letters)

    def place(self) -> tuple[str, str]:
        if self.rng.random() < 0.5:
            return self.rng.choice(self.towns), "real town"
        return self._new() + self.rng.choice(["", " Falls", " Springs", "ville", " Heights"]), "made-up"

    def date(self) -> tuple[str, str]:
        month, day = self.rng.choice(_MONTHS), self.rng.choice(_ORDINALS)
        form = self.rng.randrange(4)
        if form == 0:
            return f"{month} {day}", "month day"
        if form == 1:
            return f"the {day} of {month}", "day of month"
        if form == 2:
            return f"{month} {day}, {spoken_year(self.rng)}", "full date"
        return f"{month} {spoken_year(self.rng)}", "month year"

    def age(self) -> str:
        years = self.rng.randrange(90, 104)
        tens, units = divmod(years, 10)
        return _TENS[tens] + (f"-{_UNITS[units]}" if units and tens == 9 else f" {_small(units)}" if units else "")

    def phone(self) -> tuple[str, str]:
        if self.rng.random() < 0.5:
            return f"{spoken_digits(self.rng, 3)}, {spoken_digits(self.rng, 3)}, {spoken_digits(self.rng, 4)}", \
                "ten digits"
        return f"{spoken_digits(self.rng, 3)}, {spoken_digits(self.rng, 4)}", "seven digits"

    def email(self, first: str, last: str) -> str:
        user = self.rng.choice([f"{first} dot {last}", f"{first} {last}", f"{first[0]} {last}",
                                f"{first} underscore {self.rng.randrange(10, 99)}"])
        return f"{user} at {self.rng.choice(_DOMAINS)} dot {self.rng.choice(_TLDS)}".lower()

    def address(self) -> tuple[str, str]:
        number = self.rng.choice([self.rng.randrange(2, 99), self.rng.randrange(100, 999)])
        street = f"{self._new()} {self.rng.choice(_STREETS)}"
        spoken = _small(number) if number < 100 else f"{_UNITS[number // 100]} {_small(number % 100)}"
        if self.rng.random() < 0.3:
            return f"{spoken} {street}, apartment {self.rng.randrange(2, 9)}{self.rng.choice('ABCD')}", "with unit"
        return f"{spoken} {street}", ""

    def url(self, word: str) -> str:
        form = self.rng.randrange(3)
        if form == 0:
            return f"www dot {word.lower()} dot {self.rng.choice(_TLDS)}"
        if form == 1:
            return f"{word.lower()} writes dot com"
        return f"{word.lower()} dot {self.rng.choice(['net', 'org'])} slash blog"

    def record(self) -> tuple[str, str]:
        kind = self.rng.randrange(3)
        if kind == 0:
            return f"{spoken_digits(self.rng, 3, oh=False)}, {spoken_digits(self.rng, 2, oh=False)}, " \
                   f"{spoken_digits(self.rng, 4, oh=False)}", "social security"
        if kind == 1:
            return f"{self.rng.choice('ABCHKMRTW')} {spoken_digits(self.rng, 7)}", "insurance member"
        return spoken_digits(self.rng, 8), "medical record"


# Templates: (role, text with {slots}); a slot is CATEGORY[:tag] and its value is drawn when the sentence is made.
# Each half has its own templates (see the module docstring).
_TEMPLATES = {
    "tune": [
        ("client", "My sister {NAME:first} {NAME:last} moved to {PLACE} last spring."),
        ("therapist", "When did you last speak with {NAME:first}?"),
        ("client", "It was on {DATE}, right after my shift."),
        ("client", "My grandfather is {AGE} now and he still lives alone."),
        ("therapist", "Is {PHONE} still the best number to reach you?"),
        ("client", "You can email me at {EMAIL} if anything changes."),
        ("client", "We live at {ADDRESS} in {PLACE}."),
        ("client", "My husband, {NAME:first}, writes a blog at {URL}."),
        ("therapist", "For the insurance form, your number is {ID}, correct?"),
        ("client", "Doctor {NAME:last} saw me on {DATE}."),
        ("client", "It's {NAME:spelled_last}, spelled {SPELL}."),
        ("therapist", "How did it feel when {NAME:first} {NAME:last} said that?"),
        ("client", "My boss {NAME:first} called me at home."),
        ("therapist", "And your daughter is starting school on {DATE}?"),
        ("client", "The clinic in {PLACE} gave me the number {PHONE}."),
        ("therapist", "That sounds really hard. What helped you get through the week?"),
    ],
    "report": [
        ("client", "I grew up with {NAME:first} {NAME:last} in {PLACE}."),
        ("therapist", "Have you told {NAME:first} how you feel about it?"),
        ("client", "The accident happened on {DATE}, and I still dream about it."),
        ("client", "My great aunt turned {AGE} in the summer."),
        ("client", "My cell is {PHONE}, you can text me there."),
        ("therapist", "I have your email as {EMAIL}, is that right?"),
        ("client", "I moved into {ADDRESS} after the divorce."),
        ("client", "I post my drawings on {URL} sometimes."),
        ("client", "My member number is {ID}."),
        ("therapist", "Did {NAME:first} come with you to the appointment on {DATE}?"),
        ("client", "My last name is {NAME:spelled_last}, that's {SPELL}."),
        ("client", "Our neighbour {NAME:first} {NAME:last} called the police."),
        ("therapist", "Last time you mentioned your friend {NAME:first} from work."),
        ("client", "My mother was born on {DATE} in {PLACE}."),
        ("client", "My son's teacher, Mrs. {NAME:last}, asked for a meeting."),
        ("therapist", "Let's take a breath. What do you notice in your body right now?"),
    ],
    # The fresh report half (deid11-deid15), written after the first ten had been used for tuning.
    "fresh": [
        ("client", "My brother {NAME:first} {NAME:last} drove down from {PLACE} to see me."),
        ("therapist", "What do you think {NAME:first} needed from you that night?"),
        ("client", "We had the funeral on {DATE}, and I barely remember it."),
        ("client", "My grandmother is {AGE} and she still does the crossword every morning."),
        ("therapist", "If I need to reschedule, should I call {PHONE}?"),
        ("client", "My work address is {EMAIL}, but I rarely check it."),
        ("client", "Our new place is {ADDRESS}, near the park."),
        ("client", "My daughter started a site called {URL} for her photos."),
        ("therapist", "The billing office has your policy number as {ID}."),
        ("client", "I went to see {NAME:first} on {DATE} and we argued again."),
        ("client", "The surname is {NAME:spelled_last}, let me spell it, {SPELL}."),
        ("therapist", "You said your coworker {NAME:first} {NAME:last} keeps criticising you."),
        ("client", "Professor {NAME:last} wrote me a reference last year."),
        ("client", "I was living in {PLACE} when my father died on {DATE}."),
        ("therapist", "How are things between you and {NAME:first} since the move?"),
        ("therapist", "I'm hearing a lot of guilt. Can we stay with that for a moment?"),
    ],
    # The report half (deid16-deid20), written after deid11-deid15's misses had been read.
    "report2": [
        ("client", "My roommate {NAME:first} {NAME:last} grew up in {PLACE}, like me."),
        ("therapist", "Does {NAME:first} know that you have been feeling this way?"),
        ("client", "My last panic attack was on {DATE}, at the grocery store."),
        ("client", "My uncle just turned {AGE}, and he forgets my name now."),
        ("client", "The pharmacy called me back at {PHONE} yesterday."),
        ("therapist", "Should I send the worksheet to {EMAIL}?"),
        ("client", "I am staying with a friend at {ADDRESS} for now."),
        ("client", "My ex keeps posting about me on {URL}."),
        ("therapist", "Your record number with us is {ID}."),
        ("client", "{NAME:first} and I broke up on {DATE}, two weeks before the wedding."),
        ("client", "It's {NAME:spelled_last}, I'll spell it for you, {SPELL}."),
        ("therapist", "What happened after {NAME:first} {NAME:last} left the party?"),
        ("client", "Coach {NAME:last} told me I was off the team."),
        ("client", "We drove to {PLACE} on {DATE} to scatter the ashes."),
        ("therapist", "It sounds like {NAME:first} matters a great deal to you."),
        ("client", "Honestly, I just want to sleep through the night again."),
    ],
}


def _fill(template: str, draw: _Draw, cast: dict[str, str]) -> tuple[str, tuple[Planted, ...]]:
    """The sentence text and its planted identifiers, slot by slot."""
    text, planted = "", []
    pos = 0
    spelled_source = ""
    for match in re.finditer(r"\{(\w+)(?::(\w+))?\}", template):
        text += template[pos:match.start()]
        category, tag = match.group(1), match.group(2) or ""
        value, kind = _value(category, tag, draw, cast)
        if tag == "spelled_last":
            spelled_source = value
        if category == "SPELL":
            value, kind, category = draw.spelled(spelled_source), "spelled", "NAME"
        planted.append(Planted(category, len(text), len(text) + len(value), kind))
        text += value
        pos = match.end()
    text += template[pos:]
    return text, tuple(planted)


def _value(category: str, tag: str, draw: _Draw, cast: dict[str, str]) -> tuple[str, str]:
    if category == "NAME":
        if tag == "first":
            cast.setdefault("first", draw.first())
            return cast["first"], ""
        if tag == "last":
            if "last" not in cast:
                cast["last"], cast["last_kind"] = draw.last()
            return cast["last"], cast.get("last_kind", "")
        if tag == "spelled_last":
            value, kind = draw.last()
            return value, kind
    if category == "PLACE":
        return draw.place()
    if category == "DATE":
        return draw.date()
    if category == "AGE":
        return draw.age(), ""
    if category == "PHONE":
        return draw.phone()
    if category == "EMAIL":
        return draw.email(draw.first(), draw.last()[0]), ""
    if category == "ADDRESS":
        return draw.address()
    if category == "URL":
        return draw.url(draw.first()), ""
    if category == "ID":
        return draw.record()
    if category == "SPELL":
        return "", "spelled"
    raise ValueError(f"unknown slot {category}:{tag}")


def dialogue(index: int, exclude: frozenset[str] = frozenset()) -> Dialogue:
    """Dialogue ``index`` (0-based), drawing no name in ``exclude``. All but the last five are the tune half: 0-9
    (even ones with the "tune" templates and voices, odd ones with the first report half's) and 10-14 (the first
    fresh report half's templates and voices); 15-19 are the report half."""
    generation = 0 if index < 10 else 1 if index < 15 else 2
    half = "report" if generation == 2 else "tune"
    if generation == 2:
        voices, key = REPORT_VOICES[index - 15], "report2"
    elif generation == 1:
        voices, key = OLD_FRESH_VOICES[index - 10], "fresh"
    else:
        voices, key = (TUNE_VOICES, "tune") if index % 2 == 0 else (OLD_REPORT_VOICES, "report")
        voices = voices[index // 2]
    seed = 16_000 + index
    rng = random.Random(seed)
    draw = _Draw(rng, generation, exclude)
    templates = list(_TEMPLATES[key])
    rng.shuffle(templates)
    sentences = []
    cast: dict[str, str] = {}
    for i, (role, template) in enumerate(templates):
        if i % 4 == 0:  # a new person every few sentences; a name said again in between is the same person
            cast = {}
        text, planted = _fill(template, draw, cast)
        voice = voices[0] if role == "therapist" else voices[1]
        sentences.append(Sentence(voice, role, text, planted))
    return Dialogue(f"deid{index + 1:02d}", half, voices[0], voices[1], seed, tuple(sentences))


def names(dialogues) -> frozenset[str]:
    """Every word of every planted name, e-mail user, URL word and made-up place or street in ``dialogues``."""
    return frozenset(w.strip(",.").capitalize() for d in dialogues for s in d.sentences for p in s.planted
                     for w in re.split(r"[ \-]", s.text[p.start:p.end]) if w.isalpha())


_FIRST_TEN = tuple(dialogue(i) for i in range(10))
_FIRST_FIFTEEN = _FIRST_TEN + tuple(dialogue(i, names(_FIRST_TEN)) for i in range(10, 15))
DIALOGUES = _FIRST_FIFTEEN + tuple(dialogue(i, names(_FIRST_FIFTEEN)) for i in range(15, 20))


def half(name: str) -> list[Dialogue]:
    """The dialogues of the ``tune`` or the ``report`` half."""
    return [d for d in DIALOGUES if d.half == name]


def planted_count(dialogues=DIALOGUES) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORIES, 0)
    for d in dialogues:
        for s in d.sentences:
            for p in s.planted:
                counts[p.category] += 1
    return counts


def _short() -> Dialogue:
    """The short dialogue of the tests (``tests/deid``): two names, two phone numbers, two dates and a spelled
    name, a speaker per line; written by hand, not drawn, and in neither half of the benchmark."""
    lines = [
        ("therapist", "Good morning. Is five five five, two one four, eight eight three nine still your cell number?",
         [("PHONE", "five five five, two one four, eight eight three nine", "ten digits")]),
        ("client", "Yes. My sister Marisol Quennerby called me on March third.",
         [("NAME", "Marisol", ""), ("NAME", "Quennerby", ""), ("DATE", "March third", "month day")]),
        ("therapist", "How did that go with Marisol?", [("NAME", "Marisol", "")]),
        ("client", "Not great. I am moving to Pelham Falls on the twelfth of June.",
         [("PLACE", "Pelham Falls", "made-up"), ("DATE", "the twelfth of June", "day of month")]),
        ("therapist", "Doctor Okonkwo says your new number is six one seven, five five five, oh one nine two.",
         [("NAME", "Okonkwo", ""), ("PHONE", "six one seven, five five five, oh one nine two", "ten digits")]),
        ("client", "That's right. Quennerby is spelled Q U E N N E R B Y.",
         [("NAME", "Quennerby", ""), ("NAME", "Q U E N N E R B Y", "spelled")]),
    ]
    voices = {"therapist": "af_bella", "client": "am_michael"}
    sentences = []
    for role, text, planted in lines:
        found, cursor = [], 0
        for category, surface, kind in planted:
            start = text.index(surface, cursor)
            found.append(Planted(category, start, start + len(surface), kind))
            cursor = start + len(surface)
        sentences.append(Sentence(voices[role], role, text, tuple(found)))
    return Dialogue("deid-short", "test", voices["therapist"], voices["client"], 0, tuple(sentences))


SHORT = _short()
