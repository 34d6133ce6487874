"""Procedurally generated long-context retrieval data (no external data sets).

Every sample is byte-level text: generated English-like filler with needles
(key -> value facts) hidden in it, and questions whose answers must be copied
from the needles. The question restates the needle's own wording up to the
value ("... The secret code for KEY: "), so retrieval is an exact match of
the bytes just before the value followed by a copy, the operation induction
heads learn first. The key sits right before the value (only ": " between):
with a longer shared phrase there ("KEY is VALUE") a 0.8M model had not
learned the long-range match after 800 steps, while it had learned to copy.

Variants (see `make_eval_prompt`):
  single      one needle, one question
  multikey    several needles with distinct keys, one question
  multivalue  one key with 2-3 values spread over the text, answer lists all
  multiquery  several needles, several questions answered in turn
"""

import random

# Closed vocabularies written for this tool (not taken from any data set).
FILLER_WORDS = (
    "the a an this that every some many few our their his her its one two three "
    "small large old new quiet bright dark green blue red warm cold slow quick "
    "early late long short heavy light calm busy simple strange gentle careful "
    "river mountain garden window city village market road bridge forest field "
    "house kitchen letter story morning evening winter summer teacher farmer "
    "doctor child friend neighbor painter sailor engine machine table chair "
    "book paper song voice idea plan problem answer question moment day year "
    "walked carried found opened closed watched built painted wrote read saw "
    "heard kept left brought made took gave moved turned followed crossed "
    "quietly slowly often never always sometimes again together outside inside "
    "near across through under over behind before after during without with "
    "and but so because while when although then"
).split()
NOUNS = (
    "river mountain garden window city village market road bridge forest field "
    "house kitchen letter story morning evening winter summer teacher farmer "
    "doctor child friend neighbor painter sailor engine machine table chair "
    "book paper song voice idea plan problem answer question moment"
).split()
VERBS = (
    "walked carried found opened closed watched built painted wrote read saw "
    "heard kept left brought made took gave moved turned followed crossed"
).split()
ADJS = (
    "small large old new quiet bright dark green blue red warm cold slow quick "
    "early late long short heavy light calm busy simple strange gentle careful"
).split()
PREPS = "near across through under over behind before after during without with".split()
ADVS = "quietly slowly often never always sometimes again together".split()
DETS = "the a this that every some our their his her".split()
CONJS = "and but so because while when although then".split()

KEY_WORDS = (
    "apple amber anchor arrow badger basil beacon birch bison cactus canyon "
    "cedar cobalt comet copper coral cricket crystal dahlia delta dragon eagle "
    "ember falcon fern fjord garnet ginger glacier granite harbor hazel heron "
    "indigo iris ivory jasper juniper kayak kernel kiwi lagoon lantern lemon "
    "lilac lotus lynx magnet mango maple marble meadow mercury mint nectar "
    "nickel nova oasis olive onyx orbit orchid otter panda pepper pebble "
    "pilot planet plum quartz quill raven reef ripple robin saffron salmon "
    "sapphire sierra silver spruce summit tango thistle thunder tiger topaz "
    "tulip tundra velvet violet walnut willow wizard yarrow zebra zenith"
).split()
HEX = "0123456789abcdef"
BOS, EOS, PAD = 256, 257, 258  # token ids after the 256 bytes


def _sentence(rng):
    def np_():
        w = [rng.choice(DETS)]
        if rng.random() < 0.5:
            w.append(rng.choice(ADJS))
        w.append(rng.choice(NOUNS))
        return w

    words = np_() + [rng.choice(VERBS)] + np_()
    r = rng.random()
    if r < 0.35:
        words += [rng.choice(PREPS)] + np_()
    elif r < 0.5:
        words += [rng.choice(ADVS)]
    if rng.random() < 0.3:
        words += [rng.choice(CONJS)] + np_() + [rng.choice(VERBS)] + np_()
    s = " ".join(words)
    return s[0].upper() + s[1:] + "."


