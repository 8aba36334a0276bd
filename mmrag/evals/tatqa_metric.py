"""TAT-QA exact match and numeracy-focused F1, as the dataset's official metric defines them.

A written re-implementation of the definitions (nothing copied): gold and predicted answers are
sorted and joined into one string; a number is rounded to 2 decimals and multiplied by its scale
(thousand, million, billion, percent) and printed as %.4f; a non-number gets its scale word
appended. A single unscaled numeric prediction is also tried as its plain value. Strings are
compared as DROP-style bags of normalised tokens; for arithmetic and count questions F1 = EM.
"""
from __future__ import annotations

import itertools
import math
import re
import string
from typing import Any, Sequence

SCALES = ("", "thousand", "million", "billion", "percent")
_NUM_JUNK = set("'\"\\$€£¥%(),[]")
_FIRST_NUM = re.compile(r"([+-]?\d+(\.\d+)?)|([+-]?\.\d+)")
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def scale_to_num(scale: str) -> float:
    s = scale.lower()
    for word, value in (("hundred", 100), ("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("percent", 0.01)):
        if word in s:
            return value
    return 1


def _clean_num(text: str) -> str:
    return "".join(ch for ch in str(text) if ch not in _NUM_JUNK)


def _first_number(text: str) -> float | int | None:
    m = _FIRST_NUM.search(_clean_num(text))
    if not m or not m.group(0):
        return None
    return float(m.group(0)) if "." in m.group(0) else int(m.group(0))


def is_number(text: str) -> bool:
    """A leading number, optionally followed by a scale word ("12", "1.5 million"); not "3 apples"."""
    words = " ".join(_clean_num(w) for w in text.split()).split()
    if not words:
        return False
    try:
        num = float(words[0])
    except ValueError:
        return False
    if math.isnan(num):
        return False
    return not (len(words) >= 2 and scale_to_num(words[1]) == 1)


def to_number(text: str) -> float | None:
    """The number in `text` with its word scale, a '(x)' negative and a '%' applied."""
    num = _first_number(text)
    if num is None:
        return None
    m = re.search(r"[\d.]+\s?[a-zA-Z]+", text)
    word_scale = scale_to_num(m.group(0)) if m else 1
    negative = -1 if re.search(r"\([\d.\s]+\)", text.strip()) else 1
    percent = 0.01 if re.search(r"[\d.\s]+%", text.strip()) else 1
    return round(num * word_scale * negative * percent, 4)


def normalize_answer(text: str) -> str:
    """Per space-separated token: lowercase, punctuation off (unless a number), numbers canonical, no articles."""
    parts = []
    for token in text.split(" "):
        t = token.lower()
        if not is_number(t):
            t = "".join(ch for ch in t if ch not in _PUNCT)
        if is_number(t):
            t = str(to_number(t))
        t = " ".join(_ARTICLES.sub(" ", t).split())
        if t.strip():
            parts.append(t)
    return " ".join(parts).strip()


def answer_string(answers: Sequence[Any], scale: str) -> str:
    """Answers sorted and joined, numbers scaled and printed as %.4f, other answers with the scale word."""
    out = []
    for ans in sorted(str(a) for a in answers):
        num = to_number(ans) if is_number(ans) else None
        if num is None:
            out.append(f"{ans} {scale}" if scale else ans)
        elif "%" in ans:
            out.append("%.4f" % num)
        else:
            out.append("%.4f" % (round(num, 2) * scale_to_num(scale)))
    return " ".join(out)


def _f1(pred: set[str], gold: set[str]) -> float:
    inter = len(pred & gold)
    p = inter / len(pred) if pred else 1.0
    r = inter / len(gold) if gold else 1.0
    return 0.0 if p == 0 and r == 0 else 2 * p * r / (p + r)


def _aligned_f1(pred: list[set[str]], gold: list[set[str]]) -> float:
    """Mean F1 over the best one-to-one alignment of gold and predicted bags (brute force; lists are tiny)."""
    n = max(len(pred), len(gold))
    best = 0.0
    small, large = (gold, pred) if len(gold) <= len(pred) else (pred, gold)
    for perm in itertools.permutations(range(len(large)), len(small)):
        best = max(best, sum(_f1(small[i], large[j]) if small is pred else _f1(large[j], small[i])
                             for i, j in enumerate(perm)))
    return best / n if n else 0.0


def em_f1(predicted: str | Sequence[str], gold: str | Sequence[str]) -> tuple[float, float]:
    """DROP-style exact match and F1 of two answers (strings or lists of spans)."""
    pred = [predicted] if isinstance(predicted, str) else list(predicted)
    gold_l = [gold] if isinstance(gold, str) else list(gold)
    pn, gn = [normalize_answer(p) for p in pred], [normalize_answer(g) for g in gold_l]
    em = float(set(pn) == set(gn) and len(pn) == len(gn))
    f1 = _aligned_f1([set(p.split()) for p in pn], [set(g.split()) for g in gn])
    return em, round(f1, 2)


def gold_answers(q: dict[str, Any]) -> tuple[str, list[str], str]:
    """(answer type, gold answer strings, gold scale) of a TAT-QA question."""
    kind, ans = q["answer_type"], q["answer"]
    if kind in ("span", "multi-span"):
        golds = [str(a) for a in ans]
    elif kind == "count":
        golds = [str(int(float(ans)))]
    else:
        golds = [str(ans)]
    return kind, golds, q.get("scale", "")


def score(q: dict[str, Any], prediction: str | Sequence[str], pred_scale: str = "") -> dict[str, float]:
    """EM, F1 and scale match of one prediction for question `q`."""
    scale_ok = float(pred_scale == q.get("scale", ""))
    preds = [prediction] if isinstance(prediction, str) else list(prediction)
    preds = [p for p in preds if str(p).strip()]
    kind, golds, gold_scale = gold_answers(q)
    if not preds or not golds:
        return {"em": 0.0, "f1": 0.0, "scale": scale_ok}
    gold_str = answer_string(golds, gold_scale)
    pred_strs = [answer_string(preds, pred_scale)]
    if len(preds) == 1 and not pred_scale and "%" not in preds[0] and is_number(preds[0]):
        if (plain := to_number(preds[0])) is not None:
            pred_strs.append("%.4f" % plain)
    em, f1 = max(em_f1(p, gold_str) for p in pred_strs)
    if kind in ("arithmetic", "count"):
        f1 = em
    return {"em": em, "f1": f1, "scale": scale_ok}
