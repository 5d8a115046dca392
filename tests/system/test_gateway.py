"""nginx with deploy/nginx/gateway.conf in front of a service, asking /v1/verify of the portal's
API pool (POOL=api); credentials are changed through the portal pool, as people change them.

nginx runs the shipped file itself: only its ADDRESS lines and its log, cache and gateway.js paths
are replaced.
"""

import contextlib
import hashlib
import os
import re
import stat
import time
from types import SimpleNamespace

import pytest

from credentials import secrets
from credentials.models import ApiKeyCredential
from credentials.secrets import Kind
from groups.models import Service
from tests.conftest import SECRET_SHAPE, make_api_key
from tests.system.conftest import MEMORY_SECONDS, NJS_MODULE, nginx_path, seed
from tests.system.support import (
    CSRF_FIELD,
    GRANT,
    ROOT,
    Nginx,
    Poller,
    basic_auth,
    free_port,
    listening,
    python_process,
    regenerate_key,
    sign_in,
    stop_process,
    wait_for,
)

LABEL = "gateway (nginx)"
pytestmark = [pytest.mark.system("nginx", "njs"), pytest.mark.django_db(transaction=True)]
GATEWAY_CONF = ROOT / "deploy" / "nginx" / "gateway.conf"
GATEWAY_JS = ROOT / "deploy" / "nginx" / "gateway.js"
# How long the gateway reuses the portal's answer at most (gateway.js's BUCKET_MS), and the bound
# the gateway promises for a regenerated key, end to end with the portal's memory.
CACHE_SECONDS = 0.5
REFUSED_WITHIN_SECONDS = MEMORY_SECONDS + CACHE_SECONDS
REPEATS = 100
# A cache entry's key, as gateway.js makes it: a SHA-256 and the half second.
DIGEST_KEY = re.compile(rb"\nKEY: [0-9a-f]{64}:\d+\n")
# A gateway.js whose key cannot be made, as if njs failed.
FAILING_JS = """function verify_cache_key(r) { throw new Error('no key'); }
export default { verify_cache_key };
"""


def shipped_config(api_port, service_port, listen_port, work_dir, js=GATEWAY_JS):
    """deploy/nginx/gateway.conf with its addresses (both API servers at `api_port`), and its log
    directory, cache directory and gateway.js (by `js`) replaced (the logs and the cache go to
    `work_dir`)."""
    text = GATEWAY_CONF.read_text()
    replacements = {
        "server 127.0.0.1:8101 ": f"server 127.0.0.1:{api_port} ",
        "server 127.0.0.1:8102 ": f"server 127.0.0.1:{api_port} ",
        "server 127.0.0.1:9000;": f"server 127.0.0.1:{service_port};",
        "listen 80;": f"listen 127.0.0.1:{listen_port};",
        "/var/log/nginx/": f"{work_dir}/",
        "/run/nginx-gateway-verify ": f"{work_dir}/verify-cache ",
        "/etc/nginx/gateway.js;": f"{js};",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} is expected once in {GATEWAY_CONF}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def api(start_portal, log_dir):
    """The API pool the gateway asks, run as an operator would behind it (see the X-Forwarded-For
    comment there)."""
    counts = str(log_dir / "ratelimit.sqlite3")  # without Redis: this run's own counts
    return start_portal("gateway-api", POOL="api", TRUSTED_PROXIES="127.0.0.1", RATE_LIMIT_PATH=counts)


@pytest.fixture(scope="module")
def portal(start_portal):
    """The portal pool, where people sign in and change credentials."""
    return start_portal("gateway-portal")


@pytest.fixture(scope="module")
def service(log_dir):
    port, seen = free_port(), log_dir / "service-seen.jsonl"
    seen.touch()
    with (log_dir / "service.log").open("ab") as log:
        process = python_process("echo_service.py", port, seen, log=log)
    wait_for(lambda: listening(port), 10, "echo service")
    yield SimpleNamespace(port=port, requests=lambda: len(seen.read_text().splitlines()))
    stop_process(process)


