"""Callback signatures: what a receiver checks, and every way a check fails."""

import hashlib
import hmac

import pytest

from serve.async_inference import SignatureError, sign, verify_signature

SECRET = b"0123456789abcdef-secret"
BODY = b'{"id":"abc","status":"succeeded","result_url":"/async/requests/abc/result"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    header = sign(SECRET, BODY, 1_700_000_000)
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(SECRET.decode(), header, BODY, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "match"),
    [
        (None, BODY, SECRET, 1_700_000_000, "no X-Raymaker-Signature"),
        ("v1=abc", BODY, SECRET, 1_700_000_000, "must read"),
        (sign(SECRET, BODY, 1_700_000_000), BODY + b" ", SECRET, 1_700_000_000, "does not match"),
        (sign(SECRET, BODY, 1_700_000_000), BODY, b"another-secret!!", 1_700_000_000, "not match"),
        (sign(SECRET, BODY, 1_700_000_000), BODY, SECRET, 1_700_000_301, "replay"),
    ],
)
def test_verification_refuses(header, body, secret, now, match):
    with pytest.raises(SignatureError, match=match):
        verify_signature(secret, header, body, now=now)


def test_a_new_timestamp_on_an_old_signature_does_not_verify():
    old = sign(SECRET, BODY, 1_700_000_000)
    forged = old.replace("t=1700000000", "t=1700000500")
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, forged, BODY, now=1_700_000_500)
