"""The spoken-form recognisers on their own: what people say and what Whisper writes for it."""

from __future__ import annotations

import pytest

from therapybridge.deid.recognizers import (
    AgeOver89Recognizer,
    ContextNameRecognizer,
    KnownNameRecognizer,
    PlaceContextRecognizer,
    SpelledNameRecognizer,
    SpokenAddressRecognizer,
    SpokenDateRecognizer,
    SpokenEmailRecognizer,
    SpokenNumberRecognizer,
    SpokenUrlRecognizer,
    UnknownWordRecognizer,
)


def found(recognizer, text: str) -> list[tuple[str, str]]:
    return [(entity, text[start:end]) for start, end, entity, _ in recognizer.find(text)]


@pytest.mark.parametrize("text, expected", [
    ("Is five five five, one two three four still good?", [("PHONE", "five five five, one two three four")]),
    ("Call me at 555-214-8839 tomorrow.", [("PHONE", "555-214-8839")]),
    ("my cell is 617 -555 -0192.", [("PHONE", "617 -555 -0192")]),
    ("Is five, six, four, nine, two, two, one, two, nine, three still the number",
     [("PHONE", "five, six, four, nine, two, two, one, two, nine, three")]),
    ("My social security number is 123-45-6789.", [("ID", "123-45-6789")]),
    ("my member number is W four four seven two nine one oh", [("ID", "W four four seven two nine one oh")]),
    ("the record number is 85888989, correct", [("ID", "85888989")]),
    ("My member number is R3051038.", [("ID", "R3051038")]),
    ("My member number is W -1 -1 -3 -2 -4 -0 -2.", [("ID", "W -1 -1 -3 -2 -4 -0 -2")]),
    ("double five six, seven eight nine oh", [("PHONE", "double five six, seven eight nine oh")]),
])
def test_digit_runs_said_or_written_are_phone_numbers_or_identifying_numbers(text, expected):
    assert found(SpokenNumberRecognizer(), text) == expected


@pytest.mark.parametrize("text", [
    "I have one or two friends there.", "It was May 16, 1950 when we met.", "We waited two, three hours.",
    "It cost $15,000 last year.",
])
def test_ordinary_numbers_are_not_identifiers(text):
    assert found(SpokenNumberRecognizer(), text) == []


@pytest.mark.parametrize("text, expected", [
    ("It happened on March third.", "March third"),
    ("on the fourteenth of June, nineteen eighty-four", "the fourteenth of June, nineteen eighty-four"),
    ("She was born in June 1987.", "June 1987"),
    ("on May 16th, 1950?", "May 16th, 1950"),
    ("on the 28th of May, right after", "the 28th of May"),
    ("I was born in nineteen sixty-two.", "born in nineteen sixty-two"),
    ("the appointment on 3/14/2024", "3/14/2024"),
])
def test_spoken_dates(text, expected):
    assert found(SpokenDateRecognizer(), text) == [("DATE", expected)]


def test_may_the_verb_is_not_a_date():
    assert found(SpokenDateRecognizer(), "I may third-guess myself, may I?") == []


@pytest.mark.parametrize("text, expected", [
    ("My grandfather is 90 now.", ["90"]), ("She turned ninety-three in May.", ["ninety-three"]),
    ("he's a hundred and two years old", ["a hundred and two"]), ("We talked for 90 minutes.", []),
    ("about 95 percent of the time", []), ("My mother is 64.", []),
])
def test_ages_over_89(text, expected):
    assert [s for _, s in found(AgeOver89Recognizer(), text)] == expected


@pytest.mark.parametrize("text, expected", [
    ("It's Jones, spelled J O N E S.", ["J O N E S.", "Jones"]), ("that's S-M-I-T-H", ["S-M-I-T-H"]),
    ("spelled THUL-A-W-I-C-K.", ["THUL-A-W-I-C-K."]), ("It's cross-spiled CR OSS.", ["CR OSS.", "cross"]),
    ("he still lives alone. It's Lane spelled L-O-N-E.", ["L-O-N-E.", "Lane"]),
    ("Spell D or I C-K-A.", ["D or I C-K-A."]),  # letters apart from the run, one written as a word
])
def test_spelled_names_and_the_name_said_before_its_spelling(text, expected):
    assert found(SpelledNameRecognizer(), text) == [("NAME", e) for e in expected]


def test_acronyms_are_not_spelled_names():
    assert found(SpelledNameRecognizer(), "I watched TV, OK? My PTSD is bad.") == []


def test_letter_words_join_a_spelling_only_between_letters():
    assert found(SpelledNameRecognizer(), "It's J O N E S, or you see, and") == [("NAME", "J O N E S")]