@contextlib.contextmanager
def shipped_gateway(api, service, js_text=None):
    """nginx running the shipped gateway.conf in front of `service`, asking `api`; with `js_text`
    in place of gateway.js if given."""
    nginx, port = Nginx(nginx_path(), modules=[NJS_MODULE]), free_port()
    js = GATEWAY_JS
    if js_text is not None:
        js = nginx.dir / "gateway.js"
        js.write_text(js_text)
    (nginx.dir / "gateway.conf").write_text(shipped_config(api.port, service.port, port, nginx.dir, js))
    try:
        nginx.start("gateway.conf", port)
        yield SimpleNamespace(
            port=port,
            access_log=nginx.dir / "gateway.access.log",
            error_log=nginx.dir / "error.log",
            cache_dir=nginx.dir / "verify-cache",
        )
    finally:
        leaks = nginx.stop()
        assert not leaks, f"secret-shaped values in nginx's logs: {leaks}"


@pytest.fixture(scope="module")
def gateway(api, service):
    with shipped_gateway(api, service) as running:
        yield running


def test_no_credential_is_refused_before_the_service(gateway, service, traffic):
    before = service.requests()
    refused = traffic.send(gateway.port, "GET", "/orders", expect=401)
    assert "X-Api-Key" in refused.headers["www-authenticate"]  # the portal's, passed on by nginx
    assert service.requests() == before


def test_wrong_credentials_are_refused_whatever_group_they_claim(gateway, service, traffic):
    before = service.requests()
    claimed = {"X-Auth-Group": "payments", "X-Auth-Method": "api_key"}
    unknown_key = secrets.generate(Kind.API_KEY)  # well formed, in no database
    traffic.send(gateway.port, "GET", "/orders", {**claimed, "X-Api-Key": unknown_key}, expect=401)
    traffic.send(gateway.port, "GET", "/orders", {**claimed, "X-Api-Key": "gpk_wrong"}, expect=401)
    unknown_token = secrets.generate(Kind.ACCESS_TOKEN)
    traffic.send(gateway.port, "GET", "/orders", {**claimed, "X-Access-Token": unknown_token}, expect=401)
    assert service.requests() == before


def test_api_key_reaches_the_service_with_its_group(gateway, traffic):
    data = seed()
    headers = {"X-Api-Key": data.keys["primary"], "X-Auth-Group": "someone-else"}
    answer = traffic.send(gateway.port, "GET", "/orders?page=2", headers, expect=200)

    seen = answer.json()  # the headers the service received
    assert seen["x-auth-group"] == data.group.slug  # the portal's answer, not the client's claim
    assert seen["x-auth-method"] == "api_key"
    assert seen["x-auth-credential"] == "Billing service"
    assert "x-api-key" not in seen


def test_access_token_reaches_the_service_with_its_group(gateway, api, traffic):
    data = seed()
    headers = basic_auth(data.client.client_id, data.secret)
    issued = traffic.send(api.port, "POST", "/v2/tokens", headers, "grant_type=client_credentials")
    token = issued.json()["access_token"]

    for presented in ({"X-Access-Token": token}, {"Authorization": f"Bearer {token}"}):
        seen = traffic.send(gateway.port, "GET", "/orders", presented, expect=200).json()
        assert seen["x-auth-group"] == data.group.slug
        assert seen["x-auth-method"] == "access_token"
        assert seen["x-auth-credential"] == "Checkout"
        assert "x-access-token" not in seen
        assert "authorization" not in seen


def test_key_regenerated_in_the_portal_is_refused_through_the_cached_gateway_within_one_second(
    gateway, portal, traffic
):
    data = seed()
    browser = sign_in(portal, data.owner.username, data.password)
    application = Poller(traffic, gateway.port, "/orders", {"X-Api-Key": data.keys["primary"]}, 200)
    application.start()  # calls the service through nginx all along: both caches hold the key
    application.wait_until_in_use()

    new_value = regenerate_key(portal, browser, data.group.slug, data.credential.public_id)
    changed_at = time.monotonic()
    traffic.send(gateway.port, "GET", "/orders", {"X-Api-Key": new_value}, expect=200)
    refusal = application.refusal(changed_at, watch=REFUSED_WITHIN_SECONDS + 0.5)

    # Every call sent 2 s or more after the change was refused (and refusal() saw some).
    assert refusal.last_accepted is None or refusal.last_accepted < REFUSED_WITHIN_SECONDS
    still = "never" if refusal.last_accepted is None else f"until {refusal.last_accepted:.2f} s"
    traffic.figures.append(
        f"regenerated key refused through the cached gateway after {refusal.refused_from:.2f} s"
        f" (accepted {still}, {refusal.polls} polls)"
    )


