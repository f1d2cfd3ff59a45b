"""A template grammar of game dialogue for the generated corpus.

The narrative grammar of :mod:`emomix.data.sentences` writes third-person statements about
named people and objects. Characters in games mostly speak in the first and second person:
greetings, warnings, orders, questions, thanks, boasts and threats, with contractions (``I'm``,
``don't``, ``we'll``), interjections and lines of two sentences. A voice trained only on the
narrative grammar has rarely heard those words and their rhythms, so the corpus can add lines
from this grammar (``emomix corpus synth --dialogue N``).

Lines are 3–20 words, end in ``.``, ``?`` or ``!`` and never repeat within one call. The same
seed always gives the same list and the first ``k`` lines do not depend on ``n``; numbers are
spelled out so that no text normalisation is needed.
"""

from __future__ import annotations

import random
import re

from .sentences import distinct_lines

__all__ = ["generate_dialogue", "MIN_DIALOGUE_WORDS", "MAX_DIALOGUE_WORDS"]

MIN_DIALOGUE_WORDS = 3
MAX_DIALOGUE_WORDS = 20

_NAMES = """Aldric Brenna Cedric Dara Elric Fiona Gareth Helga Ingrid Jorah Kestrel Lyra Magnus
Nessa Orrin Petra Quill Rowan Sigrid Torvald Ulla Varek Wren Yorick Zara Bram Cora Dmitri Elsa
Finn""".split()

_PLACES = """the northern pass|the sunken temple|the harbour|the old watchtower|the capital
|the salt mines|the eastern gate|the swamp|the frozen lake|the black forest|the chapel
|the tavern|the river crossing|the ruins|the mountain village|the king's road|the catacombs
|the lighthouse|the market|the smugglers' cove|the border fort|the library|the quarry
|the windmill|the camp|the marsh|the bridge|the west tower|the crypt|the orchard""".replace(
    "\n", "").split("|")

_ITEMS = """sword shield lantern map key ring amulet scroll potion helmet bow crown dagger
letter compass rope torch book coin pouch cloak axe hammer flute mirror badge banner chest
crystal bottle""".split()

_FOES = """bandits wolves goblins pirates spiders trolls skeletons smugglers raiders rats bears
ghosts cultists mercenaries soldiers""".split()

_PEOPLE = """the captain|the innkeeper|my sister|your father|the old priest|the blacksmith
|the queen|the guards|the merchant|my brother|the healer|the mayor|the prisoner|the stranger
|the children|the farmer|the general|our scout|the hunter|the witch""".replace("\n", "").split("|")

_ADJ = """dangerous strange quiet broken cursed ancient heavy beautiful cold dark empty
enormous lovely useless precious rotten shiny filthy sharp brilliant terrible wonderful safe
lucky""".split()

_FEELINGS = """tired hungry lost ready sorry worried proud glad afraid sure curious
angry thirsty grateful""".split()

_TIMES = """tonight|tomorrow|at dawn|before sunset|by midnight|in the morning|next week|right now
|before the winter|after the festival|in two days|by noon|this evening|at first light""".replace(
    "\n", "").split("|")

_VERBS = """find bring fix open carry guard follow check clean sell buy hide burn keep return
steal watch climb cross defend search repair""".split()

_NUMBERS = """two three four five six seven ten twelve twenty fifty a hundred""".split()

_OPENERS = ["Hey", "Listen", "Look", "Well", "Oh", "Ah", "Quick", "Hush", "Come on", "Now",
            "Wait", "Hmm", "Right", "Psst", "Easy"]

