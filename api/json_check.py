"""The webhook door's JSON check: one valid JSON object that every parser after the door reads.

The door builds only the few fields it reads (api/providers.py) and skips over the rest; the
pipeline later reads the stored body again with Python's ``json.loads``. So a body is refused
here (400, nothing stored) when it is not valid JSON, not an object, nested deeper than
``MAX_JSON_DEPTH``, or holds an integer longer than ``MAX_INT_DIGITS``: msgspec skips such an
integer in a field the door does not build, but ``json.loads`` refuses it, and the event would
only be recorded ``failed`` later.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import msgspec

from api.errors import ApiError

# Real deliveries nest 8 levels at most (the corpus); 256 leaves room and keeps every parser
# after the door (json.loads in the pipeline, ~1,000 Python frames) far from its own limit.
MAX_JSON_DEPTH = 256
# Python's default int_max_str_digits: json.loads in the pipeline refuses a longer integer
# (CVE-2020-10735). The longest integer in the corpus has 19 digits.
MAX_INT_DIGITS = 4300
_NOT_OPENING = bytes(b for b in range(256) if b not in b"[{")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_DIGIT = bytes(b for b in range(256) if b not in b"0123456789")
# Digits as "0", everything else as " ": a run of digits is a run of zeros bytes.find sees.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * (MAX_INT_DIGITS + 1)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def parse_json(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    """Check that the body is one valid JSON object; build only the fields the door reads."""
    try:
        body.decode()  # msgspec does not check the UTF-8 of strings it only skips over
        payload = decoder.decode(body)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid UTF-8: {exc}") from None
    except msgspec.ValidationError as exc:
        _check_integers(body)  # msgspec refuses a huge integer in a field the door builds
        if " - at `$" in str(exc):
            raise ApiError(400, "malformed_json", f"body holds a value the door cannot read: "
                                                  f"{exc}") from None
        raise ApiError(400, "malformed_json", "body must be a JSON object") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec gives up near Python's recursion limit (~1,000 levels)
        raise _too_deep() from None
    _check_depth(body)
    _check_integers(body)
    return payload


def _too_deep() -> ApiError:
    return ApiError(400, "too_deep", f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")


def _outside_strings(body: bytes) -> bytes:
    """The body's bytes outside its strings (valid JSON only): drop escaped backslashes, then
    escaped quotes; what is left between quotes is strings."""
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(text.split(b'"')[::2])


def _check_depth(body: bytes) -> None:
    """Refuse valid JSON nested deeper than MAX_JSON_DEPTH (call after it parsed)."""
    if len(body.translate(None, _NOT_OPENING)) <= MAX_JSON_DEPTH:
        return  # fewer brackets than the limit, strings included: ~7 us for 13.5 KB
    brackets = _outside_strings(body).translate(None, _NOT_BRACKET)  # many brackets only
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH:
        raise _too_deep()


def _check_integers(body: bytes) -> None:
    """Refuse valid JSON holding an integer of more than MAX_INT_DIGITS digits."""
    if len(body.translate(None, _NOT_DIGIT)) <= MAX_INT_DIGITS:
        return  # fewer digits than the limit, strings included (the corpus's most: 570)
    if _LONG_RUN not in body.translate(_DIGITS_AS_ZERO):
        return  # no run of digits that long
    text = _outside_strings(body)  # a long run: is it an integer, outside a string?
    runs = text.translate(_DIGITS_AS_ZERO)
    start = runs.find(_LONG_RUN)
    while start != -1:  # each find lands on the start of a run (the first long enough)
        end = runs.find(b" ", start)
        end = len(runs) if end == -1 else end
        if _is_integer(text, start, end):
            raise ApiError(
                400, "integer_too_long",
                f"JSON holds an integer of {end - start:,} digits; the pipeline reads integers "
                f"of at most {MAX_INT_DIGITS:,} digits",
            )
        start = runs.find(_LONG_RUN, end)


def _is_integer(text: bytes, start: int, end: int) -> bool:
    """Whether the digits text[start:end] are what json.loads reads with int(): an integer
    part (not a fraction or an exponent) with no fraction or exponent after it."""
    before = text[start - 1:start]
    if before in (b".", b"e", b"E", b"+") or (before == b"-" and text[start - 2:start - 1]
                                                in (b"e", b"E")):
        return False
    return text[end:end + 1] not in (b".", b"e", b"E")
