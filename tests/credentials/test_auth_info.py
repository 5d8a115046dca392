import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from credentials.models import ApiKeyCredential, Lockout, Slot
from tests.conftest import client_for, make_api_key, make_oauth_client, versioned

TAB = "/groups/payments/"
SECRET_ELEMENT = re.compile(r'data-secret="([\w-]+)"[^>]*>([^<]*)<')
ACTION_BUTTON = re.compile(r">\s*(Show|Copy|Regenerate|Delete|Create)\s*</(a|button)>")
# Quick start copies commands holding placeholders, not values: tests/credentials/test_quick_start.py.
QUICK_START = re.compile(r'<details class="quick-start">.*?</details>', re.DOTALL)


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group, created_by=cast.owner)


def revealed(response):
    """{slot: value} of every value shown in clear on the page."""
    return dict(SECRET_ELEMENT.findall(response.content.decode()))


def buttons(response):
    """The labels of the actions on credentials (outside Quick start)."""
    return {match[0] for match in ACTION_BUTTON.findall(QUICK_START.sub("", response.content.decode()))}


def test_tab_shows_group_information_and_both_sections_of_a_key(cast, api_key):
    response = client_for(cast.owner).get(TAB)

    assert response.status_code == 200
    assertContains(response, "<h1>Group Information</h1>", html=True)
    assertContains(response, "Payments")
    for label in ["Authentication Information", "Members", "Activity", "API Key Information"]:
        assertContains(response, label)
    assertContains(response, ">Billing app</h3>")
    assertContains(response, "Primary key")
    assertContains(response, "Secondary key")


def test_tab_shows_hints_and_never_the_values(cast, api_key):
    _, values = api_key

    response = client_for(cast.owner).get(TAB)

    for value in values.values():
        assertContains(response, f"gpk_…{value[-4:]}")
        assertNotContains(response, value)
    assertNotContains(response, "data-secret")


def test_tab_is_never_cached(cast, api_key):
    response = client_for(cast.owner).get(TAB)

    assert "no-store" in response["Cache-Control"]


def test_tab_says_who_created_the_key(cast, api_key):
    response = client_for(cast.viewer).get(TAB)

    assertContains(response, "by olivia")


def test_empty_group_invites_writers_to_create(cast):
    response = client_for(cast.admin).get(TAB)

    assertContains(response, "No API keys yet")
    assertContains(response, f'href="{reverse("credentials:create-api-key", args=["payments"])}"')


def test_unused_keys_say_not_used_yet(cast, api_key):
    response = client_for(cast.owner).get(TAB)

    assertContains(response, "Not used yet", count=2)


def test_used_key_shows_when_and_from_where(cast, api_key, client):
    credential, values = api_key
    client.get("/v1/whoami", headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="203.0.113.7")
    used = credential.keys.get(slot=Slot.PRIMARY).last_used_at

    response = client_for(cast.viewer).get(TAB)

    assertContains(response, f'title="UTC">{used:%Y-%m-%d %H:%M} UTC</time> from 203.0.113.7')
    assertContains(response, "Not used yet", count=1)


def test_owner_and_admin_see_every_action(cast, api_key):
    for user in (cast.owner, cast.admin):
        response = client_for(user).get(TAB)

        assert buttons(response) == {"Show", "Copy", "Regenerate", "Delete", "Create"}


def test_viewer_sees_names_hints_and_usage_but_no_action(cast, api_key):
    _, values = api_key

    response = client_for(cast.viewer).get(TAB)

    assert response.status_code == 200
    assertContains(response, "Billing app")
    assertContains(response, f"gpk_…{values[Slot.PRIMARY][-4:]}")
    assert buttons(response) == set()
    for path in ["/show/", "/regenerate/", "/delete/", "/api-keys/new/"]:
        assertNotContains(response, path)


def test_viewer_sees_no_secret_on_any_group_page(cast):
    owner = client_for(cast.owner)
    values = [
        *revealed(owner.post("/groups/payments/api-keys/new/", {"name": "Billing app"}, follow=True)).values()
    ]
    credential = cast.group.api_key_credentials.get()
    base = f"/groups/payments/api-keys/{credential.public_id}"
    owner.post(f"{base}/primary/show/", follow=True)
    values += revealed(owner.post(versioned(f"{base}/primary/regenerate/", credential), follow=True)).values()
    assert len(set(values)) == 3

    for page in [TAB, "/groups/payments/members/", "/groups/payments/activity/"]:
        response = client_for(cast.viewer).get(page)
        assert response.status_code == 200
        assert not any(value in response.content.decode() for value in values)
        assertNotContains(response, "data-secret")
        assert buttons(response) == set()


def test_viewer_of_an_empty_group_is_told_who_can_create(cast):
    response = client_for(cast.viewer).get(TAB)

    assertContains(response, "An owner or admin of this group can create API keys.")