SUSPENDED_KEYS = 5  # API key credentials of the suspended group, both slots of each polled


def suspend_group(portal, browser, group_slug):
    """Suspend a group as an owner does: the confirmation page, then its form's POST."""
    url = f"{portal.url}/groups/{group_slug}/suspend/"
    confirmation = browser.get(url, timeout=10)
    assert confirmation.status_code == 200, f"suspend confirmation answered {confirmation.status_code}"
    data = {"csrfmiddlewaretoken": CSRF_FIELD.search(confirmation.text).group(1)}
    answer = browser.post(url, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, f"suspend answered {answer.status_code}"


def test_every_key_of_a_suspended_group_is_refused_through_the_cached_gateway(gateway, portal, traffic):
    data = seed("Suspended")
    values = list(data.keys.values())
    for n in range(1, SUSPENDED_KEYS):
        values += make_api_key(data.group, f"Service {n}", data.owner)[1].values()
    browser = sign_in(portal, data.owner.username, data.password)
    applications = [Poller(traffic, gateway.port, "/orders", {"X-Api-Key": value}, 200) for value in values]
    for application in applications:
        application.start()  # every key in use all along: both caches hold each of them
    for application in applications:
        application.wait_until_in_use()

    suspend_group(portal, browser, data.group.slug)
    changed_at = time.monotonic()
    refusals = [
        application.refusal(changed_at, watch=REFUSED_WITHIN_SECONDS + 0.5) for application in applications
    ]

    # The last poll any key was accepted at, counted from the moment the Suspend POST answered.
    last = max((refusal.last_accepted or 0.0) for refusal in refusals)
    all_refused = max(refusal.refused_from for refusal in refusals)
    traffic.figures.append(
        f"{len(values)} keys of a suspended group: all refused through the cached gateway"
        f" {all_refused:.2f} s after Suspend (last accepted at {last:.2f} s)"
    )
    assert last < REFUSED_WITHIN_SECONDS


def test_repeated_requests_with_one_key_are_verified_about_twice_a_second(gateway, api, traffic):
    data = seed()
    key = {"X-Api-Key": data.keys["primary"]}
    before, started = verify_calls(api), time.monotonic()
    seen = [traffic.send(gateway.port, "GET", "/orders", key, expect=200).json() for _ in range(REPEATS)]
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # gunicorn writes a request's access log line once it has answered
    calls = verify_calls(api) - before

    # A cached answer still carries the portal's headers to the service.
    assert {answer["x-auth-group"] for answer in seen} == {data.group.slug}
    assert {answer["x-auth-credential"] for answer in seen} == {"Billing service"}
    # One portal call per half second the requests spanned, at most.
    assert 1 <= calls <= int(elapsed / CACHE_SECONDS) + 2
    with open(gateway.access_log) as log:
        hits = sum(f"group={data.group.slug} verify=HIT" in line for line in log)
    assert hits >= REPEATS - calls
    traffic.figures.append(f"{REPEATS} requests with one key in {elapsed:.2f} s: {calls} verify calls")


def test_refusals_are_not_cached(gateway, api, traffic):
    unknown = {"X-Api-Key": secrets.generate(Kind.API_KEY)}
    before = verify_calls(api)
    for _ in range(5):
        traffic.send(gateway.port, "GET", "/orders", unknown, expect=401)
    wait_for(lambda: verify_calls(api) - before == 5, 5, "one verify call per refused request")


def test_verify_answers_carry_no_cookie(api, traffic):
    # nginx would not cache an answer with Set-Cookie; the portal must never send one here.
    key = {"X-Api-Key": seed().keys["primary"]}
    for headers, status in [(key, 204), ({"X-Api-Key": "gpk_wrong"}, 401), ({}, 401)]:
        answer = traffic.send(api.port, "GET", "/v1/verify", headers, expect=status)
        assert "set-cookie" not in answer.headers
        assert "vary" not in answer.headers


def test_cache_files_hold_a_digest_never_the_credential(gateway, api, traffic):
    data = seed()
    client = basic_auth(data.client.client_id, data.secret)
    issued = traffic.send(api.port, "POST", "/v2/tokens", client, GRANT)
    key, token = data.keys["primary"], issued.json()["access_token"]
    presented = [
        ({"X-Api-Key": key}, [key, "", "", ""]),  # the last: the scope /orders requires (none)
        ({"X-Access-Token": token}, ["", token, "", ""]),
        ({"Authorization": f"Bearer {token}"}, ["", "", f"Bearer {token}", ""]),
    ]
    for headers, _ in presented:
        traffic.send(gateway.port, "GET", "/orders", headers, expect=200)

    entries = cache_entries(gateway.cache_dir)  # read at once: an entry is removed 2 s after its use
    assert stat.S_IMODE(os.stat(gateway.cache_dir).st_mode) == 0o700
    for _, fields in presented:  # each answer is cached under the digest of what was presented
        digest = hashlib.sha256("\n".join(fields).encode()).hexdigest()
        assert any(f"\nKEY: {digest}:".encode() in entry for entry in entries)
    for entry in entries:
        assert DIGEST_KEY.search(entry)
        assert key.encode() not in entry and token.encode() not in entry
        assert not SECRET_SHAPE.search(entry.decode(errors="replace"))
    logs = gateway.error_log.read_text() + gateway.access_log.read_text()
    assert key not in logs and token not in logs
    traffic.figures.append(f"{len(entries)} cache files, each keyed by a SHA-256, no credential in them")


def test_a_request_whose_cache_key_cannot_be_made_is_never_answered_from_the_cache(api, service, traffic):
    data = seed()
    with shipped_gateway(api, service, js_text=FAILING_JS) as unkeyed:
        traffic.send(unkeyed.port, "GET", "/orders", {"X-Api-Key": data.keys["primary"]}, expect=200)
        # Without gateway.conf's guard, both would get the 204 above, cached under the empty key.
        traffic.send(unkeyed.port, "GET", "/orders", {"X-Api-Key": "gpk_wrong"}, expect=401)
        traffic.send(unkeyed.port, "GET", "/orders", expect=401)
        assert not [path for path in unkeyed.cache_dir.rglob("*") if path.is_file()]


def test_a_credential_in_the_query_string_is_refused_and_not_logged(gateway, traffic):
    data = seed()
    key = data.keys["primary"]
    traffic.send(gateway.port, "GET", f"/orders?api_key={key}", expect=401)
    traffic.send(gateway.port, "GET", "/orders", {"X-Api-Key": key}, expect=200)

    with open(gateway.access_log) as log:
        lines = log.read().splitlines()
    assert any('"GET /orders HTTP/1.1" 401' in line for line in lines)
    assert any('"GET /orders HTTP/1.1" 200' in line and f"group={data.group.slug}" in line for line in lines)
    assert not [line for line in lines if SECRET_SHAPE.search(line) or key in line]


def scoped_seed():
    """seed() with the services of gateway.conf's example and a key limited to orders:read."""
    data = seed("Orders team")
    for name in ("orders:read", "orders:write"):
        Service.objects.create(group=data.group, name=name)
    _, values = ApiKeyCredential.create_with_keys(data.group, "Order reader", None, scopes=["orders:read"])
    data.reader_key = values["primary"]
    data.client.set_scopes(["orders:read"], data.client.version, None)
    return data


def test_a_credential_without_orders_write_gets_403_where_it_is_required(gateway, service, traffic):
    data = scoped_seed()
    reader = {"X-Api-Key": data.reader_key}

    assert traffic.send(gateway.port, "GET", "/orders/42", reader, expect=200).json()["x-auth-group"]
    before = service.requests()
    traffic.send(gateway.port, "POST", "/orders/42", reader, expect=403)  # within the 204's half second
    assert service.requests() == before
    traffic.send(gateway.port, "GET", "/orders/42", reader, expect=200)  # still 200 after the 403
    traffic.send(gateway.port, "POST", "/orders/42", {"X-Api-Key": data.keys["primary"]}, expect=200)
    traffic.figures.append(
        "scopes: orders:read only -> GET /orders/ 200, POST /orders/ 403; unrestricted POST 200"
    )


def test_a_token_asks_for_scopes_and_the_gateway_enforces_them(gateway, api, traffic):
    data = scoped_seed()
    client = basic_auth(data.client.client_id, data.secret)

    refused = traffic.send(api.port, "POST", "/v2/tokens", client, f"{GRANT}&scope=orders:write", expect=400)
    assert refused.json()["error"] == "invalid_scope"
    issued = traffic.send(api.port, "POST", "/v2/tokens", client, f"{GRANT}&scope=orders:read", expect=200)
    token = {"X-Access-Token": issued.json()["access_token"]}

    assert issued.json()["scope"] == "orders:read"
    traffic.send(gateway.port, "GET", "/orders/7", token, expect=200)
    traffic.send(gateway.port, "POST", "/orders/7", token, expect=403)


def test_rate_limited_credential_gets_429_with_retry_after_through_the_gateway(gateway, service, traffic):
    data = seed("Limited")
    data.credential.set_rate_limit(3, data.credential.version, data.owner)
    key, before = {"X-Api-Key": data.keys["primary"]}, service.requests()

    # Faster than the cache's half second: each 204 must still reach the portal and be counted.
    passed = [traffic.send(gateway.port, "GET", "/orders", key, expect=200) for _ in range(3)]
    refused = traffic.send(gateway.port, "GET", "/orders", key, expect=429)

    assert [answer.headers["ratelimit-remaining"] for answer in passed] == ["2", "1", "0"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.json()["error"] == "rate_limited"
    assert service.requests() == before + 3
    other = {"X-Api-Key": seed("Unlimited").keys["primary"]}  # no limit: no fields, not refused
    assert "ratelimit-limit" not in traffic.send(gateway.port, "GET", "/orders", other, expect=200).headers
    traffic.figures.append(
        f"rate-limited key answered 429 through the gateway (Retry-After {refused.headers['retry-after']} s)"
    )


def test_a_credential_allowed_only_elsewhere_gets_403_through_the_gateway(gateway, service, traffic):
    data = seed("Fenced")
    key, before = {"X-Api-Key": data.keys["primary"]}, service.requests()
    data.credential.set_allowed_networks("127.0.0.0/8 ::1/128", data.credential.version, data.owner)
    traffic.send(gateway.port, "GET", "/orders", key, expect=200)  # the gateway's clients are local

    data.credential.set_allowed_networks("10.0.0.0/8", data.credential.version, data.owner)
    time.sleep(MEMORY_SECONDS + 0.1)  # the portal's memory; the gateway did not cache the 204 above
    refused = traffic.send(gateway.port, "GET", "/orders", key, expect=403)

    assert refused.json()["error"] == "forbidden"
    assert service.requests() == before + 1
    traffic.figures.append("allowed networks: a key allowed only 10.0.0.0/8 answered 403 through the gateway")


def test_an_unreachable_api_pool_fails_closed(gateway, api, service, traffic):
    data = seed()
    key = {"X-Api-Key": data.keys["primary"]}
    traffic.send(gateway.port, "GET", "/orders", key, expect=200)
    api.stop()  # the last test of the module: nothing after it needs the API pool
    time.sleep(CACHE_SECONDS)  # the gateway no longer reuses the portal's last answer
    before = service.requests()

    traffic.send(gateway.port, "GET", "/orders", key, expect=500)
    assert service.requests() == before
    traffic.figures.append("API pool down: 500 from nginx, service not reached")


def verify_calls(api):
    """The /v1/verify requests the API pool has answered so far, from its access log."""
    if not api.access_log.exists():
        return 0
    return api.access_log.read_text().count('"GET /v1/verify ')


def cache_entries(cache_dir):
    """The contents of the gateway's cache files (one that nginx removes meanwhile is skipped)."""
    entries = []
    for path in cache_dir.rglob("*"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            entries.append(path.read_bytes())
    return entries
