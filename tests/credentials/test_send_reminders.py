"""manage.py send_reminders: one daily digest per owner, through a real SMTP server."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Preference
from credentials.models import ApiKeyCredential, Reminder
from groups.models import Membership, Role
from tests.conftest import make_api_key, make_group
from tests.groups.mailserver import body_of, smtp_server


@pytest.fixture
def inbox(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com/"
    with smtp_server(settings) as inbox:
        yield inbox


def expiring_key(group, name="Billing app"):
    credential, _ = make_api_key(group, name)
    expires_at = timezone.now() + timedelta(days=3)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=expires_at)
    return credential, expires_at


def run():
    out = StringIO()
    call_command("send_reminders", stdout=out)
    return out.getvalue()


def test_one_mail_per_owner_listing_all_their_groups(cast, inbox):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    ledger = make_group("Ledger")
    Membership.objects.create(user=cast.owner, group=ledger, role=Role.OWNER)
    credential, _ = expiring_key(cast.group)
    expiring_key(ledger, "Ledger sync")

    output = run()

    assert "Sent 1 reminders" in output
    ((recipients, message),) = inbox.messages
    assert recipients == ["olivia@example.com"]
    assert message["Subject"] == "2 items need attention on the API Authentication Portal"
    body = body_of(message)
    assert "Payments" in body and "Ledger" in body
    assert "Billing app expires at" in body and "Ledger sync expires at" in body
    assert f"https://portal.example.com/groups/payments/#cred-{credential.public_id}" in body
    assert "gpk_" not in body


def test_only_owners_with_an_address_are_mailed(cast, inbox):
    for user in (cast.admin, cast.viewer, cast.staff):
        user.email = f"{user.username}@example.com"
        user.save()
    expiring_key(cast.group)

    output = run()

    assert inbox.messages == []
    assert "Sent 0 reminders" in output


def test_a_japanese_owner_gets_japanese_with_japan_time(cast, inbox):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    Preference.objects.create(user=cast.owner, language="ja")
    _, expires_at = expiring_key(cast.group)

    run()

    ((_, message),) = inbox.messages
    assert "要対応" in message["Subject"]
    jst = timezone.localtime(expires_at, timezone.get_fixed_timezone(540))
    assert f"{jst:%Y-%m-%d %H:%M} JST" in body_of(message)
    assert "有効期限" in body_of(message)


def test_a_second_run_the_same_day_sends_nothing(cast, inbox):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    expiring_key(cast.group)
    run()

    output = run()

    assert len(inbox.messages) == 1
    assert "Sent 0 reminders; 1 owners already reminded today" in output
    assert Reminder.objects.get(user=cast.owner).sent_on == timezone.now().date()


def test_the_next_day_sends_again(cast, inbox):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    expiring_key(cast.group)
    Reminder.objects.create(user=cast.owner, sent_on=timezone.now().date() - timedelta(days=1))

    run()

    assert len(inbox.messages) == 1


def test_nothing_is_sent_when_nothing_needs_attention(cast, inbox):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    make_api_key(cast.group)

    assert "Sent 0 reminders; 0 owners" in run()
    assert inbox.messages == []


def test_a_failed_mail_is_tried_again_by_the_next_run(cast, settings):
    cast.owner.email = "olivia@example.com"
    cast.owner.save()
    expiring_key(cast.group)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1

    with pytest.raises(Exception, match="1 reminders could not be sent"):
        run()

    assert not Reminder.objects.filter(user=cast.owner).exists()