def test_show_turned_off_removes_show_and_copy(cast, api_key, settings):
    settings.CREDENTIALS_SHOW = False

    response = client_for(cast.owner).get(TAB)

    assert buttons(response) == {"Regenerate", "Delete", "Create"}
    assertNotContains(response, "/show/")


def test_outsider_gets_404(cast, api_key):
    assert client_for(cast.outsider).get(TAB).status_code == 404


def test_unknown_group_gets_404(cast):
    assert client_for(cast.owner).get("/groups/nowhere/").status_code == 404


def test_staff_see_every_group_as_owner(cast, api_key):
    response = client_for(cast.staff).get(TAB)

    assert response.status_code == 200
    assert "Show" in buttons(response)


def test_anonymous_is_sent_to_sign_in(client, cast):
    response = client.get(TAB)

    assertRedirects(response, f"/accounts/login/?next={TAB}", fetch_redirect_response=False)


def count_tab_queries(user, slug):
    client = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/groups/{slug}/").status_code == 200
    return len(queries)


def test_the_tab_costs_the_same_queries_whatever_the_number_of_credentials(cast):
    make_api_key(cast.group, "only key")
    make_oauth_client(cast.group, "only client")
    few = count_tab_queries(cast.owner, cast.group.slug)

    for n in range(9):
        make_api_key(cast.group, f"key {n}")
        client, _ = make_oauth_client(cast.group, f"client {n}")
        client.regenerate_secret(client.version, None, grace_seconds=3600)
    many = count_tab_queries(cast.owner, cast.group.slug)

    assert many == few


def test_every_row_links_its_own_actions(cast):
    credentials = [make_api_key(cast.group, name)[0] for name in ("One", "Two")]
    client, _ = make_oauth_client(cast.group)
    Lockout.objects.create(
        client_key=Lockout.key_for(client.client_id),
        address="198.51.100.9",
        failures=5,
        last_failure_at=timezone.now(),
        locked_until=timezone.now() + timedelta(minutes=30),
    )

    page = client_for(cast.owner).get(TAB).content.decode()

    for credential in credentials:
        args = ["payments", credential.public_id]
        version = f"?version={credential.version}"
        assert page.count(f'href="{reverse("credentials:delete-api-key", args=args)}{version}"') == 1
        for slot in Slot:
            show = reverse("credentials:show-key", args=[*args, slot])
            assert page.count(f'action="{show}"') == page.count(f'data-copy-url="{show}"') == 1
            regenerate = reverse("credentials:regenerate-key", args=[*args, slot])
            assert page.count(f'href="{regenerate}{version}"') == 1
    args = ["payments", client.public_id]
    version = f"?version={client.version}"
    for name, attribute, query in [
        ("delete-oauth-client", "href", version),
        ("show-secret", "action", ""),
        ("show-secret", "data-copy-url", ""),
        ("regenerate-secret", "href", version),
        ("unlock-oauth-client", "action", ""),
    ]:
        assert page.count(f'{attribute}="{reverse(f"credentials:{name}", args=args)}{query}"') == 1


def test_names_are_escaped_exactly_once(cast):
    # The form allows no markup in names; one written straight to the database must still be inert.
    ApiKeyCredential.create_with_keys(cast.group, "R&D <team>", None)

    response = client_for(cast.owner).get(TAB)

    assertContains(response, ">R&amp;D &lt;team&gt;</h3>", html=False)
    assertContains(response, 'data-copy-label="Primary key of R&amp;D &lt;team&gt;"', html=False)
    assertNotContains(response, "&amp;amp;")
    assertNotContains(response, "<team>")


def test_the_tab_reads_no_encrypted_copy(cast, api_key):
    make_oauth_client(cast.group)
    client = client_for(cast.owner)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(TAB).status_code == 200

    assert not [query["sql"] for query in queries if "encrypted" in query["sql"]]


class _Actions(HTMLParser):
    """Every Show, Copy, Regenerate, Delete, Hide and Unlock button or link on credentials
    (outside Quick start): [(visible text, attributes)]."""

    TEXTS = {"Show", "Copy", "Regenerate", "Delete", "Hide", "Unlock"}

    def __init__(self):
        super().__init__()
        self.open, self.found = None, []

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "button"):
            self.open = (dict(attrs), [])

    def handle_data(self, data):
        if self.open:
            self.open[1].append(data)

    def handle_endtag(self, tag):
        if tag in ("a", "button") and self.open:
            text = "".join(self.open[1]).strip()
            if text in self.TEXTS:
                self.found.append((text, self.open[0]))
            self.open = None


def actions(response):
    parser = _Actions()
    # The dialogs at the end hold one button each, named by their title, not a row's action.
    parser.feed(QUICK_START.sub("", response.content.decode()).split("<dialog", 1)[0])
    return parser.found


