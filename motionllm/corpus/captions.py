"""Captions in HumanML3D style, generated from the structured labels, with part-of-speech tokens.

Every word comes from a template written here, so its part of speech is known (spaCy's coarse UPOS
tags, as HumanML3D's texts use them); no tagger is needed. Tokens follow HumanML3D's text processing:
nouns and verbs are lemmatised (except 'left'), other words kept as written, punctuation dropped.

Template syntax (one verb phrase, subject left out): space-separated items, each
    V:lemma          a verb, inflected as the sentence needs ("walks" / "walking")
    word/POS         a word; word/POS/lemma when the lemma differs ("hands/NOUN/hand")
    {slot}           words filled in from the label (side, count, direction, possessive...)
Captions only say what the labels say (and the motion does): sides, directions, counts and speeds.
"""
from __future__ import annotations

import numpy as np

from motionllm.motion.dataset import Caption

NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
           "twelve", "thirteen", "fourteen", "fifteen", "sixteen")
DOUBLE_FINAL = {"run", "jog", "hop", "step", "clap", "skip", "sit", "squat", "spin", "shrug", "stop", "get",
                "put", "swing", "drop", "grab", "nod", "jab", "tap"}
SUBJECTS = (("a/DET person/NOUN", "their"), ("someone/PRON", "their"), ("the/DET person/NOUN", "their"),
            ("a/DET man/NOUN", "his"), ("a/DET woman/NOUN", "her"), ("a/DET human/NOUN", "their"),
            ("the/DET man/NOUN", "his"), ("the/DET woman/NOUN", "her"), ("a/DET figure/NOUN", "their"))
SUBJECT_WEIGHTS = (0.3, 0.12, 0.12, 0.14, 0.1, 0.06, 0.06, 0.05, 0.05)


