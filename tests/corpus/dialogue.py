"""Scripted therapy dialogues: who says which sentence, in which order, with what timing relation.

The text comes from a small seeded grammar (topics, sentence frames and fillers) so that a session of an hour never
repeats a sentence: identical sentences spoken by one voice give identical audio, and identical clips cluster far
more tightly than real speech does. Backchannels ("mm-hmm", "yeah") are the one exception the issue allows by
their nature; each one is synthesised at its own speaking rate, so no two are the same audio either.

The script holds no times, only relations (a pause after the previous sentence, an overlap with it, a backchannel
at a fraction of another sentence), because durations are known only once the sentences are spoken: the corpus
builder lays the session out from the dry audio (:mod:`tests.corpus.build`).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

# --------------------------------------------------------------------------------------------------------------
# Fillers shared by every topic

PEOPLE = [
    "my mother", "my dad", "my sister", "my brother", "my boss", "my partner", "my best friend", "my neighbour",
    "my manager", "my aunt", "my son", "my daughter", "my flatmate", "my grandmother", "my ex", "my colleague",
    "my husband", "my wife", "my cousin", "my stepfather", "the team lead", "my landlord", "my oldest friend",
]
TIMES = [
    "last week", "on Sunday", "yesterday evening", "this morning", "over the weekend", "on Tuesday night",
    "a couple of days ago", "at the start of the month", "right before the holidays", "on my birthday",
    "the other night", "last Thursday", "earlier today", "during the break", "on the way home", "after dinner",
    "first thing on Monday", "late on Friday", "around lunchtime", "in the middle of the night",
]
PLACES = [
    "at work", "in the car", "at the supermarket", "on the train", "at my parents' house", "in the kitchen",
    "at the gym", "in the office", "at a friend's party", "in the waiting room", "at the school gates",
    "in the shower", "on the bus", "at the pharmacy", "in a meeting", "at the park", "in bed", "at the airport",
]
FEELINGS = [
    "anxious", "exhausted", "angry", "numb", "guilty", "overwhelmed", "lonely", "embarrassed", "hopeless", "tense",
    "frustrated", "restless", "ashamed", "on edge", "drained", "resentful", "scared", "flat", "irritable", "stuck",
]
GOOD_FEELINGS = ["calmer", "lighter", "more hopeful", "a bit proud", "relieved", "more settled", "less alone",
                 "more like myself", "steadier", "more patient"]
ACTIVITIES = [
    "going for a walk", "cooking a proper meal", "calling a friend", "reading before bed", "going to the gym",
    "playing the guitar", "gardening", "writing in my journal", "swimming", "doing the breathing exercise",
    "painting", "going to choir", "taking the dog out", "baking with the kids", "cycling to work",
]
BODY = ["my chest gets tight", "my hands start shaking", "my heart races", "I feel sick to my stomach",
        "my jaw clenches", "I can't catch my breath", "my shoulders are up by my ears", "I get a headache",
        "my mind goes blank", "I start sweating"]
AMOUNTS = ["two", "three", "four", "five", "six", "seven", "eight", "nine"]
CONTINUATIONS = [
    "and that's been on my mind ever since", "because I didn't want to let anyone down", "which surprised me",
    "and I couldn't shake it for the rest of the day", "and I didn't tell anyone", "but I kept it to myself",
    "and I'm still a bit annoyed about it", "which I know sounds silly", "and then I felt bad for feeling that",
    "and I just went along with it", "because that's what I always do", "and I wish I'd handled it differently",
    "but part of me was relieved", "and nobody seemed to notice", "even though I knew it was coming",
    "and I ended up staying up far too late", "and that set the tone for the whole week",
    "and I almost cancelled today because of it", "but I didn't know how to say it", "and it was a bit of a shock",
    "so I went for a walk to clear my head", "and I think that's what tipped me over", "which isn't like me",
    "and I keep replaying it", "but I got through it", "and I told myself I'd bring it up here",
]
OPENERS = ["", "", "", "Honestly, ", "I mean, ", "The thing is, ", "I guess ", "And ", "So ", "Well, ", "Um, ",
           "To be fair, ", "I suppose ", "Yeah, ", "It's funny, ", "I don't know, "]
TAILS = ["", "", "", "", ", you know", ", if that makes sense", ", I think", ", to be honest", ", really",
         ", in a way", ", at least for now"]

# --------------------------------------------------------------------------------------------------------------
# Topics: client sentence frames and the therapist's topic-specific questions

TOPICS: dict[str, dict[str, list[str]]] = {
    "work": {
        "client": [
            "{person} asked me to stay late again {time}, and I just said yes without thinking",
            "every time an email comes in {place} I feel {feeling} before I've even read it",
            "I've been working through lunch for about {n} weeks now",
            "I keep telling myself it's only temporary, but it's been like this since spring",
            "{person} said my report was fine, but all I could hear was the one thing they corrected",
            "I lay awake going over the presentation for hours {time}",
            "I feel {feeling} on Sunday evenings because Monday is coming",
            "there's a restructure coming and nobody will say who's affected",
            "I snapped at {person} {time} and I felt awful about it afterwards",
            "I used to love this job, and now I mostly feel {feeling}",
            "I think I'm afraid that if I slow down everything will fall apart",
            "I wrote my resignation letter {time} and then deleted it",
            "the deadlines keep moving and I'm the one who has to absorb it",
            "I haven't taken a real day off in about {n} months",
            "{person} keeps copying me into things that aren't my job",
        ],
        "therapist": [
            "What goes through your mind when you see a new email arrive?",
            "How many hours would you say you're working in a typical week?",
            "What would it mean if you said no to a request at work?",
            "When did work start to feel like this?",
            "What would a reasonable week look like for you?",
            "Who at work do you feel you can be honest with?",
        ],
    },
    "sleep": {
        "client": [
            "I've been waking up around {n} in the morning and I can't get back to sleep",
            "I get into bed and my brain just starts listing everything I haven't done",
            "I tried the no screens rule {time}, and it did help a little",
            "I've started napping in the afternoon, which probably doesn't help",
            "when I finally fall asleep I have these vivid dreams about being late",
            "I'm drinking maybe {n} coffees a day just to get through",
            "I fell asleep {place} {time}, which was embarrassing",
            "some nights I just give up and watch television until it gets light",
            "the nights when I've been {activity} are definitely better",
            "I wake up feeling like I haven't slept at all",
            "I keep checking the clock and working out how many hours I've got left",
            "{person} says I talk in my sleep now, which I never used to do",
        ],
        "therapist": [
            "What time do you usually get into bed, and what time do you fall asleep?",
            "What do you do when you wake up in the night?",
            "How has the tiredness been affecting your days?",
            "What helps you wind down in the evening?",
            "Have you noticed any pattern in the nights that go better?",
        ],
    },
    "family": {
        "client": [
            "{person} rang {time} and within five minutes we were arguing about the same old thing",
            "I always end up being the one who keeps the peace at family dinners",
            "when I was little I learned to read the mood in the house before I'd even taken my coat off",
            "{person} still treats me like I'm about twelve",
            "I went to see {person} {time} and left feeling {feeling}",
            "nobody in my family ever talked about feelings, we just got on with it",
            "I think I'm scared of turning into {person}",
            "{person} forgot my birthday again, and I told myself it didn't matter",
            "there's this expectation that I'll host everyone at Christmas",
            "I love them, I really do, but I come home completely drained",
            "my parents split up when I was about {n}, and nobody explained anything",
            "{person} texted me a long message {time} and I still haven't answered it",
            "I've started to notice I say sorry for things that aren't my fault",
        ],
        "therapist": [
            "What was it like growing up in your house?",
            "What happens in your body when your phone shows their name?",
            "What do you wish you could say to them?",
            "Where do you think you learned to keep the peace?",
            "What would it look like to set a limit with your family?",
        ],
    },
    "relationship": {
        "client": [
            "{person} and I had a big row {time} about something really small",
            "we used to talk for hours and now it's mostly about who's picking up the shopping",
            "I feel like I'm always the one who has to bring things up",
            "when {person} goes quiet I immediately assume I've done something wrong",
            "we tried the date night idea {time} and it was actually nice",
            "I get {feeling} when plans change at the last minute",
            "I said I was fine when I clearly wasn't, and then I was annoyed they believed me",
            "we've been together for {n} years and I still worry they'll leave",
            "I checked their phone {time}, and I'm not proud of that",
            "sometimes I think we want different things, and that scares me",
            "we managed to talk it through without shouting, which is new for us",
            "I noticed I was keeping score of who did what around the house",
        ],
        "therapist": [
            "What happens between you when an argument starts?",
            "What do you need from your partner when you're upset?",
            "How do the two of you usually repair things after a row?",
            "What did you notice in yourself when they went quiet?",
            "What was different about the conversation that went well?",
        ],
    },
    "grief": {
        "client": [
            "it's been {n} months since my grandmother died, and some days it feels like yesterday",
            "I found one of her old shopping lists {time}, and I just sat on the floor and cried",
            "everyone else seems to have moved on already",
            "I keep picking up the phone to call her before I remember",
            "I feel {feeling} that I wasn't there at the very end",
            "the house feels so quiet now, especially in the evenings",
            "I've been going to the grave on Sundays, and that helps a bit",
            "people keep saying she had a good long life, as if that makes it easier",
            "I smelled her perfume {place} {time} and had to leave",
            "I haven't been able to clear out her room yet",
            "some days I'm fine, and then something small knocks me right over",
        ],
        "therapist": [
            "What do you miss most about her?",
            "What has it been like to carry this on your own?",
            "What did your family do with grief when you were growing up?",
            "How do you look after yourself on the harder days?",
            "What would she say if she could see how you're doing?",
        ],
    },
    "anxiety": {
        "client": [
            "I was {place} {time} and suddenly {body}",
            "I've started avoiding {place} because I'm worried it'll happen again",
            "I rehearse conversations in my head for days before they happen",
            "when {body}, I'm convinced something is really wrong with me",
            "I left a party {time} after about ten minutes because I felt {feeling}",
            "I know the thoughts aren't logical, but that doesn't stop them",
            "I did the breathing thing you showed me {place}, and it sort of worked",
            "I keep imagining the worst possible version of every situation",
            "I cancelled on {person} {time} because I couldn't face going out",
            "I feel like everyone can see how nervous I am",
            "it starts as a small worry and within a minute it's a disaster in my head",
            "I managed to stay {place} even though I wanted to run",
        ],
        "therapist": [
            "What was the first thing you noticed when the panic started?",
            "What did you tell yourself in that moment?",
            "What do you imagine would happen if you stayed?",
            "How long did the feeling last before it started to ease?",
            "On a scale from zero to ten, how strong was the anxiety?",
            "What have you been avoiding since then?",
        ],
    },
    "self": {
        "client": [
            "I made a tiny mistake {time} and I called myself stupid for the rest of the day",
            "I never feel like anything I do is quite good enough",
            "when someone compliments me I just assume they're being polite",
            "I compare myself to {person} all the time",
            "I managed to finish the whole project, and I still felt {feeling}",
            "there's this voice that says I'm going to get found out",
            "I tried being kinder to myself {time}, and it felt really strange",
            "I spent about {n} hours rewriting one short email",
            "I think I learned very early that being good meant being perfect",
            "I noticed the critical voice {place}, and for once I didn't believe it",
            "if a friend spoke to me the way I speak to myself, I'd stop seeing them",
        ],
        "therapist": [
            "Whose voice does that critic sound like?",
            "What would you say to a friend who made the same mistake?",
            "What do you think the critical voice is trying to protect you from?",
            "How did it feel to be kinder to yourself, even for a moment?",
            "Where did you learn that you had to be perfect?",
        ],
    },
    "habits": {
        "client": [
            "I've been having a glass of wine most nights, and it's creeping up to two or three",
            "I tell myself it helps me relax, but I wake up feeling worse",
            "I went {n} days without drinking and I was quite proud of that",
            "I went out with {person} {time} and had far more than I meant to",
            "I've started {activity} instead of opening a bottle, some nights anyway",
            "I scroll on my phone for hours and then wonder where the evening went",
            "I bought a lot of things online {time} that I really didn't need",
            "I keep promising myself Monday will be different",
            "when I feel {feeling}, that's when the urge is strongest",
            "{person} mentioned my drinking {time}, and I got really defensive",
        ],
        "therapist": [
            "What tends to happen just before you reach for a drink?",
            "What does the wine give you that's hard to get elsewhere?",
            "What did you notice on the days you didn't drink?",
            "What would you like your evenings to look like instead?",
            "How did it feel when your friend raised it with you?",
        ],
    },
    "loneliness": {
        "client": [
            "since I moved here I don't really know anyone outside work",
            "I spent the whole weekend on my own and didn't speak to a single person",
            "I joined a running club {time}, but I haven't been back yet",
            "everyone back home seems to be getting on with their lives without me",
            "I went to a meetup {place} and stood in the corner the whole time",
            "I talk to {person} on the phone, but it's not the same as being there",
            "I feel {feeling} in the evenings when the flat is quiet",
            "I've started {activity}, partly just to be around other people",
            "a colleague invited me for coffee {time}, and I nearly said no out of habit",
            "I think I've got out of the habit of reaching out to people",
        ],
        "therapist": [
            "What makes it hard to reach out to people here?",
            "What did you enjoy about the meetup, if anything?",
            "What connections from back home could you keep alive?",
            "What would a small step towards people look like this week?",
        ],
    },
    "parenting": {
        "client": [
            "my son has been refusing to go to school, and every morning is a battle",
            "I shouted at the kids {time} and then cried in the bathroom",
            "I feel like I'm failing them whatever I do",
            "{person} thinks I'm too soft, and we argue about it in front of them",
            "my daughter told me she's been feeling {feeling}, and I didn't know what to say",
            "bedtime takes about {n} hours some nights",
            "we tried the reward chart {time}, and it actually went quite well",
            "I never get a minute to myself between work and the kids",
            "I remember my own mother shouting, and I swore I'd never do that",
            "I spent the afternoon {activity} with them and it was lovely",
        ],
        "therapist": [
            "What happens in you when the mornings start to go wrong?",
            "What do you think your son is finding hard about school?",
            "What support do you have as a parent right now?",
            "What would being a good enough parent look like this week?",
        ],
    },
}

# The therapist's general moves; {feeling}, {topic_phrase} come from the current topic.
THERAPIST_GENERAL = [
    "It sounds like you've been carrying a lot.",
    "That sounds really hard.",
    "I can hear how {feeling} that left you.",
    "Can you say a bit more about that?",
    "What was that like for you?",
    "How did you feel afterwards?",
    "What do you make of that?",
    "I'm noticing you went quiet just then.",
    "Let's slow down for a moment.",
    "What would you like to be different?",
    "It makes sense that you'd feel {feeling} after that.",
    "What did you need in that moment?",
    "That took real courage.",
    "I wonder what you're feeling right now, as you tell me this.",
    "So part of you wants to change this, and part of you is scared to.",
    "What would you like to take from today?",
    "Shall we come back to that next week?",
    "That's a really important thing to notice.",
    "It seems like this connects to what you said earlier.",
    "You've mentioned feeling {feeling} a few times today.",
    "How are you feeling in your body as we talk about this?",
    "What's the hardest part of it for you?",
    "If you imagine things going well, what would that look like?",
    "What have you tried so far?",
    "Which part of that feels most urgent?",
    "I'm struck by how much you've been managing on your own.",
    "Let's think about one small step for this week.",
    "Would it be all right if we stayed with this a little longer?",
]
REFLECTIONS = [
    "So when {clause}, you end up feeling {feeling}.",
    "It sounds like {clause}, and that's been weighing on you.",
    "What I'm hearing is that {clause}.",
    "So {clause}, and nobody really noticed.",
    "If I've understood you, {clause}.",
]
REFLECTION_CLAUSES = {
    "work": ["work keeps spilling into the rest of your life", "saying no feels dangerous", "you never feel finished"],
    "sleep": ["your mind gets loudest when you finally lie down", "the tiredness is colouring everything"],
    "family": ["you became the peacekeeper very young", "their approval still matters a great deal"],
    "relationship": ["silence feels like a warning to you", "you're the one who carries the worry for both of you"],
    "grief": ["the loss still catches you by surprise", "you've been grieving mostly on your own"],
    "anxiety": ["your body raises the alarm before you can think", "avoiding things keeps the fear going"],
    "self": ["the critic gets the last word even when things go well", "you hold yourself to a very high bar"],
    "habits": ["the drink takes the edge off the evenings", "the habit fills a gap that's hard to name"],
    "loneliness": ["you're missing people more than you let on", "reaching out feels like a risk"],
    "parenting": ["you're trying hard not to repeat what happened to you", "you rarely get a break"],
}
SHORT_ANSWERS = [
    "Yes, I think so.", "Not really.", "Maybe a little.", "I'm not sure.", "Yeah, that's right.", "Sort of.",
    "Probably, yes.", "No, not at all.", "I think that's fair.", "Exactly.", "I suppose it does.", "Kind of, yeah.",
    "Definitely.", "It's hard to say.", "A bit, yes.", "Not yet.", "Sometimes.", "All the time, really.",
    "I hadn't thought of it like that.", "That's a good question.", "Honestly, no.", "Yes, every time.",
    "Only at night.", "Mostly at work.", "I'd like that.", "That makes sense.", "I can try that.", "Fair enough.",
    "Okay, yes.", "I guess so.", "It was awful.", "Not as much as before.", "More than I'd like.", "About a week.",
]
FOLLOW_UPS = [
    "It's been a strange week.", "I keep thinking about it.", "I'm still not sure why.", "It surprised me.",
    "I didn't expect that.", "It's hard to explain.", "That's what worries me.", "Which is new for me.",
    "More than usual, anyway.", "I noticed that this week.", "It comes and goes.", "It's getting easier.",
    "I wish it wasn't.", "I've been avoiding it.", "Especially in the mornings.", "Not since we last spoke.",
    "I tried, anyway.", "At least I think so.", "That's the annoying part.", "I'd have to think about it.",
]
BACKCHANNELS = ["Mm-hmm.", "Yeah.", "Right.", "Mm.", "Okay.", "I see.", "Uh-huh.", "Sure.", "Yes.", "Yeah, yeah."]
COUPLE_FRAMES = [
    "when {partner} says that, I feel {feeling}",
    "I don't think {partner} realises how much I do around the house",
    "{partner} and I used to be so good at this",
    "I'm not trying to criticise, I just want {partner} to hear me",
    "that's not what happened, and {partner} knows it",
    "I've been trying, I really have, since the last session",
    "we had a good week, to be fair, until {time}",
    "{partner} walked out of the room {time} and didn't come back for an hour",
    "I want us to be able to disagree without it turning into a fight",
    "I felt really close to {partner} {time}, for the first time in ages",
    "it's always me who apologises first",
    "I miss how we were when the kids were small",
]
DICTATION_FRAMES = [
    "The client attended on time and appeared {feeling} at the start of the session",
    "We reviewed the homework from last week, which concerned {activity}",
    "The client reported sleeping about {n} hours a night on average",
    "Mood was described as {feeling}, with some improvement in the afternoons",
    "We explored the conflict with {person} that occurred {time}",
    "The client identified physical signs of anxiety, namely that {body}",
    "No risk issues were raised, and the safety plan remains in place",
    "We agreed to continue with weekly sessions for the next {n} weeks",
    "The client practised the grounding exercise in session and rated it helpful",
    "Homework for next week is to notice one moment a day of feeling {good}",
    "The client described an episode {place} {time} that was triggered by a comment from {person}",
    "We discussed the pattern of avoidance and its short term relief",
    "The formulation was updated to include the early experiences we discussed",
    "I noted that the client was more animated when talking about {activity}",
    "Plan for next session is to revisit the thought record and review progress",
]


@dataclass(frozen=True)
class Line:
    """One sentence of a script and how it is placed relative to what came before.

    ``gap`` is the pause in seconds after the end of the previous main-line sentence (negative: an interruption
    that starts before it ends). A backchannel (``kind == "backchannel"``) is placed instead at ``at`` (a fraction
    of the duration) inside sentence ``host``, the index of a main-line sentence of another speaker.
    """

    speaker: str
    text: str
    kind: str  # "speech", "short_answer" or "backchannel"
    turn: int
    gap: float = 0.0
    host: int = -1
    at: float = 0.0
    speed: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


class _Writer:
    """Draws sentences that have not been used yet in this session."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.frame_uses: dict[str, int] = {}

    def frame(self, frames: list[str]) -> str:
        """A frame not yet used up: one with no slot once per session, others at most three times."""
        fresh = [f for f in frames if self.frame_uses.get(f, 0) < (3 if "{" in f else 1)]
        frame = self.rng.choice(fresh or frames)
        self.frame_uses[frame] = self.frame_uses.get(frame, 0) + 1
        return frame

    def fill(self, frame: str, **extra: str) -> str:
        values = {
            "person": self.rng.choice(PEOPLE), "time": self.rng.choice(TIMES), "place": self.rng.choice(PLACES),
            "feeling": self.rng.choice(FEELINGS), "activity": self.rng.choice(ACTIVITIES),
            "body": self.rng.choice(BODY), "n": self.rng.choice(AMOUNTS), "good": self.rng.choice(GOOD_FEELINGS),
        }
        values.update(extra)
        return frame.format(**values)

    def unique(self, make, tries: int = 200) -> str:
        for _ in range(tries):
            sentence = make()
            key = sentence.lower()
            if key not in self.used:
                self.used.add(key)
                return sentence
        raise RuntimeError("the grammar ran out of unused sentences; add frames or fillers")

    def client_sentence(self, topic: str, frames: list[str] | None = None, plain: bool = False, **extra: str) -> str:
        """A client's sentence: a frame of the topic, its slots filled, with an optional opener, continuation and
        tail; the filled frame itself is never repeated in the session (only its fillers may recur)."""

        def make() -> str:
            core = self.fill(self.frame(frames or TOPICS[topic]["client"]), **extra)
            if core.lower() in self.used:
                return core
            self.used.add(core.lower())
            if plain:
                return core + "."
            if self.rng.random() < 0.3:
                core += ", " + self.rng.choice(CONTINUATIONS)
            opener, tail = self.rng.choice(OPENERS), self.rng.choice(TAILS)
            text = opener + core + tail
            return text[0].upper() + text[1:] + self.rng.choice([".", ".", ".", "!"])

        return self.unique(make)

    def therapist_sentence(self, topic: str) -> str:
        def make() -> str:
            pick = self.rng.random()
            if pick < 0.35:
                return self.fill(self.rng.choice(TOPICS[topic]["therapist"]))
            if pick < 0.6:
                clause = self.rng.choice(REFLECTION_CLAUSES[topic])
                return self.fill(self.rng.choice(REFLECTIONS), clause=clause)
            return self.fill(self.rng.choice(THERAPIST_GENERAL))

        return self.unique(make)

    def short_answer(self) -> str:
        def make() -> str:
            answer = self.rng.choice(SHORT_ANSWERS)
            return answer if self.rng.random() < 0.5 else f"{answer} {self.rng.choice(FOLLOW_UPS)}"

        return self.unique(make, tries=400)


