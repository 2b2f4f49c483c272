"""Recognisers for identifiers as they appear in spoken transcripts, as Presidio ``EntityRecognizer`` classes.

Presidio's own recognisers expect written text ("555-1234", "jane.doe@gmail.com", "May 3rd"). A transcript has
what people say and what Whisper writes for it, which is often neither: "five five five, one two three four",
"jane dot doe at gmail dot com", "March third", "that's S-M-I-T-H", "my grandfather is 90 now". Each class here
finds one of those shapes and reports it under one of our categories (``therapybridge.deid.model.CATEGORIES``);
the engine (``engine.py``) maps Presidio's own entity names onto the same categories.

Each class only finds; deciding overlaps and replacing is the transcript pass's work (``transcript.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer

_WORD_DIGITS = {"zero": 1, "oh": 1, "o": 1, "one": 1, "two": 1, "three": 1, "four": 1, "five": 1, "six": 1,
                "seven": 1, "eight": 1, "nine": 1}
_DIGIT_TOKEN = r"(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
_SEPARATOR = r"(?:[ \t]*[,.\-–/()][ \t]*|[ \t]+)"
_DIGIT_RUN = re.compile(
    rf"(?<![\w$-])(?:\(\s*)?{_DIGIT_TOKEN}(?:{_SEPARATOR}{_DIGIT_TOKEN})*(?![\w])", re.IGNORECASE)
_ID_CONTEXT = re.compile(
    r"\b(?:social|security|ssn|insurance|insurer|member|policy|record|mrn|chart|account|id|identification|"
    r"licen[cs]e|passport|case|patient|medicaid|medicare|group|claim)\b", re.IGNORECASE)
_PHONE_CONTEXT = re.compile(r"\b(?:phone|cell|mobile|call|calls|called|text|texts|reach|landline|fax|extension|"
                            r"number|numbers|dial|ring)\b", re.IGNORECASE)
_MONTH_NAMES = ("January|February|March|April|May|June|July|August|September|October|November|December|"
                "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_MONTH_BEFORE = re.compile(rf"\b(?:{_MONTH_NAMES})\.?\s*$")
_LETTER_PREFIX = re.compile(r"(?:\b[A-Z]|\bMRN|\bID)[ \t]*[-#:]?[ \t]*$")
# A member or record number Whisper wrote with its letters: "R3051038", "W -1 -1 -3 -2 -4 -0 -2", "MRN-44729".
_PREFIXED_NUMBER = re.compile(r"(?<![\w-])(?:[A-Z]{1,3}|MRN|ID)(?:[ \t]*[-#:.]?[ \t]*\d){5,}(?![\w])")

_ORDINAL = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
            r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|"
            r"(?:twenty|thirty)[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
            r"[0-3]?\d(?:st|nd|rd|th)?)")
_NUMBER_WORD = (r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
                r"ninety|hundred|thousand)\b")
_YEAR = (rf"(?:(?:1[89]|20)\d\d|(?:nineteen|twenty)[- ](?:oh[- ]\w+|hundred|{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})?)"
         rf"|two[- ]thousand(?:[- ]and)?(?:[- ]{_NUMBER_WORD}){{0,2}})")
_MONTH = rf"(?:{_MONTH_NAMES})\b\.?"
_SPOKEN_DATE = re.compile(
    rf"(?i:\b(?:the\s+)?{_ORDINAL}\s+of\s+)(?:{_MONTH})(?i:,?\s+{_YEAR})?"  # the third of March (1987)
    rf"|\b{_MONTH}\s+(?i:(?:the\s+)?{_ORDINAL}\b)(?i:,?\s+{_YEAR})?"  # March third (, 1987) / March 3rd
    rf"|\b{_MONTH}(?i:,?\s+(?:of\s+)?{_YEAR})"  # March 1987
    r"|\b[0-3]?\d[/.][01]?\d[/.](?:\d\d){1,2}\b"  # 3/14/1987
    rf"|(?i:\bborn\s+in\s+){_YEAR}",  # born in 1987 (a bare year is no identifier; a birth year with it is)
)
# What makes a date the NER found identifying; "last week", "two years", "every morning" are not.
DATE_SPECIFIC = re.compile(
    rf"\b(?:{_MONTH_NAMES})\b|\b(?:1[89]|20)\d\d\b|\b(?:nineteen|two thousand)\b|\b\d{{1,2}}[/.]\d{{1,2}}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\b|\b\d{1,2}:\d\d\b|\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)|o'clock", re.IGNORECASE)

_AGE = re.compile(
    r"(?<![\w.,-])(?:9\d|1[01]\d|ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|(?:a|one)[- ]hundred(?:[- ]and)?(?:[- ](?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?)"
    r"(?![\w.,]\d)", re.IGNORECASE)
_AGE_BEFORE = re.compile(r"\b(?:turn|turns|turned|turning|is|was|'s|aged?|at|reached|reach|lived to|made it to|"
                         r"be|being|now|almost|nearly|over|past)\W*$", re.IGNORECASE)
_AGE_AFTER = re.compile(r"^\W*(?:years?[- ]old|year-old|th\b|st\b|nd\b|rd\b|birthday|now|this year|last|next|"
                        r"and still|and he|and she|in the|years? of age)", re.IGNORECASE)
_NOT_AGE_AFTER = re.compile(r"^\s*(?:percent|%|minutes?|mins?|seconds?|dollars|bucks|miles|pounds|lbs|kilos|"
                            r"times|days|hours|degrees|mph|cents|people|pages|k\b|grand)", re.IGNORECASE)

_TITLE = (r"(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Nurse|Aunt|Auntie|Uncle|Grandma|Grandpa|Granny|Nana|"
          r"Coach|Pastor|Father|Rabbi|Imam|Officer|Judge|Detective|Sergeant)")
_NAME_TOKEN = r"[A-Z][\w'’-]*[A-Za-z]"
_TITLED = re.compile(rf"\b{_TITLE}\.?\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)")
_RELATION = (r"(?:sister|brother|mother|mom|mum|father|dad|husband|wife|partner|boyfriend|girlfriend|son|daughter|"
             r"friend|boss|neighbou?r|teacher|coworker|co-worker|colleague|cousin|aunt|uncle|grandmother|"
             r"grandfather|grandma|grandpa|niece|nephew|fianc[eé]e?|ex|manager|roommate|therapist|doctor|"
             r"psychiatrist|counsel?lor|sponsor|stepdad|stepmom|stepfather|stepmother|kid|child|baby|dog|cat|"
             r"supervisor|landlord|lawyer|mentor|pastor|wife's|husband's|name|names|named|called)")
_RELATED = re.compile(
    rf"\b(?i:my|our|his|her|their|your|the|a)\s+(?:\w+\s+)?(?i:{_RELATION})(?:\s+is|\s+was|'s)?,?\s+"
    rf"({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
    rf"|\b(?i:named|called|name is|name's|names are)\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)")
_SPELLED = re.compile(r"(?<![\w'’])[A-Z]{1,4}(?:(?:[ \t]*[-.,][ \t]*|[ \t]+)[A-Z]{1,4}(?![\w'’])){1,}\.?")
_CAPS_WORD = re.compile(r"(?<![\w'’])[A-Z]{4,}(?![\w'’])")
_SPELL_BEFORE = re.compile(r"(?:spel|spil|spell|spells|spelled|spelt|spelling|spiled|that's|that is|it's|it is)\W*$",
                           re.IGNORECASE)
# Letters Whisper writes as the words they sound like inside a spelling ("D or I C-K-A"); how many tokens apart
# from the spelling's run a further letter may be.
_LETTER_WORDS = r"(?:or|are|ar|you|see|sea|be|bee|oh|why|eye|tea|tee|pee|pea|jay|kay|el|em|en|ess|ex|dee|gee|cue|queue)"
_MAX_LETTERS_APART = 4
# What a town's name ends in, also when Whisper writes it in lower case; "park", "lake", "city" and "beach" are
# left out there, being as often the place's kind as its name ("a water park").
_PLACE_SUFFIX = r"(?:falls|springs|heights|hills|valley|township|village|county|bay|harbor|harbour)"
# Words that begin an ordinary phrase, not a town's name ("in the hills", "in every county").
_NOT_DETERMINER = (r"(?!(?:the|a|an|my|our|your|his|her|their|its|this|that|these|those|every|any|each|some|no|"
                   r"another|which|what|whose|and|or|of|in|on|at|to)\b)")
_TITLECASE_RUN = re.compile(rf"\b{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})*")

_COUNT_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
               r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)")
_STREET = (r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Boulevard|Blvd|Way|Terrace|"
           r"Circle|Highway|Hwy|Parkway|Square|Crescent|Close|Row|Trail|Alley|Grove|Gardens)")
_ADDRESS = re.compile(
    rf"(?:\b\d+[A-Za-z]?|(?i:\b{_COUNT_WORD}(?:[- ](?:and[- ])?{_COUNT_WORD})*)),?[ \t]+"
    rf"(?:[A-Z][\w'’-]*[ \t]+){{1,3}}{_STREET}\b\.?"
    r"(?:,?[ \t]*(?i:apartment|apt|unit|suite|flat|number|#)\.?[ \t]*[\w-]+(?:[ \t]+[A-Z]\b)?)?"
    r"|(?i:\bp\.?\s?o\.?\s+box\s+\d+)")

# The recogniser often writes a made-up street name in lower case ("30 per lobby drive", a miss of the tune half):
# a house number in digits, one or two words and a street type. Units and function words are not street names,
# so "a 20 minute drive" or "the 3 of us drive" is not an address.
_NOT_STREET_WORD = (r"(?!(?:minutes?|mins?|hours?|hrs?|miles?|kilometers?|km|seconds?|days?|weeks?|months?|years?|"
                    r"times?|of|us|we|you|they|them|in|on|at|to|the|a|an|and|or|more|other|all|who|that|people|kids)\b)")
_ADDRESS_LOWER = re.compile(
    rf"\b\d+[A-Za-z]?(?:[ \t]+{_NOT_STREET_WORD}[a-z][\w'’-]*){{1,2}}[ \t]+"
    r"(?:road|street|avenue|lane|drive|court|boulevard|terrace|parkway|crescent|grove)\b")

_LIVE_AT = re.compile(
    rf"\b(?:live|lives|living|lived|moved|move|moving|staying|stay|stayed|address is|address,)\s+(?:at|on|into|to)?\s*"
    rf"((?:\d+[A-Za-z]?|(?i:{_COUNT_WORD}(?:[- ](?:and[- ])?{_COUNT_WORD})*))[\w\s'’-]{{2,40}}?)(?=[.,;?!]|$)",
    re.IGNORECASE)
_UNIT = re.compile(r"\b(?:apartment|apt|unit|suite|flat)\.?\s+(?:number\s+)?[\w-]*\d[\w-]*\b", re.IGNORECASE)

_TLD = r"(?:com|net|org|edu|gov|io|co|uk|us|ca|me|info|biz|ly|app|dev)"
_DOT = r"(?:[ \t]*\.[ \t]*|[ \t]+dot[ \t]+|[ \t]+period[ \t]+)"
_JOIN = r"(?:[ \t]*[._\-][ \t]*|[ \t]+(?:dot|underscore|dash|hyphen|period)[ \t]+)"
_SPOKEN_EMAIL = re.compile(
    rf"(?<!['’])\b([a-z0-9]+(?:{_JOIN}[a-z0-9]+){{0,3}}(?:[ \t]+[a-z0-9]+(?:{_JOIN}[a-z0-9]+){{0,3}})?)"
    rf"(?:[ \t]*@[ \t]*|[ \t]+at[ \t]+)([a-z0-9]+(?:[ \t]+[a-z0-9]+)?(?:{_DOT}[a-z0-9]+)*?){_DOT}{_TLD}\b",
    re.IGNORECASE)
_SPOKEN_URL = re.compile(
    rf"\b(?:(?:https?|www){_DOT}?[ \t]*)?((?:[a-z0-9-]+(?:{_DOT}|[ \t]+)){{0,3}}[a-z0-9-]+){_DOT}{_TLD}\b"
    r"(?:(?:[ \t]*[/-][ \t]*|[ \t]+slash[ \t]+)[a-z0-9]+)*", re.IGNORECASE)
# Words that begin a sentence around a spoken address but are not part of it.
_LEAD_WORDS = frozenset("""a an and as at blog by check email e-mail mail go is it it's its me my of on or our
page post site the their to visit was website write writes you your address called on at sometimes is""".split())


def _result(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    return RecognizerResult(
        entity_type=entity, start=start, end=end, score=score,
        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                              RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id},
    )


class _SpokenRecognizer(EntityRecognizer):
    """A recogniser of one spoken shape: subclasses implement ``find(text) -> [(start, end, entity, score)]``."""

    ENTITIES: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(supported_entities=list(self.ENTITIES), supported_language="en", name=type(self).__name__)

    def load(self) -> None:  # nothing to load: regular expressions only
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [_result(self, entity, start, end, score) for start, end, entity, score in self.find(text)
                if not entities or entity in entities]

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        raise NotImplementedError


class SpokenNumberRecognizer(_SpokenRecognizer):
    """Runs of at least five digits, written or said one by one ("five five five, oh one nine two", "555-0192").

    A run is a phone number (``PHONE``) when phone words come before it ("call", "cell", "number") or, with no
    context, when it has 7, 10 or 11 digits; otherwise, or after record words ("social security", "member",
    "insurance", "record", "MRN"), an identifying number (``ID``). A run right after a month name is a date's.
    """

    ENTITIES = ("PHONE", "ID")

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _DIGIT_RUN.finditer(text):
            start, end = match.start(), match.end()
            digits = _digit_count(match.group(0))
            before = text[max(0, start - 60):start]
            if digits < 5 or _MONTH_BEFORE.search(before):
                continue
            prefix = _LETTER_PREFIX.search(before)  # "A 1234567", "MRN 44729": the letters belong to the number
            if prefix:
                start -= len(prefix.group(0))
            near = before[-40:]
            if _ID_CONTEXT.search(near):
                entity = "ID"
            elif _PHONE_CONTEXT.search(before) or (digits in (7, 10, 11) and not prefix):
                entity = "PHONE"
            else:
                entity = "ID"
            yield start, end, entity, 0.9
        for match in _PREFIXED_NUMBER.finditer(text):  # the run above refuses a digit glued to a letter or "-"
            yield match.start(), match.end(), "ID", 0.9


def _digit_count(run: str) -> int:
    count, repeat = 0, 1
    for token in re.findall(r"\d+|[a-z]+", run.lower()):
        if token.isdigit():
            count += len(token)
        elif token == "double":
            repeat = 2
            continue
        elif token == "triple":
            repeat = 3
            continue
        elif token in _WORD_DIGITS:
            count += repeat
        repeat = 1
    return count


class SpokenDateRecognizer(_SpokenRecognizer):
    """Dates as said: "March third", "the fourteenth of June, nineteen eighty-four", "June 1987", "born in 1962"."""

    ENTITIES = ("DATE",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _SPOKEN_DATE.finditer(text):
            yield match.start(), match.end(), "DATE", 0.9


class AgeOver89Recognizer(_SpokenRecognizer):
    """Ages of 90 and over ("she's ninety-three", "turned 91"), which HIPAA counts as identifying; a number of
    90-119 is an age when age words come before or after it and no unit ("minutes", "percent") follows."""

    ENTITIES = ("AGE",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _AGE.finditer(text):
            before, after = text[max(0, match.start() - 30):match.start()], text[match.end():match.end() + 30]
            if _NOT_AGE_AFTER.search(after):
                continue
            if _AGE_BEFORE.search(before) or _AGE_AFTER.search(after):
                yield match.start(), match.end(), "AGE", 0.9


class SpelledNameRecognizer(_SpokenRecognizer):
    """Names spelled out letter by letter ("J O N E S", "S-M-I-T-H"), and a spelled name Whisper ran together
    into one capitalised word after "spelled" or "that's" ("SMITH")."""

    ENTITIES = ("NAME",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _SPELLED.finditer(text):
            pieces = re.findall(r"[A-Z]+", match.group(0))
            spelled = (any(len(p) == 1 for p in pieces) and len(pieces) >= 3) or sum(map(len, pieces)) >= 5
            after_spell = _SPELL_BEFORE.search(text[max(0, match.start() - 20):match.start()])
            if sum(map(len, pieces)) >= 3 and (spelled or after_spell):  # "CR OSS", "THUL-A-W-I-C-K" too
                yield _letters_before(text, match.start()), _letters_after(text, match.end()), "NAME", 0.9
                yield from _spelled_word_before(text, match.start(), "".join(pieces).lower())
        spans = [(m.start(), m.end()) for m in _SPELLED.finditer(text)]
        for match in _CAPS_WORD.finditer(text):
            if any(a <= match.start() < b for a, b in spans):
                continue
            if _SPELL_BEFORE.search(text[max(0, match.start() - 20):match.start()]):
                yield match.start(), match.end(), "NAME", 0.85


def _letters_before(text: str, start: int) -> int:
    """``start`` moved left over more letters of the spelling that Whisper wrote apart from it, some as words
    ("D or I C-K-A" for D-A-I-C-K-A): a letter word counts only with a capital letter beyond it."""
    edge = start
    for _ in range(_MAX_LETTERS_APART):
        token = re.search(rf"(?<![\w'’])(?:[A-Z]|(?i:{_LETTER_WORDS}))[ \t]*[-.,]?[ \t]*$", text[:edge])
        if token is None:
            break
        edge = token.start()
        if re.match(r"[A-Z](?![\w'’])", text[edge:]):
            start = edge
    return start


def _letters_after(text: str, end: int) -> int:
    """``end`` moved right over more letters of the spelling, as :func:`_letters_before` does on the left."""
    edge = end
    for _ in range(_MAX_LETTERS_APART):
        token = re.match(rf"[ \t]*[-.,]?[ \t]*((?:[A-Z]|(?i:{_LETTER_WORDS})))(?![\w'’])", text[edge:])
        if token is None:
            break
        edge += token.end()
        if re.fullmatch(r"[A-Z]", token.group(1)):
            end = edge
    return end


def _spelled_word_before(text: str, start: int, letters: str) -> Iterable[tuple[int, int, str, float]]:
    """The name said just before its spelling ("It's cross, spelled C R O S S"), whatever its case: a word of the
    few before with the spelling's first letter and about its length."""
    window = max(0, start - 50)
    for word in list(re.finditer(r"[A-Za-z][A-Za-z'’]+", text[window:start]))[-3:]:  # "Lane, spelled": close by
        bare = _bare(word.group(0))
        if bare == letters or (len(bare) >= 3 and bare[0] == letters[:1] and abs(len(bare) - len(letters)) <= 2
                               and bare not in _FUNCTION_WORDS and not _SPELL_BEFORE.search(bare)):
            yield window + word.start(), window + word.end(), "NAME", 0.8