def third_person(lemma: str) -> str:
    if lemma == "be":
        return "is"
    if lemma in ("go", "do"):
        return lemma + "es"
    if lemma.endswith(("s", "sh", "ch", "x", "z")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def gerund(lemma: str) -> str:
    if lemma == "be":
        return "being"
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma in DOUBLE_FINAL and lemma != "swing":
        return lemma + lemma[-1] + "ing"
    if lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")):
        return lemma[:-1] + "ing"
    return lemma + "ing"


def number_word(n: int) -> str:
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else str(n)


# --- label -> verb phrase templates ------------------------------------------------------------------

def _times(n: int | None) -> str:
    if not n:
        return ""
    if n == 1:
        return "once/ADV"
    if n == 2:
        return "twice/ADV"
    return f"{number_word(n)}/NUM times/NOUN/time"


def _speed_adv(speed: str | None, rng) -> str:
    if speed == "slow":
        return str(rng.choice(["slowly/ADV", "slowly/ADV", "at/ADP a/DET slow/ADJ pace/NOUN"]))
    if speed == "fast":
        return str(rng.choice(["quickly/ADV", "fast/ADV", "at/ADP a/DET fast/ADJ pace/NOUN"]))
    return ""


def _turn_words(direction: str, degrees: float, rng) -> list[str]:
    d = direction
    if degrees >= 300:
        return [f"V:turn all/DET the/DET way/NOUN around/ADV to/ADP the/DET {d}/NOUN"]
    if degrees >= 170:
        return [f"V:turn around/ADV to/ADP the/DET {d}/NOUN", f"V:turn around/ADV over/ADP {{poss}} {d}/ADJ "
                "shoulder/NOUN", f"V:make a/DET half/ADJ turn/NOUN to/ADP the/DET {d}/NOUN",
                f"V:turn one/NUM hundred/NUM and/CCONJ eighty/NUM degrees/NOUN/degree to/ADP the/DET {d}/NOUN"]
    if degrees >= 80:
        return [f"V:turn {d}/ADV", f"V:turn to/ADP the/DET {d}/NOUN", f"V:make a/DET quarter/NOUN turn/NOUN "
                f"to/ADP the/DET {d}/NOUN", f"V:turn ninety/NUM degrees/NOUN/degree to/ADP the/DET {d}/NOUN"]
    return [f"V:turn slightly/ADV to/ADP the/DET {d}/NOUN", f"V:turn a/DET little/ADJ to/ADP the/DET {d}/NOUN",
            f"V:turn forty/NUM five/NUM degrees/NOUN/degree to/ADP the/DET {d}/NOUN"]


def _hand(side: str, plural_both: bool = True) -> str:
    if side == "both":
        return "both/DET hands/NOUN/hand" if plural_both else "both/DET arms/NOUN/arm"
    return f"{{the}} {side}/ADJ hand/NOUN"


def _arm(side: str) -> str:
    if side == "both":
        return "both/DET arms/NOUN/arm"
    return f"{{the}} {side}/ADJ arm/NOUN"


def _leg(side: str) -> str:
    return f"{{the}} {side}/ADJ leg/NOUN"


def _foot(side: str) -> str:
    return f"{{the}} {side}/ADJ foot/NOUN"


def templates(label: dict, rng) -> list[str]:
    """Verb-phrase templates that describe one action label faithfully."""
    kind, side, direction, count, speed = (label["type"], label.get("side"), label.get("direction"),
                                           label.get("count"), label.get("speed"))
    p = label.get("params", {})
    sp = _speed_adv(speed, rng)
    times = _times(count)
    n = number_word(count) if count else ""

    if kind == "walk":
        out = [f"V:walk forward/ADV {sp}", f"V:walk {sp} straight/ADV ahead/ADV", f"V:move forward/ADV {sp}",
               f"V:walk ahead/ADV {sp}"]
        if speed == "slow":
            out += ["V:stroll forward/ADV", "V:walk slowly/ADV forward/ADV"]
        if speed == "fast":
            out += ["V:walk briskly/ADV forward/ADV", "V:walk forward/ADV quickly/ADV"]
        if count and count <= 8:
            out.append(f"V:take {n}/NUM steps/NOUN/step forward/ADV")
        return out
    if kind == "jog":
        return [f"V:jog forward/ADV {sp}", f"V:jog {sp} ahead/ADV", f"V:jog in/ADP a/DET straight/ADJ line/NOUN {sp}",
                f"V:go for/ADP a/DET short/ADJ jog/NOUN {sp}"]
    if kind == "run":
        return [f"V:run forward/ADV {sp}", f"V:run {sp} straight/ADV ahead/ADV", f"V:sprint forward/ADV"
                if speed == "fast" else f"V:run ahead/ADV {sp}", f"V:run in/ADP a/DET straight/ADJ line/NOUN {sp}"]
    if kind == "walk_backward":
        return [f"V:walk backwards/ADV {sp}", f"V:walk backward/ADV {sp}", f"V:step backwards/ADV {sp}",
                f"V:move backwards/ADV {sp}", f"V:back up/ADP {sp}"]
    if kind == "sidestep":
        d = direction
        return [f"V:sidestep to/ADP the/DET {d}/NOUN", f"V:step sideways/ADV to/ADP the/DET {d}/NOUN {sp}",
                f"V:shuffle sideways/ADV to/ADP {{poss}} {d}/NOUN", f"V:move sideways/ADV to/ADP the/DET {d}/NOUN",
                f"V:take side/NOUN steps/NOUN/step to/ADP the/DET {d}/NOUN"]
    if kind == "turn_in_place":
        return _turn_words(direction, p.get("degrees", 90), rng) + [
            w + " in/ADP place/NOUN" for w in _turn_words(direction, p.get("degrees", 90), rng)[:2]]
    if kind == "walk_turn":
        d = direction
        if p.get("degrees", 90) >= 170:
            return [f"V:walk forward/ADV , V:turn around/ADV to/ADP the/DET {d}/NOUN and/CCONJ V:walk back/ADV",
                    f"V:walk ahead/ADV then/ADV V:turn around/ADV and/CCONJ V:come back/ADV",
                    f"V:walk forward/ADV and/CCONJ V:make a/DET u/NOUN turn/NOUN to/ADP the/DET {d}/NOUN"]
        return [f"V:walk forward/ADV and/CCONJ V:turn {d}/ADV", f"V:walk forward/ADV , V:turn to/ADP the/DET "
                f"{d}/NOUN and/CCONJ V:keep walking/VERB/walk", f"V:walk ahead/ADV then/ADV V:make a/DET {d}/ADJ "
                "turn/NOUN", f"V:walk and/CCONJ V:turn to/ADP the/DET {d}/NOUN while/SCONJ walking/VERB/walk"]
    if kind == "walk_curve":
        d = direction
        return [f"V:walk in/ADP a/DET curve/NOUN to/ADP the/DET {d}/NOUN", f"V:walk along/ADP a/DET curved/ADJ "
                f"path/NOUN to/ADP the/DET {d}/NOUN", f"V:walk forward/ADV while/SCONJ curving/VERB/curve to/ADP "
                f"the/DET {d}/NOUN", f"V:walk in/ADP an/DET arc/NOUN toward/ADP the/DET {d}/NOUN"]
    if kind == "walk_circle":
        d = direction
        way = "counterclockwise/ADV" if d == "left" else "clockwise/ADV"
        return [f"V:walk in/ADP a/DET circle/NOUN to/ADP the/DET {d}/NOUN", f"V:walk in/ADP a/DET full/ADJ "
                f"circle/NOUN {way}", f"V:walk around/ADP in/ADP a/DET circle/NOUN turning/VERB/turn {d}/ADV",
                f"V:circle {way} while/SCONJ walking/VERB/walk"]
    if kind == "walk_zigzag":
        legs = p.get("legs", 3)
        return ["V:walk in/ADP a/DET zigzag/NOUN", "V:walk forward/ADV in/ADP a/DET zigzag/ADJ pattern/NOUN",
                "V:zigzag forward/ADV", f"V:walk a/DET zigzag/ADJ path/NOUN with/ADP {number_word(legs)}/NUM "
                "straight/ADJ segments/NOUN/segment"]
    if kind == "march":
        return [f"V:march in/ADP place/NOUN", f"V:march on/ADP the/DET spot/NOUN", f"V:march in/ADP place/NOUN "
                f"lifting/VERB/lift {{poss}} knees/NOUN/knee high/ADV", f"V:take {n}/NUM marching/VERB/march "
                "steps/NOUN/step in/ADP place/NOUN"]
    if kind == "stomp":
        if side == "both":
            return [f"V:stomp {{poss}} feet/NOUN/foot {times}", "V:stomp alternately/ADV with/ADP both/DET "
                    "feet/NOUN/foot", f"V:stomp on/ADP the/DET ground/NOUN {times}"]
        return [f"V:stomp {_foot(side)} {times}", f"V:stomp {times} with/ADP {_foot(side)}",
                f"V:lift {_foot(side)} and/CCONJ V:stomp it/PRON down/ADP {times}"]
    if kind == "tiptoe":
        return ["V:tiptoe forward/ADV", "V:walk forward/ADV on/ADP tiptoes/NOUN/tiptoe",
                "V:sneak forward/ADV on/ADP {poss} toes/NOUN/toe", "V:walk slowly/ADV on/ADP {poss} toes/NOUN/toe"]
    if kind == "skip":
        return ["V:skip forward/ADV", "V:skip ahead/ADV happily/ADV", "V:skip along/ADV", "V:move forward/ADV "
                "skipping/VERB/skip"]
    if kind == "climb_stairs":
        return [f"V:walk up/ADP the/DET stairs/NOUN/stair", f"V:climb up/ADP {n}/NUM steps/NOUN/step",
                f"V:go up/ADP a/DET flight/NOUN of/ADP stairs/NOUN/stair", "V:climb the/DET stairs/NOUN/stair",
                f"V:walk up/ADP {n}/NUM stairs/NOUN/stair"]
    if kind == "descend_stairs":
        return [f"V:walk down/ADP the/DET stairs/NOUN/stair", f"V:go down/ADP {n}/NUM steps/NOUN/step",
                "V:walk down/ADP a/DET flight/NOUN of/ADP stairs/NOUN/stair", "V:descend the/DET stairs/NOUN/stair",
                f"V:step down/ADP {n}/NUM stairs/NOUN/stair"]
    if kind == "spin":
        turns = "once/ADV" if count == 1 else "twice/ADV"
        way = "counterclockwise/ADV" if direction == "left" else "clockwise/ADV"
        return [f"V:spin around/ADV {turns}", f"V:spin {turns} to/ADP the/DET {direction}/NOUN",
                f"V:twirl around/ADV {turns}", f"V:spin around/ADV {way}",
                f"V:do a/DET full/ADJ spin/NOUN to/ADP the/DET {direction}/NOUN" if count == 1 else
                f"V:do two/NUM full/ADJ spins/NOUN/spin to/ADP the/DET {direction}/NOUN"]

    if kind == "wave":
        hand = _hand(side)
        return [f"V:wave {hand}", f"V:wave with/ADP {hand}", f"V:raise {hand} and/CCONJ V:wave",
                f"V:wave hello/INTJ with/ADP {hand}", f"V:wave {hand} {times} back/ADV and/CCONJ forth/ADV"
                if count else f"V:wave {hand}"]
    if kind == "raise_arm":
        arm = _arm(side)
        where = {"up": ["above/ADP {poss} head/NOUN", "up/ADV", "over/ADP {poss} head/NOUN"],
                 "forward": ["forward/ADV", "in/ADP front/NOUN", "straight/ADV out/ADV in/ADP front/NOUN"],
                 "side": ["out/ADV to/ADP the/DET side/NOUN", "sideways/ADV", "to/ADP shoulder/NOUN height/NOUN "
                          "at/ADP the/DET side/NOUN"]}[direction or "up"]
        return [f"V:raise {arm} {w}" for w in where] + [f"V:lift {arm} {where[0]}"]
    if kind == "point":
        hand = _hand(side)
        where = {"forward": "forward/ADV", "up": "up/ADV", "side": f"to/ADP the/DET {side}/NOUN",
                 "down": "down/ADV at/ADP the/DET ground/NOUN"}[direction]
        return [f"V:point {where} with/ADP {hand}", f"V:point {where} using/VERB/use {hand}",
                f"V:raise {_arm(side)} and/CCONJ V:point {where}", f"V:point {where} with/ADP {{the}} {side}/ADJ "
                "arm/NOUN"]
    if kind == "reach":
        arm = _arm(side)
        where = {"forward": "forward/ADV", "up": "up/ADV high/ADV", "side": f"out/ADV to/ADP the/DET {side}/NOUN"}[direction]
        obj = {"forward": "in/ADP front/NOUN", "up": "above/ADP", "side": f"on/ADP {{poss}} {side}/NOUN"}[direction]
        return [f"V:reach {where} with/ADP {_hand(side)}", f"V:stretch {arm} {where}",
                f"V:reach {where} with/ADP {arm}", f"V:reach for/ADP something/PRON {obj} with/ADP {_hand(side)}"]
    if kind == "stretch_arms":
        if direction == "up":
            return ["V:stretch both/DET arms/NOUN/arm above/ADP {poss} head/NOUN", "V:stretch {poss} arms/NOUN/arm "
                    "up/ADV", "V:reach up/ADV with/ADP both/DET arms/NOUN/arm and/CCONJ V:stretch",
                    "V:raise both/DET arms/NOUN/arm overhead/ADV and/CCONJ V:stretch"]
        return ["V:stretch {poss} arms/NOUN/arm out/ADV to/ADP the/DET sides/NOUN/side", "V:spread both/DET "
                "arms/NOUN/arm out/ADV wide/ADV", "V:hold both/DET arms/NOUN/arm out/ADV to/ADP the/DET "
                "sides/NOUN/side", "V:stretch out/ADP {poss} arms/NOUN/arm sideways/ADV"]
    if kind == "hands_on_hips":
        return ["V:put {poss} hands/NOUN/hand on/ADP {poss} hips/NOUN/hip", "V:place both/DET hands/NOUN/hand on/ADP "
                "{poss} hips/NOUN/hip", "V:stand with/ADP {poss} hands/NOUN/hand on/ADP {poss} hips/NOUN/hip",
                "V:rest {poss} hands/NOUN/hand on/ADP {poss} hips/NOUN/hip"]
    if kind == "cross_arms":
        return ["V:cross {poss} arms/NOUN/arm", "V:fold {poss} arms/NOUN/arm across/ADP {poss} chest/NOUN",
                "V:cross both/DET arms/NOUN/arm in/ADP front/NOUN of/ADP {poss} chest/NOUN",
                "V:stand with/ADP {poss} arms/NOUN/arm crossed/VERB/cross"]
    if kind == "salute":
        return [f"V:salute with/ADP {_hand(side)}", f"V:raise {_hand(side)} to/ADP {{poss}} forehead/NOUN in/ADP "
                "a/DET salute/NOUN", f"V:give a/DET salute/NOUN with/ADP {_hand(side)}", f"V:salute using/VERB/use "
                f"{_hand(side)}"]
    if kind == "talk_on_phone":
        return [f"V:hold a/DET phone/NOUN to/ADP {{poss}} ear/NOUN with/ADP {_hand(side)}", f"V:talk on/ADP "
                f"the/DET phone/NOUN holding/VERB/hold it/PRON in/ADP {_hand(side)}", f"V:put {_hand(side)} "
                f"to/ADP {{poss}} ear/NOUN as/SCONJ if/SCONJ on/ADP a/DET call/NOUN", f"V:make a/DET phone/NOUN "
                f"call/NOUN with/ADP {_hand(side)}"]
    if kind == "check_watch":
        return [f"V:look at/ADP the/DET watch/NOUN on/ADP {_arm(side)}", f"V:check the/DET time/NOUN on/ADP "
                f"{{poss}} {side}/ADJ wrist/NOUN", f"V:raise {_arm(side)} and/CCONJ V:look at/ADP {{poss}} "
                "watch/NOUN", f"V:glance at/ADP {{poss}} {side}/ADJ wrist/NOUN"]
    if kind == "drink":
        return [f"V:drink from/ADP a/DET cup/NOUN in/ADP {_hand(side)}", f"V:bring {_hand(side)} to/ADP "
                f"{{poss}} mouth/NOUN and/CCONJ V:drink", f"V:take a/DET sip/NOUN from/ADP a/DET bottle/NOUN "
                f"held/VERB/hold in/ADP {_hand(side)}", f"V:drink something/PRON with/ADP {_hand(side)}"]
    if kind == "scratch_head":
        return [f"V:scratch {{poss}} head/NOUN with/ADP {_hand(side)}", f"V:scratch the/DET top/NOUN of/ADP "
                f"{{poss}} head/NOUN using/VERB/use {_hand(side)}", f"V:raise {_hand(side)} and/CCONJ V:scratch "
                "{poss} head/NOUN"]
    if kind == "clap":
        return [f"V:clap {times}", f"V:clap {{poss}} hands/NOUN/hand {times}", f"V:clap {times} in/ADP front/NOUN "
                "of/ADP {poss} chest/NOUN", f"V:bring {{poss}} hands/NOUN/hand together/ADV {times}"]
    if kind == "shrug":
        return [f"V:shrug {{poss}} shoulders/NOUN/shoulder {times}", f"V:shrug {times}",
                "V:shrug {poss} shoulders/NOUN/shoulder" if count == 1 else f"V:shrug {times} with/ADP "
                "{poss} palms/NOUN/palm up/ADV", "V:lift {poss} shoulders/NOUN/shoulder in/ADP a/DET "
                f"shrug/NOUN {times}"]
    if kind == "arm_circles":
        way = direction + "/ADV"
        arms = _arm(side) if side != "both" else "both/DET arms/NOUN/arm"
        return [f"V:make {number_word(count)}/NUM big/ADJ {direction}/ADJ circles/NOUN/circle with/ADP {arms}",
                f"V:swing {arms} in/ADP circles/NOUN/circle {way}", f"V:circle {arms} {way} {times}",
                f"V:rotate {arms} {way} {times}"]
    if kind in ("jab", "cross"):
        hand = _hand(side)
        noun = {"jab": ("jab", "jabs"), "cross": ("cross", "crosses")}[kind]
        thrown = (f"a/DET {side}/ADJ {noun[0]}/NOUN" if count == 1 else
                  f"{n}/NUM {side}/ADJ {noun[1]}/NOUN/{noun[0]}")
        return [f"V:punch forward/ADV with/ADP {hand} {times}", f"V:throw {thrown}",
                f"V:punch {times} with/ADP {{poss}} {side}/ADJ fist/NOUN",
                f"V:raise {{poss}} fists/NOUN/fist and/CCONJ V:punch with/ADP {hand} {times}"]
    if kind == "throw":
        return [f"V:throw something/PRON overhand/ADV with/ADP {_hand(side)}", f"V:throw a/DET ball/NOUN with/ADP "
                f"{_hand(side)}", f"V:wind up/ADP and/CCONJ V:throw with/ADP {_arm(side)}", f"V:make an/DET "
                f"overhand/ADJ throw/NOUN with/ADP {_arm(side)}"]
    if kind == "kick_front":
        return [f"V:kick forward/ADV with/ADP {_leg(side)}", f"V:kick {_foot(side)} forward/ADV",
                f"V:do a/DET front/ADJ kick/NOUN with/ADP {_leg(side)}", f"V:lift {_leg(side)} and/CCONJ "
                "V:kick straight/ADV ahead/ADV"]
    if kind == "kick_side":
        return [f"V:kick sideways/ADV with/ADP {_leg(side)}", f"V:kick to/ADP the/DET {side}/NOUN with/ADP "
                f"{_leg(side)}", f"V:do a/DET side/NOUN kick/NOUN with/ADP {_leg(side)}", f"V:kick {_foot(side)} "
                f"out/ADV to/ADP the/DET {side}/NOUN"]

    if kind == "squat":
        return [f"V:squat down/ADV {times}", f"V:do {n}/NUM squats/NOUN/squat" if count != 1 else
                "V:do a/DET squat/NOUN", f"V:squat {times} and/CCONJ V:stand back/ADV up/ADP", f"V:bend {{poss}} "
                f"knees/NOUN/knee into/ADP a/DET squat/NOUN {times}"]
    if kind == "lunge":
        return [f"V:lunge forward/ADV with/ADP {_leg(side)} {times}", f"V:step forward/ADV into/ADP a/DET "
                f"lunge/NOUN with/ADP {_leg(side)}" + (f" {times}" if count and count > 1 else ""),
                f"V:do {n}/NUM lunges/NOUN/lunge with/ADP {_leg(side)}" if count != 1 else
                f"V:do a/DET lunge/NOUN with/ADP {_leg(side)} forward/ADV", f"V:lunge {times} stepping/VERB/step "
                f"forward/ADV with/ADP {_foot(side)}"]
    if kind == "pick_up":
        hand = _hand(side)
        return [f"V:bend down/ADP and/CCONJ V:pick something/PRON up/ADP with/ADP {hand}", f"V:pick up/ADP "
                f"an/DET object/NOUN from/ADP the/DET floor/NOUN with/ADP {hand}", f"V:reach down/ADV to/ADP "
                f"the/DET ground/NOUN and/CCONJ V:pick something/PRON up/ADP with/ADP {hand}",
                f"V:bend over/ADP , V:grab something/PRON off/ADP the/DET floor/NOUN with/ADP {hand} and/CCONJ "
                "V:stand up/ADP"]
    if kind == "bend_forward":
        return ["V:bend forward/ADV at/ADP the/DET waist/NOUN", "V:bend over/ADP and/CCONJ V:straighten "
                "back/ADV up/ADP", "V:lean forward/ADV bending/VERB/bend at/ADP the/DET hips/NOUN/hip",
                "V:bend down/ADP forward/ADV and/CCONJ V:come back/ADV up/ADP"]
    if kind == "bow":
        return ["V:bow", "V:bow forward/ADV", "V:take a/DET bow/NOUN", "V:bend forward/ADV in/ADP a/DET "
                "bow/NOUN", "V:bow politely/ADV"]
    if kind == "sit_down":
        return ["V:sit down/ADP", "V:sit down/ADP on/ADP a/DET chair/NOUN", "V:lower {poss} body/NOUN and/CCONJ "
                "V:sit down/ADP", "V:take a/DET seat/NOUN"]
    if kind == "stand_up":
        return ["V:stand up/ADP", "V:stand up/ADP from/ADP a/DET chair/NOUN", "V:get up/ADP from/ADP a/DET "
                "seated/ADJ position/NOUN", "V:rise from/ADP the/DET chair/NOUN"]
    if kind == "crouch":
        return ["V:crouch down/ADP", "V:crouch low/ADV and/CCONJ V:stand back/ADV up/ADP", "V:squat down/ADV low/ADV "
                "on/ADP {poss} toes/NOUN/toe", "V:crouch down/ADP and/CCONJ V:get back/ADV up/ADP"]
    if kind == "kneel":
        return [f"V:kneel down/ADP on/ADP {{poss}} {side}/ADJ knee/NOUN", f"V:go down/ADP on/ADP {{poss}} "
                f"{side}/ADJ knee/NOUN and/CCONJ V:get back/ADV up/ADP", f"V:kneel on/ADP one/NUM knee/NOUN , "
                f"the/DET {side}/ADJ one/NOUN", f"V:drop to/ADP {{poss}} {side}/ADJ knee/NOUN and/CCONJ "
                "V:stand up/ADP again/ADV"]
    if kind == "balance_one_leg":
        other = "left" if side == "right" else "right"
        return [f"V:balance on/ADP {_leg(side)}", f"V:stand on/ADP {_leg(side)}", f"V:lift {_leg(other)} and/CCONJ "
                f"V:balance on/ADP the/DET {side}/ADJ one/NOUN", f"V:balance on/ADP one/NUM leg/NOUN , "
                f"the/DET {side}/ADJ one/NOUN , with/ADP {{poss}} arms/NOUN/arm out/ADV"]
    if kind == "jump_in_place":
        return [f"V:jump up/ADV {times}", f"V:jump in/ADP place/NOUN {times}", f"V:jump straight/ADV up/ADV "
                f"{times}", f"V:hop up/ADV and/CCONJ down/ADV {times}" if count and count > 1 else
                "V:jump once/ADV in/ADP place/NOUN"]
    if kind == "jump_forward":
        return [f"V:jump forward/ADV {times}", f"V:leap forward/ADV {times}", f"V:jump ahead/ADV {times}",
                "V:do a/DET long/ADJ jump/NOUN forward/ADV" if count == 1 else
                f"V:jump forward/ADV {times} in/ADP a/DET row/NOUN"]
    if kind == "jumping_jacks":
        return [f"V:do {n}/NUM jumping/VERB/jump jacks/NOUN/jack", f"V:perform {n}/NUM jumping/VERB/jump "
                "jacks/NOUN/jack", f"V:do jumping/VERB/jump jacks/NOUN/jack {times}",
                f"V:jump {{poss}} feet/NOUN/foot apart/ADV and/CCONJ together/ADV {times} while/SCONJ "
                "swinging/VERB/swing {poss} arms/NOUN/arm overhead/ADV"]
    if kind == "hop_one_leg":
        where = "forward/ADV" if direction == "forward" else "in/ADP place/NOUN"
        return [f"V:hop on/ADP {_leg(side)} {times}", f"V:hop {where} on/ADP {_leg(side)}",
                f"V:hop {times} {where} on/ADP {_foot(side)}", f"V:jump on/ADP one/NUM leg/NOUN , the/DET "
                f"{side}/ADJ one/NOUN , {times}"]
    if kind == "stand_idle":
        return ["V:stand still/ADV", "V:stand in/ADP place/NOUN", "V:stand still/ADJ and/CCONJ V:wait",
                "V:stand there/ADV idly/ADV"]
    if kind == "shift_weight":
        return [f"V:shift {{poss}} weight/NOUN from/ADP side/NOUN to/ADP side/NOUN", f"V:shift {{poss}} "
                f"weight/NOUN onto/ADP {{poss}} {side}/ADJ leg/NOUN", "V:stand and/CCONJ V:shift {poss} weight/NOUN "
                "between/ADP {poss} legs/NOUN/leg"] if count and count > 1 else [
            f"V:shift {{poss}} weight/NOUN onto/ADP {{poss}} {side}/ADJ leg/NOUN", f"V:lean {{poss}} weight/NOUN "
            f"onto/ADP the/DET {side}/ADJ leg/NOUN", f"V:shift {{poss}} weight/NOUN to/ADP the/DET {side}/NOUN"]
    if kind == "look_around":
        return ["V:look around/ADV", f"V:look to/ADP the/DET {side}/NOUN and/CCONJ then/ADV to/ADP the/DET "
                f"{'right' if side == 'left' else 'left'}/NOUN", "V:turn {poss} head/NOUN to/PART look/VERB "
                "around/ADV", "V:look around/ADV from/ADP "
                "side/NOUN to/ADP side/NOUN"]
    if kind == "stretch_neck":
        return ["V:stretch {poss} neck/NOUN", f"V:tilt {{poss}} head/NOUN from/ADP side/NOUN to/ADP side/NOUN",
                f"V:stretch {{poss}} neck/NOUN tilting/VERB/tilt {{poss}} head/NOUN to/ADP the/DET {side}/NOUN "
                "first/ADV", "V:tilt {poss} head/NOUN to/ADP each/DET side/NOUN to/PART stretch/VERB"]
    if kind == "sway":
        arms_up = p.get("arms") == "raised"
        return ["V:sway {poss} hips/NOUN/hip from/ADP side/NOUN to/ADP side/NOUN", "V:sway side/NOUN to/ADP "
                "side/NOUN" + (" with/ADP {poss} arms/NOUN/arm up/ADV" if arms_up else ""), "V:dance swaying/VERB/sway "
                "left/ADV and/CCONJ right/ADV", f"V:sway back/ADV and/CCONJ forth/ADV {times}"]
    if kind == "step_touch":
        return ["V:dance stepping/VERB/step from/ADP side/NOUN to/ADP side/NOUN", f"V:do {n}/NUM step/NOUN "
                "touches/NOUN/touch", "V:step side/NOUN to/ADP side/NOUN tapping/VERB/tap {poss} feet/NOUN/foot",
                f"V:step to/ADP the/DET {side}/NOUN and/CCONJ V:tap , then/ADV to/ADP the/DET "
                f"{'right' if side == 'left' else 'left'}/NOUN"]

    # Actions of the real mocap datasets (motionllm.realdata) that the generator does not make.
    if kind == "walk_diagonal":
        d = direction
        return [f"V:walk forward/ADV diagonally/ADV to/ADP the/DET {d}/NOUN {sp}", f"V:walk diagonally/ADV "
                f"to/ADP the/DET {d}/NOUN {sp}", f"V:walk ahead/ADV and/CCONJ to/ADP the/DET {d}/NOUN {sp}",
                f"V:walk forward/ADV , drifting/VERB/drift to/ADP the/DET {d}/NOUN"]
    if kind == "guide":
        hand = _hand(side)
        return [f"V:gesture with/ADP {hand} to/PART show/VERB the/DET way/NOUN", f"V:guide someone/PRON "
                f"with/ADP {hand}", f"V:extend {_arm(side)} to/PART show/VERB someone/PRON the/DET way/NOUN",
                f"V:point the/DET way/NOUN with/ADP {hand}"]
    if kind == "respond":
        return [f"V:raise {_hand(side)} to/PART answer/VERB", f"V:put {_hand(side)} up/ADP to/PART "
                "respond/VERB", f"V:raise {_arm(side)} in/ADP response/NOUN", f"V:lift {_hand(side)} to/PART "
                "reply/VERB"]
    if kind == "call":
        return ["V:cup {poss} hands/NOUN/hand around/ADP {poss} mouth/NOUN and/CCONJ V:call out/ADP",
                "V:call out/ADP to/ADP someone/PRON with/ADP {poss} hands/NOUN/hand at/ADP {poss} mouth/NOUN",
                "V:shout with/ADP {poss} hands/NOUN/hand around/ADP {poss} mouth/NOUN", "V:call to/ADP "
                "someone/PRON far/ADV away/ADV"]
    if kind == "punch":
        return ["V:throw punches/NOUN/punch", "V:punch the/DET air/NOUN", "V:punch forward/ADV with/ADP "
                "{poss} fists/NOUN/fist", "V:throw a/DET series/NOUN of/ADP punches/NOUN/punch"]
    if kind == "kick":
        return ["V:kick", "V:kick the/DET air/NOUN", "V:throw kicks/NOUN/kick", "V:do a/DET series/NOUN of/ADP "
                "kicks/NOUN/kick"]
    if kind == "slash":
        return ["V:slash with/ADP a/DET sword/NOUN", "V:swing a/DET sword/NOUN", "V:make sword/NOUN "
                "slashes/NOUN/slash", "V:slash the/DET air/NOUN as/SCONJ if/SCONJ holding/VERB/hold a/DET "
                "sword/NOUN"]
    if kind == "dance":
        return ["V:dance", "V:dance to/ADP music/NOUN", "V:perform a/DET dance/NOUN", "V:dance energetically/ADV"]
    if kind == "jump":
        return ["V:jump", "V:jump up/ADV", "V:jump several/ADJ times/NOUN/time", "V:leap into/ADP the/DET air/NOUN"]
    if kind == "play_basketball":
        return ["V:play basketball/NOUN", "V:dribble a/DET basketball/NOUN", "V:move around/ADV playing/VERB/play "
                "basketball/NOUN", "V:play with/ADP a/DET basketball/NOUN"]
    if kind == "referee_signals":
        return ["V:make basketball/NOUN referee/NOUN signals/NOUN/signal", "V:signal like/ADP a/DET "
                "basketball/NOUN referee/NOUN", "V:make referee/NOUN hand/NOUN signals/NOUN/signal",
                "V:give signals/NOUN/signal with/ADP {poss} arms/NOUN/arm like/ADP a/DET referee/NOUN"]
    if kind == "direct_traffic":
        return ["V:direct traffic/NOUN", "V:direct traffic/NOUN with/ADP {poss} arms/NOUN/arm", "V:wave "
                "cars/NOUN/car through/ADP like/ADP a/DET traffic/NOUN officer/NOUN", "V:signal to/ADP "
                "traffic/NOUN with/ADP {poss} arms/NOUN/arm"]
    if kind == "play_soccer":
        return ["V:play soccer/NOUN", "V:kick a/DET soccer/NOUN ball/NOUN", "V:dribble a/DET soccer/NOUN "
                "ball/NOUN", "V:move around/ADV kicking/VERB/kick a/DET ball/NOUN"]
    if kind == "wash_window":
        return ["V:wash a/DET window/NOUN", "V:wipe a/DET window/NOUN", "V:clean a/DET window/NOUN with/ADP "
                "{poss} hand/NOUN", "V:scrub a/DET window/NOUN"]
    raise KeyError(f"no caption templates for action {kind!r}")


# How a performer's style (the `manner` of a real mocap clip, motionllm.realdata) reads in a caption: as
# the subject ("an exhausted person") or as a phrase after the action ("..., energetically").
MANNER_SUBJECTS = {
    "active": ("an/DET energetic/ADJ person/NOUN",), "elderly": ("an/DET elderly/ADJ person/NOUN",
                                                                  "an/DET old/ADJ person/NOUN"),
    "exhausted": ("an/DET exhausted/ADJ person/NOUN",), "tired": ("a/DET tired/ADJ person/NOUN",),
    "youthful": ("a/DET young/ADJ person/NOUN",), "childish": ("a/DET childlike/ADJ person/NOUN",),
    "happy": ("a/DET happy/ADJ person/NOUN",), "sad": ("a/DET sad/ADJ person/NOUN",),
    "angry": ("an/DET angry/ADJ person/NOUN",), "proud": ("a/DET proud/ADJ person/NOUN",),
    "not_confident": ("a/DET timid/ADJ person/NOUN",), "giant": ("a/DET giant/NOUN",),
    "old": ("an/DET old/ADJ person/NOUN", "an/DET elderly/ADJ person/NOUN"),
}
MANNER_PHRASES = {
    "active": ("energetically/ADV", "with/ADP energy/NOUN"), "elderly": ("like/ADP an/DET elderly/ADJ person/NOUN",),
    "exhausted": ("wearily/ADV", "as/SCONJ if/SCONJ exhausted/ADJ"), "tired": ("wearily/ADV", "tiredly/ADV"),
    "feminine": ("in/ADP a/DET feminine/ADJ way/NOUN", "femininely/ADV"),
    "masculine": ("in/ADP a/DET masculine/ADJ way/NOUN", "in/ADP a/DET manly/ADJ way/NOUN"),
    "youthful": ("in/ADP a/DET youthful/ADJ way/NOUN", "with/ADP youthful/ADJ energy/NOUN"),
    "childish": ("like/ADP a/DET child/NOUN", "childishly/ADV"), "happy": ("happily/ADV", "cheerfully/ADV"),
    "sad": ("sadly/ADV", "gloomily/ADV"), "angry": ("angrily/ADV", "furiously/ADV"),
    "proud": ("proudly/ADV", "with/ADP pride/NOUN"), "not_confident": ("timidly/ADV", "without/ADP confidence/NOUN"),
    "musical": ("rhythmically/ADV", "like/ADP a/DET musical/ADJ performer/NOUN"),
    "giant": ("heavily/ADV , like/ADP a/DET giant/NOUN", "with/ADP big/ADJ , heavy/ADJ movements/NOUN/movement"),
    "thug": ("with/ADP a/DET swagger/NOUN", "like/ADP a/DET thug/NOUN"), "old": ("like/ADP an/DET old/ADJ person/NOUN",),
}
MANNERS = tuple(sorted(set(MANNER_SUBJECTS) | set(MANNER_PHRASES)))


def gesture_while(label: dict, rng) -> list[str]:
    """Templates of a gesture done while walking (they read well after 'while')."""
    return templates(label, rng)


# --- rendering -------------------------------------------------------------------------------------

def render(template: str, form: str, slots: dict) -> list[tuple[str, str, str]]:
    """Template -> (surface, lemma, POS) tokens. form: '3sg' or 'ger' for the first verbs of coordinated
    verb phrases (every V: item takes it)."""
    for key, value in slots.items():
        template = template.replace("{" + key + "}", value)
    tokens = []
    for item in template.split():
        if item == ",":
            tokens.append((",", ",", "PUNCT"))
        elif item.startswith("V:"):
            lemma = item[2:]
            surface = third_person(lemma) if form == "3sg" else gerund(lemma)
            tokens.append((surface, lemma, "VERB"))
        else:
            parts = item.split("/")
            if len(parts) < 2:
                raise ValueError(f"caption template item {item!r} has no part of speech")
            word, pos = parts[0], parts[1]
            lemma = parts[2] if len(parts) > 2 else word
            tokens.append((word, lemma, pos))
    return tokens


def to_caption(tokens: list[tuple[str, str, str]]) -> Caption:
    words = []
    for surface, _, pos in tokens:
        if pos == "PUNCT" and words:
            words[-1] += surface
        else:
            words.append(surface)
    text = " ".join(words)
    if not text.endswith("."):
        text += "."
    # HumanML3D: nouns and verbs lemmatised except 'left'; punctuation dropped.
    tagged = [f"{(lemma if pos in ('NOUN', 'VERB') and surface != 'left' else surface)}/{pos}"
              for surface, lemma, pos in tokens if pos != "PUNCT"]
    return Caption(text, tuple(tagged), 0.0, 0.0)


def _units(actions: list[dict]) -> list[tuple[dict, dict | None]]:
    """Main actions in order, each with the gesture done during it (if any)."""
    units = []
    for lab in actions:
        if lab.get("params", {}).get("concurrent") or lab.get("concurrent"):
            if units:
                units[-1] = (units[-1][0], lab)
            continue
        units.append((lab, None))
    return units


SEQUENCE_PATTERNS = {
    1: ["{S} {A}", "{S} {A}"],
    2: ["{S} {A}, then {B}", "{S} {A} and then {B}", "{S} {A} and {B}", "{S} {A} before {b}",
        "after {a}, {S} {B}", "first {S} {A}, and then {B}", "{S} {A}, and after that {B}"],
    3: ["{S} {A}, {B}, and then {C}", "{S} {A}, then {B} and finally {C}", "{S} {A} and {B} before {c}",
        "after {a}, {S} {B} and then {C}", "first {S} {A}, then {B}, and finally {C}", "{S} {A}, {B} and {C}"],
}
CONNECTIVE_POS = {"then": "ADV", "and": "CCONJ", "before": "ADP", "after": "ADP", "first": "ADV", "finally": "ADV",
                  "that": "PRON"}


def _unit_phrase(unit, rng, form: str, slots: dict, choice: dict) -> list:
    main, during = unit
    options = templates(main, rng)
    template = options[choice.setdefault(id(main), int(rng.integers(len(options)))) % len(options)]
    tokens = render(template, form, slots)
    if during is not None:
        g_options = templates(during, rng)
        g_template = g_options[choice.setdefault(id(during), int(rng.integers(len(g_options)))) % len(g_options)]
        tokens += [("while", "while", "SCONJ")] + render(g_template, "ger", slots)
    return tokens


def captions_for(actions: list[dict], rng: np.random.Generator, count: int = 3,
                 manner: str | None = None) -> list[Caption]:
    """`count` different captions of the clip's actions (HumanML3D has ~3 per motion). `manner` (a key of
    MANNER_PHRASES or MANNER_SUBJECTS, e.g. "exhausted") is said in every caption, as the subject or after the
    actions; None draws exactly what it always drew."""
    if manner is not None and manner not in MANNERS:
        raise KeyError(f"no caption words for the manner {manner!r} (known: {', '.join(MANNERS)})")
    units = _units(actions)
    n = min(len(units), 3)
    patterns = list(SEQUENCE_PATTERNS[n])
    rng.shuffle(patterns)
    out, seen = [], set()
    for attempt in range(count * 6):
        if len(out) == count:
            break
        subject, poss = SUBJECTS[int(rng.choice(len(SUBJECTS), p=SUBJECT_WEIGHTS))]
        slots = {"poss": f"{poss}/DET", "the": str(rng.choice(["the/DET", f"{poss}/DET"]))}
        pattern = patterns[attempt % len(patterns)]
        choice = {}
        manner_tail = []
        if manner is not None:
            subjects, phrases = MANNER_SUBJECTS.get(manner, ()), MANNER_PHRASES.get(manner, ())
            if subjects and (not phrases or rng.random() < 0.5):
                subject, poss = str(rng.choice(subjects)), "their"
                slots = {"poss": "their/DET", "the": str(rng.choice(["the/DET", "their/DET"]))}
            else:
                manner_tail = [(",", ",", "PUNCT")] + render(str(rng.choice(phrases)), "3sg", {})
        pieces = {"S": render(subject, "3sg", {})}
        for key, unit in zip("abc", units[:3]):
            choice_key = {}
            pieces[key.upper()] = _unit_phrase(unit, rng, "3sg", slots, choice_key)
            pieces[key] = _unit_phrase(unit, rng, "ger", slots, choice_key)
        tokens = []
        for word in pattern.replace(",", " ,").split():
            if word.startswith("{"):
                tokens += pieces[word[1]]
            elif word == ",":
                tokens.append((",", ",", "PUNCT"))
            else:
                tokens.append((word, word, CONNECTIVE_POS.get(word, "ADV")))
        del choice
        caption = to_caption(tokens + manner_tail)
        if caption.text not in seen:
            seen.add(caption.text)
            out.append(caption)
    return out
