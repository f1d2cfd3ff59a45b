"""A template grammar that writes varied English sentences for the generated corpus.

Sentences are made from a few dozen templates filled from word lists chosen for phonetic spread
(every English consonant and vowel, clusters, long and short words), are 4–15 words long (about
1–8 s when spoken at 120–190 words per minute), end in ``.``, ``?`` or ``!`` and never repeat
within one call. The same seed always gives the same list; numbers are spelled out so that no
text normalisation is needed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

__all__ = ["generate_sentences", "MIN_WORDS", "MAX_WORDS"]

MIN_WORDS = 4
MAX_WORDS = 15

_NAMES = """Anna Oliver Maya Julian Theo Zoe Hugo Isla Felix Rosa Victor Nora Jasper Clara
Quentin Yasmin Edgar Leah Owen Ruby Marcus Ivy Samuel Hazel George Lucy Arthur Freya Dominic
Chloe Patrick Esther Vincent Wendy Gregory Judith Xavier Beatrice Thomas Shirley Kevin Naomi
Joshua Agatha Ethan Martha Oscar Penelope Wilbur Gemma""".split()

# singular:plural where the plural is irregular; otherwise the plural is made by rule.
_NOUNS = """apple anchor badge basket beetle blanket bottle bridge bucket cabin camera candle
canyon carpet castle cellar chair cherry chimney church clock cloud coat comet cookie cottage
crystal curtain cushion diamond dolphin door dragon drawer drum engine envelope feather fence
field fish:fish flower fountain fox garden giraffe glove guitar hammer harbour helmet hill
horse island jacket jewel journey juggler kettle key kitchen ladder lantern leaf:leaves letter
lighthouse lizard machine map meadow mirror monkey mountain mouse:mice needle nest oyster
notebook ocean orchard owl package painting pebble pencil piano pillow pocket puzzle pyramid
rabbit radio ribbon river rocket saddle sandwich scarf shadow sheep:sheep shelf:shelves shoe
shovel signal silver:silver sketch spider spoon squirrel staircase statue stone suitcase
sweater telescope thimble thunderstorm ticket tiger tooth:teeth tower trumpet tunnel umbrella
valley vase violin wagon walrus whistle window wizard wolf:wolves yacht zebra zipper voyage
treasure measure vision leisure chorus orchestra thistle bungalow igloo oatmeal""".split()

_ADJECTIVES = """ancient angry bitter bright broken brown calm cheerful chilly clever crooked
curious damp dazzling delicate dusty eager elegant empty enormous fancy fragile frozen gentle
gigantic gloomy golden graceful grumpy hollow huge humble icy jolly lazy little lonely loud
lucky marvellous massive mellow misty muddy narrow nervous noisy odd orange patient plain polite
precious purple quiet rapid rough rusty scarlet shabby shiny silent silky sleepy slippery smooth
soft sparkling splendid steep sticky strange sturdy sudden sunny tender tiny tough tremendous
velvet vivid warm weary whimsical wicked wooden yellow young zealous""".split()

# base:past
_VERBS = """bring:brought build:built carry:carried catch:caught clean:cleaned climb:climbed
discover:discovered draw:drew drop:dropped fetch:fetched find:found fix:fixed follow:followed
hide:hid hold:held juggle:juggled keep:kept kick:kicked lift:lifted measure:measured
mend:mended move:moved notice:noticed open:opened paint:painted pick:picked polish:polished
pull:pulled push:pushed question:questioned reach:reached repair:repaired rescue:rescued
search:searched sell:sold share:shared shake:shook show:showed sketch:sketched steal:stole
study:studied swap:swapped take:took throw:threw touch:touched visit:visited wash:washed
watch:watched weigh:weighed wrap:wrapped borrow:borrowed choose:chose forget:forgot
investigate:investigated photograph:photographed""".split()

_INTRANSITIVE = """arrived:arrived danced:danced disappeared:disappeared laughed:laughed
shivered:shivered sang:sang slept:slept smiled:smiled sneezed:sneezed vanished:vanished
waited:waited whispered:whispered wandered:wandered yawned:yawned giggled:giggled
grumbled:grumbled hurried:hurried jumped:jumped""".split()

_PLACES = """the attic|the barn|the beach|the bakery|the castle gate|the cellar|the garden shed
|the harbour wall|the hospital|the kitchen table|the library|the market square|the museum
|the old mill|the orchard|the post office|the railway station|the river bank|the roof
|the school yard|the train|the village hall|the zoo|the edge of the forest|the top shelf
|the back of the van|the bottom of the well|the dusty cupboard|the theatre|the bus stop
|the playground|the laboratory|the lighthouse|the vineyard|the jungle path|the courtyard""".replace(
    "\n", ""
).split("|")

_TIMES = """this morning|last night|yesterday afternoon|on Tuesday|every Sunday|at midnight
|after dinner|before breakfast|in the spring|during the storm|at dawn|next weekend|all summer
|in nineteen ninety two|twice a week|at half past seven|on her birthday|just in time
|before the guests arrived|while everyone was asleep""".replace("\n", "").split("|")

_ADVERBS = """quietly quickly carefully gladly slowly suddenly loudly gently bravely eagerly
nervously happily sadly angrily proudly lazily politely cheerfully anxiously silently""".split()

_NUMBERS = """two three four five six seven eight nine ten eleven twelve thirteen fifteen
twenty thirty forty fifty sixty a hundred""".split()

_DETERMINERS = ["the", "my", "your", "our", "his", "her", "their", "that", "this"]

_TEMPLATES = [
    "{Name} {past} the {adj} {noun}.",
    "{Name} {past} the {adj} {noun} near {place}.",
    "{Name} {past} {det} {noun} {time}.",
    "The {adj} {noun} {ipast} {adverb} in {place}.",
    "The {noun} in {place} was {adj} {time}.",
    "We should {base} the {noun} before {time2}.",
    "Did you {base} the {adj} {noun} {time}?",
    "Why did {Name} {base} {det} {noun}?",
    "{Name} said that the {noun} {ipast} {adverb}.",
    "I can hardly believe the {noun} is so {adj}!",
    "There were {number} {adj} {nouns} in {place}.",
    "{Name} and {Name2} {past} {number} {nouns} {time}.",
    "Please {base} the {noun} and the {noun2}.",
    "{Name} {ipast} {adverb}.",
    "It was so {adj} today!",
    "Where is the {adj} {noun}?",
    "The {nouns} are {adj}.",
    "Nobody expected the {adj} {noun} to {base} the {noun2}.",
    "{Name} {adverb} {past} the {noun} from {place} to {place2}.",
    "If the {noun} is {adj}, we will {base} it {time}.",
    "My {adj} {noun} {ipast} while {Name} {past} the {noun2}.",
    "Look at the {adj} {nouns} on {place}!",
    "How many {nouns} did {Name} {base} {time}?",
    "{Name} never {past} {det} {adj} {noun} again.",
    "The {noun} and the {noun2} {ipast} {time}.",
    "Could you {base} {det} {noun}, {Name}?",
    "{Time3}, {Name} {past} a {adj} {noun} beside {place}.",
    "What a {adj} {noun}!",
]

_A_AN = re.compile(r"\ba ([aeiou])", re.IGNORECASE)


def _plural(noun: str) -> str:
    if ":" in noun:
        return noun.split(":")[1]
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def _fill(template: str, rng: random.Random) -> str:
    nouns = rng.sample(_NOUNS, 2)
    names = rng.sample(_NAMES, 2)
    verb = rng.choice(_VERBS).split(":")
    places = rng.sample(_PLACES, 2)
    times = rng.sample(_TIMES, 3)
    values = {
        "Name": names[0],
        "Name2": names[1],
        "noun": nouns[0].split(":")[0],
        "noun2": nouns[1].split(":")[0],
        "nouns": _plural(nouns[0]),
        "adj": rng.choice(_ADJECTIVES),
        "adverb": rng.choice(_ADVERBS),
        "base": verb[0],
        "past": verb[1],
        "ipast": rng.choice(_INTRANSITIVE).split(":")[1],
        "place": places[0],
        "place2": places[1],
        "time": times[0],
        "time2": times[1],
        "Time3": times[2][0].upper() + times[2][1:],
        "number": rng.choice(_NUMBERS),
        "det": rng.choice(_DETERMINERS),
    }
    text = template.format(**values)
    text = _A_AN.sub(lambda m: "an " + m.group(1), text)
    return text[0].upper() + text[1:]


def distinct_lines(n: int, rng: random.Random, fill: Callable[[random.Random], str],
                   words: tuple[int, int], what: str) -> list[str]:
    """``n`` distinct texts drawn by ``fill(rng)`` whose word counts lie in ``words`` (bounds
    included), in the order drawn: the first ``k`` do not depend on ``n``. Raises
    ``ValueError`` naming ``what`` when ``n`` is negative or beyond what ``fill`` makes."""
    if n < 0:
        raise ValueError(f"number of {what} must be >= 0, got {n}")
    out: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"could not make {n} distinct {what} (made {len(out)}); "
                             f"ask for fewer {what}")
        text = fill(rng)
        if text in seen or not words[0] <= len(text.split()) <= words[1]:
            continue
        seen.add(text)
        out.append(text)
    return out


def generate_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct sentences, the same for the same ``(n, seed)``.

    The first ``k`` sentences for a seed do not depend on ``n`` (a bigger corpus extends a
    smaller one). Raises ``ValueError`` if ``n`` is beyond what the grammar can make distinct.
    """
    return distinct_lines(n, random.Random(f"emomix-sentences-{seed}"),
                          lambda rng: _fill(rng.choice(_TEMPLATES), rng),
                          (MIN_WORDS, MAX_WORDS), "sentences")