@pytest.mark.parametrize("show", [True, False])
def test_every_action_has_its_own_accessible_name(cast, settings, show):
    settings.CREDENTIALS_SHOW = show
    for name in ("Billing service", "Search"):
        make_api_key(cast.group, name)
    for name in ("Checkout", "Refunds"):
        make_oauth_client(cast.group, name)
    owner = client_for(cast.owner)
    # One value shown in clear, so that its row has Hide.
    response = owner.post("/groups/payments/api-keys/new/", {"name": "Ledger"}, follow=True)

    found = actions(response)

    labels = [attributes.get("aria-label") for _, attributes in found]
    assert all(labels) and len(set(labels)) == len(labels) == len(found)
    for text, attributes in found:
        # The accessible name starts with the visible text (WCAG "label in name").
        assert attributes["aria-label"].startswith(f"{text} ")
    counts = {text: sum(1 for t, _ in found if t == text) for text in _Actions.TEXTS}
    # 3 API keys x 2 slots, 2 clients x (Client ID + Client Secret); Show only where enabled.
    assert counts == {
        "Show": 8 if show else 0,  # on the two shown rows, hidden until Hide
        "Copy": (6 + 2 if show else 2) + 2,  # keys, client secrets, Client IDs
        "Regenerate": 8,
        "Delete": 5,
        "Hide": 2,
        "Unlock": 0,
    }
    for expected in [
        "Show primary key of Billing service",
        "Copy secondary key of Search",
        "Regenerate primary key of Ledger",
        "Hide secondary key of Ledger",
        "Copy Client ID of Checkout",
        "Regenerate Client Secret of Refunds",
        "Delete API key Search",
        "Delete OAuth client Checkout",
    ]:
        if show or not expected.startswith(("Show", "Copy secondary")):
            assert expected in labels


def test_a_shown_value_can_be_hidden_back_to_its_hint(cast):
    owner = client_for(cast.owner)
    response = owner.post("/groups/payments/api-keys/new/", {"name": "Ledger"}, follow=True)
    values = revealed(response)
    page = response.content.decode()

    for value in values.values():
        assert 'data-hide="value-' in page
        assert f'data-hint="gpk_…{value[-4:]}"' in page
    hides = [attributes for text, attributes in actions(response) if text == "Hide"]
    assert {attributes["aria-label"] for attributes in hides} == {
        "Hide primary key of Ledger",
        "Hide secondary key of Ledger",
    }
    # The Show form of a shown row is there for Hide to bring back, hidden until then.
    assert page.count('class="inline" hidden>') == 2


def test_show_once_copy_has_no_server_fallback(cast, settings):
    settings.CREDENTIALS_SHOW = False

    response = client_for(cast.owner).post("/groups/payments/api-keys/new/", {"name": "Ledger"}, follow=True)

    assert len(revealed(response)) == 2
    assertNotContains(response, "data-copy-url")
    assertNotContains(response, "/show/")


SHOW_ONCE = "Show is turned off on this portal, so {} will not be shown again."


def test_show_once_message_on_create_says_why_it_is_the_only_chance(cast, settings):
    owner = client_for(cast.owner)
    settings.CREDENTIALS_SHOW = False

    key = owner.post("/groups/payments/api-keys/new/", {"name": "Ledger"}, follow=True)
    client = owner.post("/groups/payments/oauth-clients/new/", {"name": "Checkout"}, follow=True)

    assertContains(key, "API key Ledger created. Copy its keys now: " + SHOW_ONCE.format("they"))
    assertContains(key, "If one is lost, regenerate it.")
    assertContains(
        client, "OAuth client Checkout created. Copy its client secret now: " + SHOW_ONCE.format("it")
    )
    assertContains(client, "If it is lost, regenerate it.")


def test_normal_mode_message_on_create_is_unchanged(cast):
    response = client_for(cast.owner).post("/groups/payments/api-keys/new/", {"name": "Ledger"}, follow=True)

    assertContains(response, "API key Ledger created. Copy its keys now.")
    assertNotContains(response, "will not be shown again")


def test_show_once_message_on_regenerate_says_why_it_is_the_only_chance(cast, settings, api_key):
    credential, _ = api_key
    client, _ = make_oauth_client(cast.group, "Checkout")
    owner = client_for(cast.owner)
    settings.CREDENTIALS_SHOW = False

    key = owner.post(
        versioned(f"/groups/payments/api-keys/{credential.public_id}/primary/regenerate/", credential),
        follow=True,
    )
    secret = owner.post(
        versioned(f"/groups/payments/oauth-clients/{client.public_id}/secret/regenerate/", client),
        {"grace_seconds": 0},
        follow=True,
    )

    assertContains(
        key, "Primary key of Billing app regenerated: the old one no longer works. Copy the new one now: "
    )
    assertContains(
        secret, "Client secret of Checkout regenerated: the old one stops working at once. Copy the new one"
    )
    for response in (key, secret):
        assertContains(response, SHOW_ONCE.format("it") + " If it is lost, regenerate it.")
        assert len(revealed(response)) == 1
