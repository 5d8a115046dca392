"""The test OpenID Connect provider itself: discovery, keys, the code flow with PKCE, the
tampered ID tokens, and its stop. The single sign-on tests rely on each of these."""

import base64
import hashlib
import html
import json
import os
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from tests.oidc_provider.launcher import PASSWORD, Provider

# Never contacted: the tests read the provider's redirect to it and stop there.
REDIRECT_URI = "http://127.0.0.1:9/accounts/oidc/sso/login/callback/"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NEXT_FIELD = re.compile(r'name="next" value="([^"]*)"')


@pytest.fixture
def provider(oidc_provider):
    oidc_provider.allow_redirect_uri(REDIRECT_URI)
    oidc_provider.add_user(
        "ada", email="ada@example.com", name="Ada Lovelace", groups=["payments", "Payments/admins"]
    )
    return oidc_provider


def discovery(provider):
    return requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()


def pkce_pair():
    """A code verifier and its S256 challenge (RFC 7636 4.1, 4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in_page(provider, session, challenge, **extra):
    """The provider's sign-in page, reached from the authorize URL; `extra` changes the query
    (None leaves a parameter out)."""
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    query = {name: value for name, value in query.items() if value is not None}
    page = session.get(discovery(provider)["authorization_endpoint"], params=query, timeout=5)
    assert page.status_code == 200 and urlsplit(page.url).path == "/login/"
    return page


def submit(session, page, username="ada", password=PASSWORD):
    """The sign-in form posted as a browser posts it."""
    form = {
        "csrfmiddlewaretoken": CSRF_FIELD.search(page.text)[1],
        "next": html.unescape(NEXT_FIELD.search(page.text)[1]),
        "username": username,
        "password": password,
    }
    return session.post(page.url, data=form, allow_redirects=False, timeout=5)


def authorize(provider, challenge, **extra):
    """Sign in from the authorize URL and follow back to authorize: the query of its redirect
    to REDIRECT_URI."""
    session = requests.Session()
    page = sign_in_page(provider, session, challenge, **extra)
    signed_in = submit(session, page)
    assert signed_in.status_code == 302
    back = session.get(urljoin(page.url, signed_in.headers["Location"]), allow_redirects=False, timeout=5)
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT_URI)
    return {name: values[0] for name, values in parse_qs(urlsplit(back.headers["Location"]).query).items()}


def exchange(provider, code, **verifier):
    """The token request of the confidential client (RFC 6749 4.1.3), with `code_verifier=` if given."""
    return requests.post(
        discovery(provider)["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **verifier},
        auth=(provider.client_id, provider.client_secret),
        timeout=5,
    )


def id_token(provider):
    verifier, challenge = pkce_pair()
    answer = exchange(provider, authorize(provider, challenge)["code"], code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    return answer.json()["id_token"]


def published_keys(provider):
    return jwk.JWKSet.from_json(requests.get(discovery(provider)["jwks_uri"], timeout=5).text)


def defects(provider, token):
    """What a relying party checking the ID token (OIDC Core 3.1.3.7) would refuse it for."""
    parsed = jws.JWS()
    parsed.deserialize(token)
    claims = json.loads(parsed.objects["payload"])
    found = set()
    key = published_keys(provider).get_key(parsed.jose_header.get("kid"))
    if key is None:
        found.add("unknown key")
    else:
        try:
            parsed.verify(key, alg="RS256")
        except JWException:
            found.add("signature")
    if claims.get("iss") != provider.issuer:
        found.add("issuer")
    if claims.get("aud") != provider.client_id:
        found.add("audience")
    if not claims.get("iat", 0) <= time.time() < claims.get("exp", 0):
        found.add("expired")
    if claims.get("nonce") != "nonce-1":
        found.add("nonce")
    return found


def test_discovery_names_the_issuer_and_its_endpoints(provider):
    document = discovery(provider)
    assert document["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert document[endpoint].startswith(f"{provider.issuer}/")
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email"} <= set(document["scopes_supported"])
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert "groups" in document["claims_supported"]


def test_jwks_publishes_one_public_rsa_signing_key(provider):
    keys = requests.get(discovery(provider)["jwks_uri"], timeout=5).json()["keys"]
    assert len(keys) == 1
    assert {keys[0]["kty"], keys[0]["alg"], keys[0]["use"]} == {"RSA", "RS256", "sig"}
    assert keys[0]["kid"]
    assert "d" not in keys[0]


def test_sign_in_page_is_a_plain_form(provider):
    page = requests.get(f"{provider.issuer}/login/", timeout=5)
    assert page.status_code == 200
    assert 'id="id_username"' in page.text and 'name="username"' in page.text
    assert 'id="id_password"' in page.text and 'name="password"' in page.text
    assert '<button type="submit">' in page.text


def test_code_flow_with_pkce_gives_an_id_token_that_verifies(provider):
    verifier, challenge = pkce_pair()
    redirect = authorize(provider, challenge)
    assert redirect["state"] == "state-1"
    answer = exchange(provider, redirect["code"], code_verifier=verifier)
    assert answer.status_code == 200
    token = answer.json()["id_token"]
    assert defects(provider, token) == set()
    parsed = jws.JWS()
    parsed.deserialize(token)
    parsed.verify(published_keys(provider).get_key(parsed.jose_header["kid"]), alg="RS256")
    claims = json.loads(parsed.payload)
    assert claims["aud"] == provider.client_id and claims["iss"] == provider.issuer
    assert claims["exp"] > time.time()
    assert claims["preferred_username"] == "ada" and claims["email"] == "ada@example.com"
    assert claims["name"] == "Ada Lovelace" and claims["email_verified"] is True
    assert claims["groups"] == ["payments", "Payments/admins"]


def test_userinfo_gives_the_same_claims(provider):
    verifier, challenge = pkce_pair()
    tokens = exchange(provider, authorize(provider, challenge)["code"], code_verifier=verifier).json()
    answer = requests.get(
        discovery(provider)["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json()["groups"] == ["payments", "Payments/admins"]
    assert answer.json()["email"] == "ada@example.com"


def test_claims_follow_the_latest_add_user(provider):
    provider.add_user("ada", email="ada@example.org", groups=["billing"], email_verified=False)
    parsed = jws.JWS()
    parsed.deserialize(id_token(provider))
    claims = json.loads(parsed.objects["payload"])
    assert claims["groups"] == ["billing"]
    assert claims["email"] == "ada@example.org" and claims["email_verified"] is False


def test_a_token_request_without_the_verifier_is_refused(provider):
    _, challenge = pkce_pair()
    answer = exchange(provider, authorize(provider, challenge)["code"])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert "id_token" not in answer.json()


def test_a_wrong_verifier_is_refused(provider):
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    answer = exchange(provider, authorize(provider, challenge)["code"], code_verifier=other_verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_authorize_without_a_challenge_is_refused(provider):
    redirect = authorize(provider, challenge=None, code_challenge_method=None)
    assert redirect["error"] == "invalid_request"
    assert "code" not in redirect


def test_a_wrong_password_stays_on_the_sign_in_page(provider):
    session = requests.Session()
    answer = submit(session, sign_in_page(provider, session, pkce_pair()[1]), password="wrong")
    assert answer.status_code == 200
    assert "Please enter a correct username and password" in answer.text


@pytest.mark.parametrize(
    ("mode", "defect"),
    [("wrong_audience", "audience"), ("expired", "expired"), ("bad_signature", "signature")],
)
def test_each_tampering_mode_gives_its_one_defect(provider, mode, defect):
    provider.set_mode(mode)
    assert defects(provider, id_token(provider)) == {defect}
    provider.set_mode("normal")
    assert defects(provider, id_token(provider)) == set()


def test_an_unknown_mode_is_refused(provider):
    with pytest.raises(ValueError, match="unknown mode"):
        provider.set_mode("wrong_issuer")


def test_the_control_endpoint_needs_the_launchers_token(provider):
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        answer = requests.post(
            f"{provider.issuer}/control/mode/", json={"mode": "expired"}, headers=headers, timeout=5
        )
        assert answer.status_code == 403
    assert defects(provider, id_token(provider)) == set()


def children(pid):
    """The ids of a process's children, from Linux's /proc."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_stop_leaves_no_process_and_no_directory():
    started = time.monotonic()
    provider = Provider().start()
    assert time.monotonic() - started < 15
    pids = [provider.process.pid, *children(provider.process.pid)]
    assert len(pids) == 2  # gunicorn's master and its one worker
    provider.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[0], 0)
    assert not provider.directory.exists()