def _gap(rng: random.Random, interrupt_p: float) -> float:
    """Pause before a new turn: usually 0.2–1.5 s, sometimes an interruption 0.2–1 s early."""
    if rng.random() < interrupt_p:
        return -rng.uniform(0.2, 1.0)
    return min(2.5, max(0.15, rng.lognormvariate(-0.5, 0.5)))


def _sentence_pause(rng: random.Random) -> float:
    return rng.uniform(0.15, 0.9)


def _words_seconds(text: str) -> float:
    return 0.35 + len(text.split()) / 3.1


def therapy_script(
    speakers: list[str], minutes: float, seed: int, kind: str = "dyad", long_silences: int = 2,
    run_on: float = 0.0,
) -> list[Line]:
    """A session script of about ``minutes`` of speech and pauses.

    ``speakers`` are the speaker ids in role order: therapist first, then the client (``kind="dyad"``), the two
    partners (``"couple"``), or a single person dictating notes (``"dictation"``). ``run_on`` (minutes) carries the
    conversation on past the planned end with no further long silences: the script of ``minutes`` stays its first
    lines, word for word, so a session already spoken keeps its sentences and only the new ones need the TTS.
    """
    rng = random.Random(seed)
    writer = _Writer(rng)
    lines: list[Line] = []
    target = minutes * 60.0
    end = target + run_on * 60.0
    elapsed = 0.0
    turn = 0
    topics = rng.sample(sorted(TOPICS), k=len(TOPICS))
    silences_left = long_silences
    planned: list[int] = []  # how many lines the script of ``minutes`` has, once the loop passes it
    reached: list[float] = []  # the estimated clock after each line

    def add(line: Line) -> None:
        nonlocal elapsed
        lines.append(line)
        if line.kind != "backchannel":
            elapsed += max(0.0, line.gap) + _words_seconds(line.text) / line.speed
        reached.append(elapsed)

    def going() -> bool:
        if elapsed >= target and not planned:
            planned.append(len(lines))
        return elapsed < end

    def speed() -> float:
        return round(rng.uniform(0.92, 1.08), 3)

    if kind == "dictation":
        while going():
            frames = DICTATION_FRAMES
            n = rng.randint(2, 6)
            for i in range(n):
                text = writer.client_sentence("work", frames=frames, plain=True)
                gap = _sentence_pause(rng) if i else rng.uniform(1.0, 4.0) if lines else 0.0
                add(Line(speakers[0], text, "speech", turn, gap=gap, speed=speed()))
            turn += 1
            if silences_left and elapsed > target * (1 - silences_left / (long_silences + 1)):
                silences_left -= 1
                add(Line(speakers[0], writer.client_sentence("work", frames=frames, plain=True), "speech", turn,
                         gap=rng.uniform(5.0, 20.0), speed=speed()))
                turn += 1
        return _cut_run_on(lines, reached, planned[0], end)

    therapist, clients = speakers[0], speakers[1:]
    topic_index = 0
    previous_speaker = None
    while going():
        topic = topics[topic_index % len(topics)]
        if rng.random() < 0.12:
            topic_index += 1
        # Therapist turn: one or two sentences.
        t_lines = [writer.therapist_sentence(topic) for _ in range(1 if rng.random() < 0.65 else 2)]
        host = len(lines)
        for i, text in enumerate(t_lines):
            gap = _sentence_pause(rng) if i else (_gap(rng, 0.1) if lines else 0.0)
            add(Line(therapist, text, "speech", turn, gap=gap, speed=speed()))
        previous_speaker = therapist
        turn += 1
        # One client (or both partners in turn) answers.
        answerers = [rng.choice(clients)] if len(clients) == 1 or rng.random() < 0.6 else rng.sample(clients, 2)
        for client in answerers:
            gap = _gap(rng, 0.12)
            if silences_left and elapsed > target * (1 - silences_left / (long_silences + 1)):
                silences_left -= 1
                gap = rng.uniform(5.0, 20.0)
            if rng.random() < 0.22:
                add(Line(client, writer.short_answer(), "short_answer", turn, gap=gap, speed=speed()))
                turn += 1
                previous_speaker = client
                continue
            n = rng.choice([1, 2, 3, 3, 4, 5, 6])
            first = len(lines)
            for i in range(n):
                if kind == "couple":
                    partner = "he" if rng.random() < 0.5 else "she"
                    text = writer.client_sentence(topic, frames=COUPLE_FRAMES + TOPICS[topic]["client"],
                                                  partner=partner)
                else:
                    text = writer.client_sentence(topic)
                add(Line(client, text, "speech", turn, gap=_sentence_pause(rng) if i else gap, speed=speed()))
            # Backchannels from the therapist inside the client's longer sentences (overlapped speech).
            for index in range(first, len(lines)):
                if len(lines[index].text.split()) >= 12 and rng.random() < 0.3:
                    add(Line(therapist, rng.choice(BACKCHANNELS), "backchannel", turn, host=index,
                             at=round(rng.uniform(0.35, 0.8), 3), speed=speed()))
            previous_speaker = client
            turn += 1
        # A client backchannel inside a long therapist sentence, now and then.
        if len(lines[host].text.split()) >= 9 and rng.random() < 0.3:
            add(Line(rng.choice(clients), rng.choice(BACKCHANNELS), "backchannel", turn, host=host,
                     at=round(rng.uniform(0.4, 0.8), 3), speed=speed()))
    assert previous_speaker is not None
    return _cut_run_on(lines, reached, planned[0], end)


def _cut_run_on(lines: list[Line], reached: list[float], planned: int, end: float) -> list[Line]:
    """The script up to the first line of the run-on that reaches ``end``: the run-on may stop mid-turn, which a
    whole-turn loop could only overshoot. A backchannel follows its host, so no kept one loses it."""
    for index in range(planned, len(lines)):
        if reached[index] >= end:
            return lines[: index + 1]
    return lines