class ContextNameRecognizer(_SpokenRecognizer):
    """Capitalised words after a title ("Dr. Okafor", "Mrs. Lindqvist") or a relation ("my sister Ana", "my
    boss, Teodor", "her name is Priya"): the context says it is a person whatever the word is."""

    ENTITIES = ("NAME",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for pattern in (_TITLED, _RELATED):
            for match in pattern.finditer(text):
                group = next(g for g in range(1, (match.lastindex or 1) + 1) if match.group(g))
                yield match.start(group), match.end(group), "NAME", 0.8


class UnknownWordRecognizer(_SpokenRecognizer):
    """Capitalised words that are not English words (a rare surname, a small town): runs of capitalised words
    containing at least one word unknown to the lexicon. A run after "in", "from", "to" … is a ``PLACE``, else a
    ``NAME``. The lexicon is spaCy's English lemmatizer tables (about 88,000 words), no list of names."""

    ENTITIES = ("NAME", "PLACE")
    _PLACE_BEFORE = re.compile(r"\b(?:in|from|to|near|into|outside|around|visit|visited|of|at)\s*$", re.IGNORECASE)
    # After a capitalised unknown word, a town word in any case (one lower-case word may come between), or one of
    # the words that name a place's kind as often as a town when it is capitalised ("Cedar Park").
    _PLACE_AFTER = re.compile(rf"^(?:\s+(?:City|Beach|Park|Lake)\b|(?:\s+{_NOT_DETERMINER}[a-z]+)?\s+(?i:{_PLACE_SUFFIX})\b)")

    def __init__(self, is_word: Callable[[str], bool], is_adjective: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        self.is_word = is_word
        self.is_adjective = is_adjective or is_word

    def _known(self, word: str) -> bool:
        """Whether ``word`` or what it is inflected from is in the lexicon; "-ly" makes adverbs of adjectives, so
        "chartly" (a surname Whisper wrote in lower case) is no word although "chart" is."""
        return any((self.is_adjective if from_adjective else self.is_word)(stem)
                   for stem, from_adjective in _stems(word))

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        yield from self._titlecase(text)
        yield from self._lower_case(text)
        for match in _FRAGMENT.finditer(text):  # "Wau-Daius", "how-ko": a word Whisper wrote in pieces
            pieces = [_bare(p) for p in re.split(r"[ \t]*-", match.group(0))[1:]]
            unknown = any(len(p) >= 2 and not self._known(p) for p in pieces)
            if (unknown or len(pieces[-1]) <= 2) and _bare(match.group(0)) not in _FILLERS:  # "-ko": a piece
                yield match.start(), match.end(), "NAME", 0.55

    def _lower_case(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        """Names Whisper wrote in lower case ("have you told niprington"): words unknown to the lexicon."""
        for match in _LOWER_WORD.finditer(text):
            word = _bare(match.group(0))
            if len(word) < 3 or word in _FILLERS or self._known(word):
                continue
            start, end = match.start(), match.end()
            after = self._PLACE_AFTER.search(text[end:].title()[:12])
            if after:
                end += after.end()
            place = after or self._PLACE_BEFORE.search(text[max(0, start - 12):start])
            yield start, end, "PLACE" if place else "NAME", 0.55

    def _titlecase(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _TITLECASE_RUN.finditer(text):
            words = list(re.finditer(r"\S+", match.group(0)))
            if all(self.is_word(_bare(w.group(0))) or re.fullmatch(_TITLE, w.group(0)) for w in words):
                continue
            while words and _bare(words[0].group(0)) in _FUNCTION_WORDS:  # "It's Fegoucka": the name is the rest
                words.pop(0)
            if not words:
                continue
            start, end = match.start() + words[0].start(), match.start() + words[-1].end()
            before = text[max(0, start - 12):start]
            after = self._PLACE_AFTER.search(text[end:])
            if after:  # "Clayview sash springs": the town's last words, written in lower case
                end += after.end()
            place = self._PLACE_BEFORE.search(before) or after
            yield start, end, "PLACE" if place else "NAME", 0.6


_LOWER_WORD = re.compile(r"(?<![\w'’@.-])[a-z][a-z'’]+(?![\w@-])")
_FRAGMENT = re.compile(r"(?<![\w'’@.-])[A-Za-z][\w'’]*(?:[ \t]*-[A-Za-z]+)+\b(?!-)")
_FILLERS = frozenset("""um umm uh uhh hmm mhm mm uh-huh huh yeah yep nope gonna wanna gotta kinda sorta dunno
okay ok alright uh-oh uh-huh mm-hmm""".split())
_FUNCTION_WORDS = frozenset("""i it it's its i'm i've we you he she they my our your his her their the a an and but
so or if when then that this what how why who oh okay yes no well just""".split())


def _stems(word: str) -> list[tuple[str, bool]]:
    """``word`` and what it may be inflected from, each with whether it must be an adjective for that (the stems
    of "-ly"): the lexicon holds lemmas ("call"), speech has "called", "calling", "happier", "quickly"."""
    stems = [(word, False)]
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", ""),
                         ("ing", ""), ("ing", "e"), ("ier", "y"), ("iest", "y"), ("er", ""), ("est", ""),
                         ("ily", "y"), ("ly", ""), ("ness", ""), ("ment", ""), ("n't", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem, adverb = word[:len(word) - len(suffix)] + repl, suffix.endswith("ly")
            stems.append((stem, adverb))
            if len(stem) > 2 and stem[-1] == stem[-2]:  # "stopped" -> "stopp" -> "stop"
                stems.append((stem[:-1], adverb))
    return stems


def _bare(word: str) -> str:
    return re.sub(r"(?:'s|’s|')$", "", word).lower()


class PlaceContextRecognizer(_SpokenRecognizer):
    """Capitalised words after "moved to", "lives in", "grew up in", "from", "near" …: a town even when it is also
    an English word or spaCy misses it ("moved to Asheville"); and, in any case, one or two words there that end
    in a word towns end in ("living in till heights", a town Whisper wrote in lower case)."""

    ENTITIES = ("PLACE",)
    _PATTERN = re.compile(
        rf"\b(?:in|from|to|near|outside|around|visit|visited|towards?)\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}})")
    _SUFFIXED = re.compile(rf"\b(?i:in|from|near|outside|around|visit|visited)\s+"
                           rf"((?i:{_NOT_DETERMINER}[a-z][\w'’-]*\s+){{1,2}}(?i:{_PLACE_SUFFIX}))\b")
    _NOT_PLACES = frozenset(f"""mom mum dad mother father god jesus christ christmas easter english spanish french
    me him her them therapy church school work college university class group i i'm i've okay {_MONTH_NAMES.replace('|', ' ')}
    monday tuesday wednesday thursday friday saturday sunday""".lower().split())

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in self._PATTERN.finditer(text):
            words = match.group(1).split()
            if _bare(words[0]) in self._NOT_PLACES or re.fullmatch(_TITLE, words[0].rstrip(".")):
                continue
            yield match.start(1), match.end(1), "PLACE", 0.5
        for match in self._SUFFIXED.finditer(text):
            yield match.start(1), match.end(1), "PLACE", 0.5


class SpokenEmailRecognizer(_SpokenRecognizer):
    """E-mail addresses as said ("jane dot doe at gmail dot com", "k underscore m at proton mail dot com")."""

    ENTITIES = ("EMAIL",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _SPOKEN_EMAIL.finditer(text):
            start = _skip_lead_words(text, match.start(), match.start(2))
            if start is not None:
                yield start, match.end(), "EMAIL", 0.95


class SpokenUrlRecognizer(_SpokenRecognizer):
    """Web addresses as said ("www dot quill dot com", "annas recipes dot net slash blog")."""

    ENTITIES = ("URL",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _SPOKEN_URL.finditer(text):
            if match.group(0).lower().startswith(("www", "http")):
                yield match.start(), match.end(), "URL", 0.9
                continue
            start = _skip_lead_words(text, match.start(1), match.end(1))
            if start is not None:
                yield start, match.end(), "URL", 0.85


def _skip_lead_words(text: str, start: int, limit: int) -> int | None:
    """``start`` moved past leading function words ("email me at", "on"); None when nothing is left."""
    for word in re.finditer(r"\S+", text[start:limit]):
        if word.group(0).lower().strip(",.") not in _LEAD_WORDS:
            return start + word.start()
    return None


class SpokenAddressRecognizer(_SpokenRecognizer):
    """Street addresses, said or written ("forty-two Wexley Road, apartment 3B", "118 Corbin St"), and PO boxes."""

    ENTITIES = ("ADDRESS",)

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        for match in _ADDRESS.finditer(text):
            yield match.start(), match.end(), "ADDRESS", 0.9
        for match in _ADDRESS_LOWER.finditer(text):
            yield match.start(), match.end(), "ADDRESS", 0.8
        for match in _LIVE_AT.finditer(text):  # "we live at 32 feet out in place": what follows "live at" + number
            yield match.start(1), match.end(1), "ADDRESS", 0.8
        for match in _UNIT.finditer(text):
            yield match.start(), match.end(), "ADDRESS", 0.8


class KnownNameRecognizer(_SpokenRecognizer):
    """Names known for this session (speaker display names from enrolled profiles): every capitalised mention."""

    ENTITIES = ("NAME",)

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        tokens = sorted({t for name in names for t in re.findall(r"[A-Za-z][\w'’-]+", name)
                         if len(t) > 1 and not re.fullmatch(_TITLE, t)}, key=len, reverse=True)
        self._pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, tokens)) + r")\b") if tokens else None

    def find(self, text: str) -> Iterable[tuple[int, int, str, float]]:
        if self._pattern is None:
            return
        for match in self._pattern.finditer(text):
            yield match.start(), match.end(), "NAME", 1.0


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's written e-mail recogniser, validating domains with tldextract's bundled suffix list: the stock
    one calls ``tldextract.extract``, whose first use fetches the public suffix list over the network."""

    def __init__(self) -> None:
        super().__init__(name="EmailRecognizer")
        import tldextract

        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        return self._extract(pattern_text).fqdn != ""


def spoken_recognizers(is_word: Callable[[str], bool],
                       is_adjective: Callable[[str], bool] | None = None) -> list[EntityRecognizer]:
    """Every recogniser of this module (the known-names one is made per session)."""
    return [SpokenNumberRecognizer(), SpokenDateRecognizer(), AgeOver89Recognizer(), SpelledNameRecognizer(),
            ContextNameRecognizer(), UnknownWordRecognizer(is_word, is_adjective), PlaceContextRecognizer(), SpokenEmailRecognizer(),
            SpokenUrlRecognizer(), SpokenAddressRecognizer()]
