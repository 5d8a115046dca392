"""Versioned.claim, through Membership: the version an administrator saw, checked by one UPDATE."""

import pytest
from django.contrib.auth.models import AnonymousUser

from groups.models import EditConflict, Membership


def vera(cast):
    return Membership.objects.get(user=cast.viewer)


def test_claiming_the_current_version_moves_to_the_next(cast):
    membership = vera(cast)

    membership.claim(1, cast.owner)

    stored = vera(cast)
    assert (membership.version, stored.version, stored.changed_by) == (2, 2, cast.owner)
    assert stored.changed_at == membership.changed_at is not None


def test_claiming_a_stale_version_changes_nothing_and_names_who_changed_it(cast):
    vera(cast).claim(1, cast.admin)
    stored = vera(cast)

    with pytest.raises(EditConflict) as conflict:
        vera(cast).claim(1, cast.owner)

    assert conflict.value.message.startswith(
        f"vera in Payments (viewer) was changed by adam at {stored.changed_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    assert (vera(cast).version, vera(cast).changed_by) == (2, cast.admin)


def test_claiming_a_deleted_object_says_it_was_deleted(cast):
    membership = vera(cast)
    Membership.objects.filter(pk=membership.pk).delete()

    with pytest.raises(EditConflict) as conflict:
        membership.claim(1, cast.owner)

    assert conflict.value.message == (
        "vera in Payments (viewer) was deleted after you opened this page. Nothing was done."
    )


def test_a_claim_without_a_signed_in_user_records_no_one(cast):
    vera(cast).claim(1, AnonymousUser())

    with pytest.raises(EditConflict, match="was changed by someone at"):
        vera(cast).claim(1, cast.owner)
    assert vera(cast).changed_by is None


def test_a_claim_of_no_version_on_a_never_changed_object_says_the_page_is_out_of_date(cast):
    with pytest.raises(EditConflict) as conflict:
        vera(cast).claim(0, cast.owner)

    assert conflict.value.message == (
        "This page is out of date for vera in Payments (viewer). Nothing was done: reload it and try again."
    )
