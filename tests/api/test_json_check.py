"""The webhook door's JSON check accepts exactly what a strict parser and the pipeline accept.

The door builds only the few fields it reads (api/providers.py) and skips over the rest; these
tests make sure that skipping still rejects every malformed body. Thousands of corrupted corpus
bodies (characters deleted, inserted, replaced) go through the door's check and through orjson,
a strict RFC 8259 parser; both must agree on each one.
"""

from __future__ import annotations

import json
import random

import orjson
import pytest

from api.errors import ApiError
from api.json_check import MAX_INT_DIGITS, parse_json
from api.providers import rules_by_provider
from tests import corpus

JUNK = [b"", b",", b"]", b"}", b"{", b"[", b'"', b"\\", b":", b"\xff", b"\xed\xa0\x80", b"\xc3",
        b"tru", b"nul", b"01", b"-", b"1e", b".5", b"\x00", b"\n", b"\\u12", b"\\ud800", b"NaN"]


def _corrupted(seed: int, count: int) -> list[tuple[str, bytes]]:
    rnd = random.Random(seed)
    bodies = [(e["provider"], corpus.body(e)) for e in corpus.entries()]
    out = []
    for _ in range(count):
        provider, body = rnd.choice(bodies)
        raw = bytearray(body)
        for _ in range(rnd.randint(1, 2)):
            at, op = rnd.randrange(len(raw)), rnd.random()
            if op < 0.33:
                del raw[at]
            elif op < 0.66:
                raw[at:at] = rnd.choice(JUNK)
            else:
                raw[at:at + 1] = rnd.choice(JUNK)
        out.append((provider, bytes(raw)))
    return out


def _door_accepts(provider: str, raw: bytes) -> bool:
    try:
        parse_json(raw, rules_by_provider(300)[provider].decoder)
    except ApiError as err:
        assert err.status == 400
        return False
    return True


def _strict_accepts(raw: bytes) -> bool | None:
    """orjson's verdict; None where it is stricter than the JSON grammar (huge numbers)."""
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError as err:
        return None if "infinity" in str(err) else False


@pytest.mark.parametrize("seed", range(4))
def test_corrupted_bodies_are_judged_as_a_strict_parser_judges_them(seed: int) -> None:
    cases = _corrupted(seed, 1500)
    disagree = [(p, raw[:80]) for p, raw in cases
                if (strict := _strict_accepts(raw)) is not None
                and _door_accepts(p, raw) != strict]
    assert not disagree, f"{len(disagree)} disagreements, e.g. {disagree[:3]}"
    rejected = sum(not _door_accepts(p, raw) for p, raw in cases)
    assert rejected > len(cases) // 2  # the corruptions do break most bodies


def test_every_corpus_body_passes() -> None:
    assert all(_door_accepts(e["provider"], corpus.body(e)) for e in corpus.entries())


_LONG = b"1" + b"0" * MAX_INT_DIGITS  # one digit more than json.loads reads as an integer


@pytest.mark.parametrize(("where", "number"), [
    ("zen", _LONG), ("issue", _LONG), ("issue", b"-" + _LONG),  # a field built, one skipped
    ("issue", b"[1, " + _LONG + b"]"), ("issue", b"{\"a\": {\"b\":" + _LONG + b"}}"),
    ("issue", b"1" + b"0" * (MAX_INT_DIGITS - 1)), ("issue", b"-" + b"9" * MAX_INT_DIGITS),
    ("issue", _LONG + b".5"), ("issue", b"0." + _LONG), ("issue", _LONG + b"e3"),
    ("issue", b"1e" + _LONG), ("issue", b"1E-" + _LONG), ("issue", b"1e+" + _LONG),
    ("issue", b'"' + _LONG + b'"'), ("issue", b'"a\\\\" , "b": "\\"' + _LONG + b'"'),
])
def test_the_door_refuses_exactly_the_integers_the_pipeline_refuses(
    where: str, number: bytes
) -> None:
    raw = b'{"' + where.encode() + b'": ' + number + b"}"
    try:
        json.loads(raw)  # what the pipeline's normalize step does with the stored body
        pipeline_reads = True
    except ValueError:
        pipeline_reads = False
    assert _door_accepts("github", raw) == pipeline_reads
    if not pipeline_reads:
        with pytest.raises(ApiError) as err:
            parse_json(raw, rules_by_provider(300)["github"].decoder)
        assert err.value.code == "integer_too_long"
        assert f"{MAX_INT_DIGITS + 1:,} digits" in err.value.detail
