"""The Quick start commands, read back as a shell reads them: the arguments curl receives."""

import json
import shlex

from django.test import RequestFactory

from credentials import snippets

BASE = "https://api.example.com"


def argv(command):
    """The arguments a POSIX shell passes to curl (a backslash-newline continues the line)."""
    return shlex.split(command.replace("\\\n", ""))


def test_api_key_command_calls_whoami_with_a_placeholder_key():
    command = snippets.whoami_with_api_key(BASE)

    assert argv(command) == ["curl", "-H", "X-Api-Key: <YOUR_PRIMARY_KEY>", f"{BASE}/v1/whoami"]


def test_token_v2_command_sends_the_client_id_in_http_basic():
    command = snippets.token_v2(BASE, "gpc_abc123")

    assert argv(command) == [
        "curl",
        "-u",
        "gpc_abc123:<YOUR_CLIENT_SECRET>",
        "-d",
        "grant_type=client_credentials",
        f"{BASE}/v2/tokens",
    ]


def test_tokens_v1_command_sends_a_json_body_with_the_client_id():
    arguments = argv(snippets.tokens_v1(BASE, "gpc_abc123"))

    assert arguments[:4] == ["curl", "-H", "Content-Type: application/json", "-d"]
    assert json.loads(arguments[4]) == {"clientId": "gpc_abc123", "clientSecret": "<YOUR_CLIENT_SECRET>"}
    assert arguments[5:] == [f"{BASE}/v1/tokens"]


def test_access_token_command_calls_whoami_with_a_placeholder_token():
    command = snippets.whoami_with_access_token(BASE)

    assert argv(command) == ["curl", "-H", "X-Access-Token: <ACCESS_TOKEN>", f"{BASE}/v1/whoami"]


def test_inserted_values_stay_one_argument_whatever_they_hold():
    hostile = "x'; rm -rf ~; echo '"

    assert argv(snippets.token_v2(hostile, hostile))[2] == f"{hostile}:<YOUR_CLIENT_SECRET>"
    assert argv(snippets.tokens_v1(BASE, hostile))[4] == json.dumps(
        {"clientId": hostile, "clientSecret": "<YOUR_CLIENT_SECRET>"}
    )
    assert argv(snippets.whoami_with_api_key(hostile))[-1] == f"{hostile}/v1/whoami"


def test_each_card_lists_its_endpoints_in_order():
    assert [endpoint for endpoint, _, _ in snippets.for_api_key(BASE)] == ["/v1/whoami"]
    assert [endpoint for endpoint, _, _ in snippets.for_oauth_client(BASE, "gpc_abc")] == [
        "/v2/tokens",
        "/v1/tokens",
        "/v1/whoami",
    ]


def test_base_url_is_the_page_origin_by_default(settings):
    settings.API_BASE_URL = ""
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    request = RequestFactory().get("/groups/payments/", HTTP_HOST="portal.example.com")

    assert snippets.api_base_url(request) == "http://portal.example.com"


def test_base_url_setting_wins_without_its_trailing_slash(settings):
    settings.API_BASE_URL = "https://api.example.com/"
    request = RequestFactory().get("/groups/payments/", HTTP_HOST="portal.example.com")

    assert snippets.api_base_url(request) == "https://api.example.com"