def filler(rng, n_bytes):
    """English-like sentences, at least n_bytes long, as a list of sentences."""
    out, total = [], 0
    while total < n_bytes:
        s = _sentence(rng)
        out.append(s)
        total += len(s) + 1
    return out


def make_key(rng, kind):
    if kind == "word1":
        return rng.choice(KEY_WORDS)
    if kind == "word":
        return rng.choice(KEY_WORDS) + "-" + rng.choice(KEY_WORDS)
    if kind == "number":
        return str(rng.randint(1000, 99999))
    return "".join(rng.choice(HEX) for _ in range(8))


def make_value(rng, kind):
    if kind == "number":
        return str(rng.randint(100000, 9999999))
    if kind == "word":
        return rng.choice(KEY_WORDS)
    return "".join(rng.choice(HEX) for _ in range(8)) + "-" + "".join(rng.choice(HEX) for _ in range(4))


KINDS = ("word", "number", "uuid")


def needle_text(key, value):
    return f"The secret code for {key}: {value}."


def question_prefix(key):
    return f" What is the secret code for {key}? The secret code for {key}: "


def multi_question_prefix(key):
    return f" What are all the secret codes for {key}? The secret codes for {key}: "


def join_values(values):
    return ", ".join(values)


def distinct_keys(rng, n, kinds):
    keys = set()
    out = []
    while len(out) < n:
        k = make_key(rng, rng.choice(kinds))
        if k not in keys:
            keys.add(k)
            out.append(k)
    return out


def _place(rng, sentences, items, depths=None):
    """Insert items between filler sentences at the given depths (0..1) or at random."""
    n = len(sentences)
    slots = []
    for i, it in enumerate(items):
        d = depths[i] if depths is not None else rng.random()
        slots.append((min(n, int(round(d * n))), i, it))
    slots.sort()
    out, j = [], 0
    for pos, _, it in slots:
        out.extend(sentences[j:pos])
        out.append(it)
        j = pos
    out.extend(sentences[j:])
    return " ".join(out)


EASY_KEYS = ("word1",)
EASY_VALUES = ("number", "word")


