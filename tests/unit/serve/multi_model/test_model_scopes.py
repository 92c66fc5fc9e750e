import hashlib

import pytest

from ray_apps.errors import PermissionDeniedError, SpecError
from serve.auth import check_bearer
from serve.multi_model import check_scope, key_allows, parse_scope


@pytest.mark.parametrize(
    ("scope", "model", "allowed"),
    [
        (["store-12"], "store-12", True),
        (["store-12"], "store-13", False),
        (["store-12"], "store-123", False),  # an exact name is not a prefix
        (["store-1*"], "store-1", True),
        (["store-1*"], "store-199", True),
        (["store-1*"], "store-2", False),
        (["store-1*", "acme"], "acme", True),
        (["*"], "anything", True),
    ],
)
def test_key_allows(scope, model, allowed):
    assert key_allows(parse_scope(scope), model) is allowed


@pytest.mark.parametrize("bad", ["store-?", "st*re", "*store", "store-[12]", "", "a b"])
def test_only_names_and_trailing_star_globs(bad):
    with pytest.raises(SpecError, match=r"scoped_key_envs.K has .*one \* at the end"):
        parse_scope([bad], where="scoped_key_envs.K")


def test_an_empty_scope_is_refused_and_a_string_is_one_pattern():
    with pytest.raises(SpecError, match="is empty"):
        parse_scope([])
    assert parse_scope("store-1*") == ("store-1*",)


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def test_the_403_decision_after_authentication():
    keys = {"k12": "store-12-key-0001", "k1x": "store-1x-key-0001", "all": "unscoped-key-0001"}
    scopes = {digest(keys["k12"]): ("store-12",), digest(keys["k1x"]): ("store-1*",)}
    # every key, scoped or not, passes today's check first (serve.auth)
    accepted = tuple(sorted(digest(k) for k in keys.values()))
    for key in keys.values():
        check_bearer(f"Bearer {key}", accepted)

    check_scope(scopes, digest(keys["k12"]), "store-12")
    with pytest.raises(PermissionDeniedError, match=r"may not call model 'store-13'") as err:
        check_scope(scopes, digest(keys["k12"]), "store-13")
    assert err.value.http_status == 403 and "['store-12']" in str(err.value)
    check_scope(scopes, digest(keys["k1x"]), "store-13")
    check_scope(scopes, digest(keys["all"]), "store-13")  # unscoped: every model
    check_scope(scopes, None, "store-13")  # auth off: nothing to scope
