"""The Quick start of each card on the Authentication Information tab: curl commands with the
real Client ID and placeholders, never a key, secret or digest, for every member."""

import html
import re

import pytest
from pytest_django.asserts import assertContains

from credentials.models import ApiKey, ClientSecret
from tests.conftest import client_for, make_api_key, make_oauth_client

TAB = "/groups/payments/"
COMMAND = re.compile(r'<pre><code id="quick-start-[\w-]+">(.*?)</code></pre>', re.DOTALL)


@pytest.fixture
def credentials(cast):
    """An API key credential and an OAuth client: (credential, key values, client, secret)."""
    credential, values = make_api_key(cast.group, created_by=cast.owner)
    client, secret = make_oauth_client(cast.group, created_by=cast.owner)
    return credential, values, client, secret


def commands(response):
    """Every Quick start command on the page, as the text Copy puts on the clipboard."""
    return [html.unescape(command) for command in COMMAND.findall(response.content.decode())]


def stored_digests():
    return [
        *ApiKey.objects.values_list("digest", flat=True),
        *ClientSecret.objects.values_list("digest", flat=True),
    ]


def test_tab_shows_each_cards_commands_with_the_client_id_and_placeholders(cast, credentials):
    _, _, client, _ = credentials

    response = client_for(cast.owner).get(TAB)

    assertContains(response, '<details class="quick-start">', count=2)
    assertContains(response, "<summary>Quick start</summary>", count=2)
    whoami_key, token_v2, tokens_v1, whoami_token = commands(response)
    assert "X-Api-Key: <YOUR_PRIMARY_KEY>" in whoami_key
    assert "http://testserver/v1/whoami" in whoami_key
    assert f"-u '{client.client_id}:<YOUR_CLIENT_SECRET>'" in token_v2
    assert "-d grant_type=client_credentials" in token_v2
    assert "http://testserver/v2/tokens" in token_v2
    assert f'"clientId": "{client.client_id}"' in tokens_v1
    assert '"clientSecret": "<YOUR_CLIENT_SECRET>"' in tokens_v1
    assert "http://testserver/v1/tokens" in tokens_v1
    assert "X-Access-Token: <ACCESS_TOKEN>" in whoami_token


def test_copy_buttons_name_the_command_and_the_credential(cast, credentials):
    response = client_for(cast.owner).get(TAB)

    assertContains(response, 'aria-label="Copy the /v1/whoami command for Billing app"')
    for endpoint in ["/v2/tokens", "/v1/tokens", "/v1/whoami"]:
        assertContains(response, f'aria-label="Copy the {endpoint} command for Checkout"')


def test_no_key_secret_or_digest_is_on_the_tab(cast, credentials):
    _, values, _, secret = credentials

    content = client_for(cast.owner).get(TAB).content.decode()

    for value in [*values.values(), secret, *stored_digests()]:
        assert value not in content


def test_commands_stay_placeholders_while_the_page_shows_values(cast, credentials):
    credential, values, client, secret = credentials
    owner = client_for(cast.owner)

    shown = [
        owner.post(f"{TAB}api-keys/{credential.public_id}/primary/show/", follow=True),
        owner.post(f"{TAB}oauth-clients/{client.public_id}/secret/show/", follow=True),
    ]

    for response, value in zip(shown, [values["primary"], secret], strict=True):
        assertContains(response, value)  # in its data-secret element, and only there
        for command in commands(response):
            assert all(value not in command for value in [*values.values(), secret, *stored_digests()])
        assert "<YOUR_PRIMARY_KEY>" in commands(response)[0]


def test_api_base_url_overrides_the_page_origin(cast, credentials, settings):
    settings.API_BASE_URL = "https://api.example.com/"

    found = commands(client_for(cast.owner).get(TAB))

    assert len(found) == 4
    assert all("https://api.example.com/v" in command for command in found)
    assert not any("testserver" in command for command in found)


def test_viewer_sees_the_same_commands(cast, credentials):
    _, values, _, secret = credentials

    for_owner = commands(client_for(cast.owner).get(TAB))
    response = client_for(cast.viewer).get(TAB)

    assert commands(response) == for_owner
    for value in [*values.values(), secret, *stored_digests()]:
        assert value not in response.content.decode()