def train_sample(rng, length, kinds=KINDS, max_needles=16, value_kinds=KINDS):
    """One training sequence of exactly `length` bytes.

    Returns (bytes, mask): mask is 1 on the key restated inside a question, 2
    on an answer's first byte (the retrieval proper), 3 on its other bytes,
    0 elsewhere. Questions appear both inside the text (right
    after their needle has been seen) and at the end, so each sequence carries
    many supervised retrievals at many distances.
    """
    n_needles = rng.randint(1, max(1, min(max_needles, length // 64)))
    keys = distinct_keys(rng, n_needles, kinds)
    vkind = {k: rng.choice(value_kinds) for k in keys}
    facts = []
    multi = {}
    for k in keys:
        if rng.random() < 0.15:
            vals = [make_value(rng, vkind[k]) for _ in range(rng.randint(2, 3))]
            multi[k] = vals
            for v in vals:
                facts.append((k, v))
        else:
            facts.append((k, make_value(rng, vkind[k])))
    rng.shuffle(facts)
    # Segments: ("text", str) or ("qa", prefix, answer). Questions follow the
    # last needle of their key at a random later point. Filler fills what the
    # needles and questions leave, so nothing supervised is cut off.
    n_q = {k: rng.randint(1, 2) for k in keys}
    qa_bytes = sum(n_q[k] * (len(question_prefix(k)) + 16) for k in keys)
    fact_bytes = sum(len(needle_text(k, v)) + 1 for k, v in facts)
    body = filler(rng, max(1, length + 1 - qa_bytes - fact_bytes))
    n = len(body)
    events = []  # (position in sentence list, order, segment)
    first_pos = {}
    last_pos = {}
    for i, (k, v) in enumerate(facts):
        p = rng.randint(0, n)
        events.append((p, 0, i, ("text", needle_text(k, v))))
        first_pos.setdefault(k, p)
        last_pos[k] = max(last_pos.get(k, p), p)
    seen_order = {}
    for p, _, i, _ in sorted(events):
        k = facts[i][0]
        seen_order.setdefault(k, []).append(facts[i][1])
    for k in keys:
        for _ in range(n_q[k]):
            q = rng.randint(last_pos[k], n)
            if k in multi:
                seg = ("qa", multi_question_prefix(k), join_values(seen_order[k]) + ".", k)
            else:
                seg = ("qa", question_prefix(k), seen_order[k][0] + ".", k)
            events.append((q, 1, rng.random(), seg))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    segs = []
    j = 0
    for p, _, _, seg in events:
        if p > j:
            segs.append(("text", " " + " ".join(body[j:p])))
            j = p
        segs.append(seg if seg[0] == "qa" else ("text", " " + seg[1]))
    if j < n:
        segs.append(("text", " " + " ".join(body[j:])))
    data = bytearray()
    mask = bytearray()
    for seg in segs:
        if seg[0] == "text":
            b = seg[1].encode()
            data += b
            mask += bytes(len(b))
        else:
            b1, b2 = seg[1].encode(), seg[2].encode()
            # The key's second mention inside the question is supervised too:
            # copying it from 30 bytes back is the short-range version of the
            # retrieval and grows the induction heads early.
            k = seg[3].encode()
            cut = b1.rindex(k)
            data += b1
            mask += bytes(cut) + b"\x01" * len(k) + bytes(len(b1) - cut - len(k))
            data += b2
            mask += b"\x02" + b"\x03" * (len(b2) - 1)
        if len(data) >= length + 1:
            break
    while len(data) < length + 1:
        b = (" " + _sentence(rng)).encode()
        data += b
        mask += bytes(len(b))
    return bytes(data[: length + 1]), bytes(mask[: length + 1])


def make_eval_prompt(rng, variant, length, depth):
    """A held-out prompt of about `length` bytes with the needle at `depth` (0..1).

    Returns (context, [(question_prefix, expected_answer), ...]); questions are
    asked in turn after the context, each answer generated greedily.
    """
    if variant == "single":
        keys, n_distract = distinct_keys(rng, 1, KINDS), 0
    elif variant == "multikey":
        keys, n_distract = distinct_keys(rng, 4, KINDS), 3
    elif variant == "multivalue":
        keys, n_distract = distinct_keys(rng, 1, KINDS), 0
    elif variant == "multiquery":
        keys, n_distract = distinct_keys(rng, 4, KINDS), 0
    else:
        raise ValueError(f"unknown variant {variant!r}: use single, multikey, multivalue or multiquery")
    target = keys[0]
    items, depths = [], []
    answers = []
    if variant == "multivalue":
        vk = rng.choice(KINDS)
        vals = [make_value(rng, vk) for _ in range(rng.randint(2, 3))]
        # The first value sits at the requested depth, the others at random ones.
        ds = [depth] + [rng.random() for _ in vals[1:]]
        order = sorted(range(len(vals)), key=lambda i: ds[i])
        for i in range(len(vals)):
            items.append(needle_text(target, vals[i]))
            depths.append(ds[i])
        questions = [(multi_question_prefix(target), join_values([vals[i] for i in order]))]
    else:
        for i, k in enumerate(keys):
            v = make_value(rng, rng.choice(KINDS))
            items.append(needle_text(k, v))
            depths.append(depth if i == 0 else rng.random())
            answers.append((k, v))
        if variant == "multiquery":
            qs = answers[:]
            rng.shuffle(qs)
            questions = [(question_prefix(k), v) for k, v in qs]
        else:
            questions = [(question_prefix(target), answers[0][1])]
    q_bytes = sum(len(q.encode()) + len(a) + 1 for q, a in questions)
    need_bytes = sum(len(t) + 1 for t in items)
    budget = length - q_bytes - need_bytes - 8
    sentences = filler(rng, budget)
    while len(" ".join(sentences)) > budget and len(sentences) > 1:
        sentences.pop()
    context = " " + _place(rng, sentences, items, depths)
    return context, questions
