"""The API Reference follows the page's language: the OpenAPI document's title and texts are in
Japanese for a Japanese browser or user, with the same operations, paths, fields and error codes.
The API itself answers in English: error_description stays ASCII whatever Accept-Language says
(RFC 6749 5.2), on both pools.
"""

import base64
import json
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import Preference
from tests.conftest import make_group, make_oauth_client, make_user
from tests.test_japanese_pages import LOCALE, catalogue  # noqa: F401 (a fixture, used by name)

FORM = "application/x-www-form-urlencoded"
JAPANESE_TITLE = "API認証 API リファレンス"
ENGLISH_TITLE = "API Authentication API Reference"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# The keys of the document that hold words for people; everything else is the API's contract.
WORDS = {"title", "description", "summary", "tags"}
# RFC 6749 5.2: error_description's characters.
RFC_6749_ASCII = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]*")
POOLS = {
    "portal": {},
    "api": {"MIDDLEWARE": settings.API_MIDDLEWARE, "ROOT_URLCONF": "portal.api_urls"},
}


@pytest.fixture
def compiled(catalogue):  # noqa: F811 (the fixture imported above)
    """The real Japanese catalogue, read afresh: changing LOCALE_PATHS resets Django's translations."""
    with override_settings(LOCALE_PATHS=[str(LOCALE)]):
        yield


def schema(client=None, query="", **headers):
    response = (client or Client()).get(
        f"/api/schema/{query}", headers={"Accept": "application/json", **headers}
    )
    assert response.status_code == 200
    return response


def contract(document):
    """The document without its words: what a client program relies on."""
    if isinstance(document, dict):
        return {key: contract(value) for key, value in document.items() if key not in WORDS}
    if isinstance(document, list):
        return [contract(value) for value in document]
    return document


def operations(document):
    return [operation for item in document["paths"].values() for operation in item.values()]


def test_the_schema_is_in_japanese_for_a_japanese_browser(compiled, db):
    response = schema(**{"Accept-Language": "ja"})

    document = response.json()
    assert response.headers["Content-Language"] == "ja"
    assert document["info"]["title"] == JAPANESE_TITLE
    assert document["info"]["description"].startswith("Client ID と Client Secret でアクセストークンを発行し")
    assert "錠アイコン" in document["info"]["description"]
    assert [tag["name"] for tag in document["tags"]] == [
        "トークン（OAuth 2.0）",
        "トークン（従来方式）",
        "サービスAPI",
        "管理API",
    ]
    assert all(JAPANESE.search(operation["summary"]) for operation in operations(document))
    assert all(JAPANESE.search(operation["description"]) for operation in operations(document))


def test_the_english_schema_is_unchanged(compiled, db):
    document = schema(**{"Accept-Language": "en"}).json()

    assert document["info"]["title"] == ENGLISH_TITLE
    assert document["info"]["description"].startswith(
        "Issue access tokens with a Client ID and Client Secret"
    )
    assert document["tags"][0]["name"] == "Tokens (OAuth 2.0)"
    assert not JAPANESE.search(json.dumps(document, ensure_ascii=False))


def test_only_the_words_change_between_languages(compiled, db):
    english = schema(**{"Accept-Language": "en"}).json()
    japanese = schema(**{"Accept-Language": "ja"}).json()

    # Operation ids, paths, methods, fields, error enums, examples and security schemes.
    assert contract(japanese) == contract(english)
    assert "invalid_client" in json.dumps(japanese)
    assert japanese["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"
    # Each operation's tags name one of the document's tags, in both languages.
    for document in (english, japanese):
        names = {tag["name"] for tag in document["tags"]}
        assert all(set(operation["tags"]) <= names for operation in operations(document))


def test_a_japanese_users_choice_wins_over_the_browser(compiled, db):
    user = make_user("hana")
    Preference.objects.choose_language(user, "ja")
    client = Client()
    client.force_login(user)

    assert schema(client, **{"Accept-Language": "en"}).json()["info"]["title"] == JAPANESE_TITLE


def test_the_lang_parameter_names_the_language(compiled, db):
    assert schema(query="?lang=ja", **{"Accept-Language": "en"}).json()["info"]["title"] == JAPANESE_TITLE
    assert schema(query="?lang=en", **{"Accept-Language": "ja"}).json()["info"]["title"] == ENGLISH_TITLE


def test_an_unknown_lang_is_ignored(compiled, db):
    response = schema(query="?lang=xx-unknown", **{"Accept-Language": "ja"})

    assert response.json()["info"]["title"] == JAPANESE_TITLE
    assert response.headers["Content-Language"] == "ja"


def test_the_download_name_stays_ascii(compiled, db):
    response = schema(**{"Accept-Language": "ja"})

    assert response.headers["Content-Disposition"] == f'inline; filename="{ENGLISH_TITLE}.json"'


def test_the_japanese_page_loads_the_japanese_schema(compiled, db):
    client = Client(headers={"Accept-Language": "ja"})

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    assert '<html lang="ja">' in page.content.decode()
    assert f"<title>{JAPANESE_TITLE}</title>" in page.content.decode()
    schema_url = json.loads(re.search(r'url: ("[^"]+")', script.content.decode()).group(1))
    assert schema_url == "/api/schema/?lang=ja"
    assert (
        schema(Client(), query=schema_url.removeprefix("/api/schema/")).json()["info"]["title"]
        == JAPANESE_TITLE
    )


def test_the_english_page_loads_the_english_schema(compiled, db):
    client = Client(headers={"Accept-Language": "en"})

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert '<html lang="en">' in page.content.decode()
    assert f"<title>{ENGLISH_TITLE}</title>" in page.content.decode()
    assert 'url: "/api/schema/?lang\\u003Den"' in script.content.decode()  # escapejs's "="


@pytest.fixture(params=list(POOLS))
def pool(request, settings):
    """The test runs through the portal pool's middleware and URLconf, then the API pool's."""
    for name, value in POOLS[request.param].items():
        setattr(settings, name, value)
    return request.param


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def refused(path, method, body, content_type, headers, japanese):
    """The refusal of a request, from an English client or from a Japanese one."""
    if japanese:
        headers = {**headers, "Accept-Language": "ja", "Cookie": f"{settings.LANGUAGE_COOKIE_NAME}=ja"}
    response = getattr(Client(), method)(path, body, content_type=content_type, headers=headers)
    return response, response.json()


@pytest.mark.parametrize("code", ["invalid_client", "invalid_grant"])
def test_error_description_stays_english_for_a_japanese_client(compiled, db, pool, code):
    if code == "invalid_client":
        oauth_client, _ = make_oauth_client(make_group())
        request = ("/v2/tokens", "post", "grant_type=client_credentials", FORM)
        headers = {"Authorization": basic(oauth_client.client_id, "wrong")}
    else:
        request = ("/v1/tokens", "patch", json.dumps({"refreshToken": "gpr_unknown"}), "application/json")
        headers = {}

    english, english_body = refused(*request, headers, japanese=False)
    japanese, japanese_body = refused(*request, headers, japanese=True)

    assert japanese.status_code == english.status_code
    assert japanese_body == english_body
    assert japanese_body["error"] == code
    assert RFC_6749_ASCII.fullmatch(japanese_body["error_description"])
    assert "Content-Language" not in japanese.headers
