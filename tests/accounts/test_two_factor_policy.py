"""Where a second factor is required: by a group's owners (its Policy tab, the management API) or
by staff for everyone. Without one, Show, Regenerate and every other change wait, and the refusal
says how to set one up. Step-up re-authentication takes a code instead of the password."""

import pyotp
import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from accounts.models import SitePolicy
from accounts.two_factor import require_everywhere
from groups.models import Activity, Role
from tests.accounts.conftest import age_session
from tests.conftest import PASSWORD, client_for, key_identity, make_api_key, make_member, versioned
from tests.manage.conftest import make_pat

# Each test's own key: allauth refuses a code used twice for the same user id within its window,
# and test databases give out the same ids again.
SECRET = pyotp.random_base32()


def with_app(user):
    TOTP.activate(user, SECRET)
    return user


def show_and_regenerate(group, credential):
    args = [group.slug, credential.public_id, "primary"]
    show = reverse("credentials:show-key", args=args)
    regenerate = versioned(reverse("credentials:regenerate-key", args=args), credential)
    return show, regenerate


@pytest.fixture
def required(cast):
    """Payments requires a second factor; its owner has an authenticator app."""
    with_app(cast.owner)
    cast.group.set_policy(None, False, cast.owner, two_factor_required=True)
    return cast


def test_without_a_second_factor_show_and_regenerate_are_refused_and_the_page_says_how(required):
    credential, values = make_api_key(required.group)
    show, regenerate = show_and_regenerate(required.group, credential)
    admin = client_for(required.admin)  # an admin, no second factor

    for response in (admin.post(show), admin.post(regenerate)):
        assert response.status_code == 403
        page = response.content.decode()
        assert "requires two-factor authentication" in page
        assert f'href="{reverse("mfa_index")}"' in page and "Set up two-factor authentication" in page
    assert key_identity(values["primary"]) is not None, "nothing was regenerated"
    assert not Activity.objects.filter(action="api_key.shown").exists()
    # Creating, and changing members, wait too.
    create = admin.post(reverse("credentials:create-api-key", args=[required.group.slug]), {"name": "New"})
    assert create.status_code == 403


def test_with_a_second_factor_the_same_member_goes_on(required):
    credential, values = make_api_key(required.group)
    show, regenerate = show_and_regenerate(required.group, credential)
    admin = client_for(with_app(required.admin))
    assert admin.post(show).status_code == 302
    assert admin.post(regenerate).status_code == 302
    assert key_identity(values["primary"]) is None


def test_recovery_codes_alone_are_no_second_factor(required):
    RecoveryCodes.activate(required.admin)
    credential, _ = make_api_key(required.group)
    show, _ = show_and_regenerate(required.group, credential)
    assert client_for(required.admin).post(show).status_code == 403


def test_reading_the_group_needs_no_second_factor(required):
    viewer = client_for(required.viewer)
    assert viewer.get(reverse("credentials:auth-info", args=[required.group.slug])).status_code == 200


def test_a_personal_access_token_of_a_member_without_one_is_refused_too(required):
    credential, _ = make_api_key(required.group)
    raw = make_pat(required.admin, read_only=False)
    url = f"/api/manage/v1/groups/{required.group.slug}/api-keys/{credential.public_id}/primary/reveal/"
    response = client_for(required.admin).post(url, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
    assert "two-factor" in response.json()["error_description"]


def test_the_policy_tab_sets_it_and_refuses_an_owner_without_a_second_factor(cast):
    policy = reverse("groups:policy", args=[cast.group.slug])
    owner = client_for(cast.owner)
    refused = owner.post(policy, {"max_credential_age_days": "", "two_factor_required": "on"})
    assert refused.status_code == 400
    assert "Set up two-factor authentication for yourself first" in refused.content.decode()
    cast.group.refresh_from_db()
    assert not cast.group.two_factor_required

    with_app(cast.owner)
    assert owner.post(policy, {"max_credential_age_days": "", "two_factor_required": "on"}).status_code == 302
    cast.group.refresh_from_db()
    assert cast.group.two_factor_required
    entry = Activity.objects.get(action="group.policy_changed")
    assert "two-factor authentication required" in entry.target
    assert "Members need two-factor authentication" in owner.get(policy).content.decode()


def test_the_management_api_sets_it_and_leaving_it_out_keeps_it(cast):
    with_app(cast.owner)
    raw = make_pat(cast.owner, read_only=False)
    url = f"/api/manage/v1/groups/{cast.group.slug}/policy/"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = {"max_credential_age_days": None, "max_age_enforced": False, "two_factor_required": True}
    client = client_for(cast.owner)
    response = client.put(url, body, content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["two_factor_required"] is True
    body = {"max_credential_age_days": 90, "max_age_enforced": False}
    response = client.put(url, body, content_type="application/json", **auth)
    assert response.json()["two_factor_required"] is True


def test_staff_require_it_for_everyone(cast):
    staff = with_app(cast.staff)
    client = client_for(staff)
    assert client.post(reverse("mfa_require_everywhere"), {"required": "on"}).status_code == 302
    assert SitePolicy.objects.current().two_factor_required
    assert Activity.objects.filter(action="site.two_factor_policy_changed", group=None).exists()

    credential, _ = make_api_key(cast.group)
    show, _ = show_and_regenerate(cast.group, credential)
    assert client_for(cast.owner).post(show).status_code == 403
    assert "required for everyone" in client_for(cast.owner).get(reverse("mfa_index")).content.decode()

    client.post(reverse("mfa_require_everywhere"))
    assert not SitePolicy.objects.current().two_factor_required
    assert client_for(cast.owner).post(show).status_code == 302


def test_only_staff_with_a_second_factor_may_require_it_for_everyone(cast):
    owner = client_for(cast.owner)
    assert owner.post(reverse("mfa_require_everywhere"), {"required": "on"}).status_code == 403
    staff = client_for(cast.staff)
    staff.post(reverse("mfa_require_everywhere"), {"required": "on"})
    assert not SitePolicy.objects.current().two_factor_required
    assert not require_everywhere(False, cast.owner), "unchanged: nothing recorded"


def test_step_up_takes_a_code_instead_of_the_password(cast):
    with_app(cast.owner)
    client = client_for(cast.owner)
    age_session(client, authenticated_at=16 * 60)
    credential, _ = make_api_key(cast.group)
    show, _ = show_and_regenerate(cast.group, credential)
    assert client.post(show).status_code == 302  # to the password page
    tab = reverse("credentials:auth-info", args=[cast.group.slug])

    page = client.get(reverse("reauthenticate") + f"?next={tab}").content.decode()
    assert 'autocomplete="one-time-code"' in page
    wrong = client.post(reverse("reauthenticate"), {"code": "000000", "next": tab})
    assert wrong.status_code == 200
    assert Activity.objects.filter(action="account.sign_in_failed").exists(), "counted"
    done = client.post(reverse("reauthenticate"), {"code": pyotp.TOTP(SECRET).now(), "next": tab})
    assert done.status_code == 302 and done["Location"] == tab
    assert client.post(show)["Location"].startswith(tab)


def test_step_up_without_an_app_still_asks_for_the_password_only(cast):
    client = client_for(make_member(cast.group, Role.ADMIN, "arno"))
    page = client.get(reverse("reauthenticate")).content.decode()
    assert "one-time-code" not in page
    assert client.post(reverse("reauthenticate"), {"password": PASSWORD}).status_code == 302
