import re
from datetime import timedelta

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

    assertContains(response, f"Last used {used:%Y-%m-%d %H:%M} UTC from 203.0.113.7")
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