_TEMPLATES = [
    "{Opener}, you there! Have you seen {person}?",
    "Welcome to {place}, traveller.",
    "I'm looking for a {adj} {item}. Do you have one?",
    "Don't go near {place} {time}.",
    "We'll need {number} more men to hold {place}.",
    "You can't be serious. {Person} would never {verb} the {item}.",
    "It's too {adj} out there. Stay inside {time}.",
    "{Opener}, I'm {feeling}. Can we rest for a while?",
    "Where are you taking the {item}?",
    "They say the {foe} came down from {place} {time}.",
    "I've never seen a {item} so {adj}.",
    "Let's {verb} the {item} and get out of here!",
    "Who told you about {place}?",
    "If you {verb} the {item} for me, I'll pay you {number} gold coins.",
    "That's my {item}! Give it back!",
    "{Name}, you're late again. What happened?",
    "We don't have much time. The {foe} are coming!",
    "Thank you, friend. I won't forget this.",
    "Are you {feeling}? You look like you've seen a ghost.",
    "There's a {adj} {item} hidden somewhere in {place}.",
    "Nobody leaves until I find out who stole the {item}.",
    "I used to {verb} {place} for {person}, long ago.",
    "You want the {item}? Then you'll have to {verb} it yourself.",
    "Why didn't you tell me {person} was here?",
    "Stand back! These {foe} are mine.",
    "{Opener}. I think we're being followed.",
    "How much for the {adj} {item}?",
    "I'd rather face {number} {foe} than go back to {place}.",
    "Is it true that {person} can't {verb} anything?",
    "My {item} is broken. Can you {verb} it {time2}?",
    "{Name} and I will {verb} {place}. You stay here.",
    "Be careful with that {item}. It's {adj}.",
    "What do you mean, the {foe} are gone?",
    "Go and tell {person} we're ready.",
    "I'm {feeling}, but I'm not giving up.",
    "Nice work! You're better at this than I thought.",
    "Shh! Did you hear that?",
    "Whoever took my {item} is going to regret it.",
    "We should have stayed in {place}, {Name}.",
    "Could you {verb} the {item} before {person} gets back?",
    "You've got a {adj} {item} there. Where did you get it?",
    "It's been {number} years since anyone came to {place}.",
    "Help! The {foe} have taken {person}!",
    "I know what you did at {place}.",
    "Tell me everything you know about the {foe}.",
    "{Opener}, don't look at me like that. It wasn't my fault.",
    "The road to {place} is {adj} {time}.",
    "Do you really think we can {verb} it in time?",
    "I promise I'll {verb} the {item} {time}.",
    "Ha! Is that the best you can do?",
    "Goodbye, {Name}. Take care of yourself.",
    "What's that {adj} smell coming from {place}?",
    "You'll find {person} near {place}.",
    "One more step and I'll call the guards!",
    "I can't believe it. We actually made it!",
    "Put down the {item}, slowly.",
    "Who are you, and what are you doing in {place}?",
    "I'm not afraid of you or your {foe}.",
    "We haven't eaten since yesterday. Please, spare some bread.",
    "{Person} says the {item} belongs to {place}.",
]


# "a" before a vowel sound becomes "an"; "use…" starts with a consonant sound ("a useless map").
_A_AN = re.compile(r"\ba ([aeio]|u(?!se))", re.IGNORECASE)


def _fill(template: str, rng: random.Random) -> str:
    names = rng.sample(_NAMES, 1)
    places = rng.sample(_PLACES, 1)
    person = rng.choice(_PEOPLE)
    times = rng.sample(_TIMES, 2)
    values = {
        "Name": names[0],
        "place": places[0],
        "person": person,
        "Person": person[0].upper() + person[1:],
        "item": rng.choice(_ITEMS),
        "foe": rng.choice(_FOES),
        "adj": rng.choice(_ADJ),
        "feeling": rng.choice(_FEELINGS),
        "time": times[0],
        "time2": times[1],
        "verb": rng.choice(_VERBS),
        "number": rng.choice(_NUMBERS),
        "Opener": rng.choice(_OPENERS),
    }
    text = template.format(**values)
    text = _A_AN.sub(lambda m: "an " + m.group(1), text)
    return text[0].upper() + text[1:]


def generate_dialogue(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct lines of game dialogue, the same for the same ``(n, seed)``.

    The first ``k`` lines for a seed do not depend on ``n``. Raises ``ValueError`` if ``n`` is
    beyond what the grammar can make distinct.
    """
    return distinct_lines(n, random.Random(f"emomix-dialogue-{seed}"),
                          lambda rng: _fill(rng.choice(_TEMPLATES), rng),
                          (MIN_DIALOGUE_WORDS, MAX_DIALOGUE_WORDS), "dialogue lines")
