import re
from datetime import timedelta

from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from groups.models import Action, Activity
from tests.conftest import changes, client_for, make_group

ACTIVITY = "/groups/payments/activity/"


def add_events(group, count):
    """`count` rows targeting event-00 … event-NN, one minute apart, the last one newest."""
    start = timezone.now() - timedelta(hours=1)
    for i in range(count):
        Activity.objects.create(
            group=group,
            actor_name="olivia",
            action=Action.MEMBER_ADDED,
            target=f"event-{i:02}",
            created_at=start + timedelta(minutes=i),
        )


def targets(response):
    return re.findall(r"event-\d\d", response.content.decode())


def test_viewer_sees_the_activity_tab(cast):
    add_events(cast.group, 1)

    response = client_for(cast.viewer).get(ACTIVITY)

    assert response.status_code == 200
    assertContains(response, "<h2>Activity</h2>", html=True)
    assertContains(response, "added member")
    assertContains(response, "event-00")


def test_empty_state(cast):
    response = client_for(cast.viewer).get(ACTIVITY)

    assert response.status_code == 200
    assertContains(response, "Nothing has happened in this group yet.")
    assertNotContains(response, "<table")


def test_newest_first_by_time_not_by_insertion(cast):
    now = timezone.now()
    Activity.objects.create(group=cast.group, action=Action.MEMBER_ADDED, target="event-01", created_at=now)
    yesterday = now - timedelta(days=1)
    Activity.objects.create(
        group=cast.group, action=Action.MEMBER_ADDED, target="event-02", created_at=yesterday
    )

    response = client_for(cast.viewer).get(ACTIVITY)

    assert targets(response) == ["event-01", "event-02"]


def test_first_page_has_the_25_newest_and_a_link_to_older(cast):
    add_events(cast.group, 30)

    response = client_for(cast.viewer).get(ACTIVITY)

    assert response.status_code == 200
    assert targets(response) == [f"event-{i:02}" for i in range(29, 4, -1)]
    assertContains(response, "Page 1 of 2")
    assertContains(
        response, '<a class="button small" href="/groups/payments/activity/?page=2">Older</a>', html=True
    )
    assertNotContains(response, "Newer")


def test_second_page_has_the_rest_and_a_link_to_newer(cast):
    add_events(cast.group, 30)

    response = client_for(cast.viewer).get(ACTIVITY, {"page": 2})

    assert targets(response) == ["event-04", "event-03", "event-02", "event-01", "event-00"]
    assertContains(response, "Page 2 of 2")
    assertContains(
        response, '<a class="button small" href="/groups/payments/activity/?page=1">Newer</a>', html=True
    )
    assertNotContains(response, "Older")


def test_exactly_25_rows_need_no_pagination(cast):
    add_events(cast.group, 25)

    response = client_for(cast.viewer).get(ACTIVITY)

    assert len(targets(response)) == 25
    assertNotContains(response, "Older")
    assertNotContains(response, "Page 1 of")


def test_invalid_page_numbers_fall_back_to_a_real_page(cast):
    add_events(cast.group, 30)
    client = client_for(cast.viewer)

    assert targets(client.get(ACTIVITY, {"page": "abc"}))[0] == "event-29"
    assert targets(client.get(ACTIVITY, {"page": 99}))[0] == "event-04"


def test_rows_show_actor_name_and_source_address(cast):
    client_for(cast.owner).post(
        "/groups/payments/members/add/", {"username": "oscar", "role": "viewer"}, REMOTE_ADDR="203.0.113.7"
    )

    response = client_for(cast.viewer).get(ACTIVITY)

    assertContains(response, '<td class="strong">olivia</td>', html=True)
    assertContains(response, '<td class="muted">203.0.113.7</td>', html=True)
    row = changes().get()
    assert (row.actor_name, row.source_address) == ("olivia", "203.0.113.7")


def test_actor_name_survives_the_deleted_user(cast):
    client_for(cast.owner).post("/groups/payments/members/vera/remove/", {"version": 1})
    cast.owner.delete()

    response = client_for(cast.admin).get(ACTIVITY)

    assertContains(response, '<td class="strong">olivia</td>', html=True)
    row = changes().get()
    assert (row.actor, row.actor_name) == (None, "olivia")


def test_rows_without_actor_or_address_show_placeholders(cast):
    Activity.objects.create(group=cast.group, action=Action.GROUP_CREATED, target="Payments")

    response = client_for(cast.viewer).get(ACTIVITY)

    assertContains(response, '<td class="strong">system</td>', html=True)
    assertContains(response, '<td class="muted">—</td>', html=True)


def test_only_this_groups_activity_is_shown(cast):
    other = make_group("Logistics")
    Activity.objects.create(group=other, action=Action.GROUP_CREATED, target="event-99")
    add_events(cast.group, 1)

    response = client_for(cast.viewer).get(ACTIVITY)

    assert targets(response) == ["event-00"]


def test_outsider_gets_404(cast):
    add_events(cast.group, 1)

    response = client_for(cast.outsider).get(ACTIVITY)

    assert response.status_code == 404
    assertNotContains(response, "event-00", status_code=404)


def test_a_lockout_counted_from_several_addresses_says_how_many(cast):
    Activity.objects.create(group=cast.group, action=Action.CLIENT_LOCKED, target="Checkout", occurrences=3)

    response = client_for(cast.viewer).get(ACTIVITY)

    assert response.status_code == 200
    assertContains(
        response,
        '<td>locked after failed authentications: <span class="target">Checkout</span> from 3 addresses</td>',
        html=True,
    )


def test_another_event_counted_several_times_says_how_many(cast):
    Activity.objects.create(group=cast.group, action=Action.MEMBER_ADDED, target="event-00", occurrences=2)

    response = client_for(cast.viewer).get(ACTIVITY)

    assertContains(
        response, '<td>added member <span class="target">event-00</span> (2 times)</td>', html=True
    )


def test_an_event_that_happened_once_shows_no_count(cast):
    Activity.objects.create(group=cast.group, action=Action.CLIENT_LOCKED, target="Checkout from 192.0.2.1")

    response = client_for(cast.viewer).get(ACTIVITY)

    assertContains(
        response,
        '<td>locked after failed authentications: <span class="target">Checkout from 192.0.2.1</span></td>',
        html=True,
    )
    assertNotContains(response, "addresses")
    assertNotContains(response, "times)")