@pytest.mark.parametrize("text, expected", [
    ("Dr. Okafor said so.", "Okafor"), ("my sister Ana Lindqvist called", "Ana Lindqvist"),
    ("My boss, Teodor, called me.", "Teodor"), ("her name is Priya", "Priya"),
])
def test_names_after_a_title_or_a_relation(text, expected):
    assert found(ContextNameRecognizer(), text) == [("NAME", expected)]


@pytest.mark.parametrize("text, expected", [
    ("email me at jane dot doe at gmail dot com please", "jane dot doe at gmail dot com"),
    ("it's klainoovic underscore 57 at hotmail dot net if", "klainoovic underscore 57 at hotmail dot net"),
    ("I have your email as s shealo at gmail dot com, right?", "s shealo at gmail dot com"),
    ("write to mthogrill at iCloud.com if", "mthogrill at iCloud.com"),
])
def test_spoken_email_addresses(text, expected):
    assert found(SpokenEmailRecognizer(), text) == [("EMAIL", expected)]


@pytest.mark.parametrize("text, expected", [
    ("my blog is www dot quill dot com", "www dot quill dot com"),
    ("I post on vaigath writes dot com sometimes", "vaigath writes dot com"),
    ("a blog at lorovic.net-blog.", "lorovic.net-blog"),
    ("at Payshare.org slash blog.", "Payshare.org slash blog"),
])
def test_spoken_web_addresses(text, expected):
    assert found(SpokenUrlRecognizer(), text) == [("URL", expected)]


@pytest.mark.parametrize("text, expected", [
    ("We live at forty-two Wexley Road, apartment 3B now.", "forty-two Wexley Road, apartment 3B"),
    ("I moved into 118 Corbin Street after that.", "118 Corbin Street"),
    ("We live at 32 feet out in place.", "32 feet out in place"),
    ("Our new place is 30 per lobby drive near the park.", "30 per lobby drive"),  # a street Whisper wrote lower case
])
def test_street_addresses(text, expected):
    spans = [s for _, s in found(SpokenAddressRecognizer(), text)]
    assert expected in spans


@pytest.mark.parametrize("text", ["It is a 20 minute drive from here.", "We spent 2 more days in court.",
                                  "The 3 of us drive together."])
def test_journeys_and_counts_are_not_addresses(text):
    assert found(SpokenAddressRecognizer(), text) == []


# A stand-in lexicon: the real one is spaCy's lemma tables (tests/deid/test_transcript.py uses it).
_LEMMAS = {"have", "you", "told", "how", "call", "me", "at", "home", "my", "boss", "grow", "up", "in", "with",
           "it", "happen", "on", "tuesday", "cross", "he", "still", "live", "alone", "feel", "about", "heights", "ray",
           "twenty", "first", "x", "the", "an", "say", "i", "ray", "uh", "huh", "grew", "down", "from", "sash",
           "springs", "to", "see", "chart", "drove", "brother", "stupid", "called", "police"}
_ADJECTIVES = {"stupid"}


@pytest.mark.parametrize("text, expected", [
    ("Have you told niprington how", [("NAME", "niprington")]),  # a name Whisper wrote in lower case
    ("I grew up with calovic in gavxton heights.", [("NAME", "calovic"), ("PLACE", "gavxton heights")]),
    ("My boss say how-ko called me at home.", [("NAME", "how-ko")]),  # a name Whisper wrote in pieces
    ("Have you told Wau-Daius how you feel", [("NAME", "Wau-Daius")]),
    ("It happened on the twenty-first, he called, uh-huh, an x-ray", []),  # inflections, compounds, fillers
    ("down from Clayview sash springs to see me", [("PLACE", "Clayview sash springs")]),  # the town's end in lower case
    ("My brother chartly drove", [("NAME", "chartly")]),  # "-ly" makes adverbs of adjectives, not of nouns
    ("he stupidly called the police", []),
])
def test_unknown_words_in_any_case_are_names_or_places(text, expected):
    recognizer = UnknownWordRecognizer(lambda w: w in _LEMMAS or not w.isalpha(), _ADJECTIVES.__contains__)
    assert set(found(recognizer, text)) == set(expected)


def test_places_after_a_preposition_but_not_months_or_people():
    assert found(PlaceContextRecognizer(), "She moved to Asheville in May with Mom.") == [("PLACE", "Asheville")]


@pytest.mark.parametrize("text, expected", [
    ("I was living in till heights when", [("PLACE", "till heights")]),  # a town Whisper wrote in lower case
    ("we walked in the hills, in every county, near our village", []),
])
def test_lower_case_towns_after_a_preposition_end_in_a_town_word(text, expected):
    assert [f for f in found(PlaceContextRecognizer(), text) if f[1].islower()] == expected


def test_known_names_are_found_wherever_they_are_capitalised():
    recognizer = KnownNameRecognizer(["Dr. Anna Quill"])
    assert found(recognizer, "Anna said Quill was late; Dr. Quill.") == [
        ("NAME", "Anna"), ("NAME", "Quill"), ("NAME", "Quill")]
