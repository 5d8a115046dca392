"""The rows of the Authentication Information tab, prepared for the template once per page.

A group may hold many credentials: with 50 API key credentials and 50 OAuth clients the tab has
250 rows, and Django's template engine pays for every variable, filter, `{% url %}` and
`{% include %}` of every one. So the rows reach the template as plain dicts holding what each row
shows: names, times in the user's zone (portal.times), the URLs of its actions, built from one
reverse() per kind of action, and its Quick start commands (credentials/snippets.py). Each value
is HTML-escaped once here (a name appears seven times on its card); the template's autoescaping
leaves escaped values alone and still escapes anything added unescaped. The markup and wording
stay in the templates, but for the commands' one-line purposes. The queries read only the columns
shown (never the encrypted copies), build no model instances, and their number does not depend on
the number of credentials (docs/performance.md).
"""

import uuid
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy, pgettext

from credentials import snippets, usage
from credentials.models import (
    AddressRefusal,
    ApiKey,
    ApiKeyCredential,
    ClientSecret,
    ClientUsage,
    KeyUsage,
    Lockout,
    OAuthClient,
    Slot,
    max_age_end,
    recent_use_since,
    rotation_warnings,
    secret_rotation_warnings,
)
from portal.times import Writer

SECRET_ROW = "client-secret"  # noqa: S105  (the key of a row in `revealed`, not a secret)


# (slot, its label, the label in lower case, the other slot), in the order the rows are shown.
def _slots():
    """The slots as rows show them, labelled in the active language."""
    return [
        (escape(slot.value), escape(str(slot.label)), escape(str(slot.in_sentence)), escape(slot.other.value))
        for slot in Slot
    ]


_PLACEHOLDER = str(uuid.UUID(int=0))


class _Urls:
    """The URL of action `name` for any credential of the group, from a single reverse()."""

    def __init__(self, name, slug, *after):
        url = reverse(name, args=[slug, _PLACEHOLDER, *after])
        head, _, tail = url.rpartition(_PLACEHOLDER)
        self.head, self.tail = escape(head), escape(tail)

    def __call__(self, public_id, version=None):
        """The URL for `public_id`, a text from _id(), carrying the `version` the page shows."""
        query = "" if version is None else f"?version={int(version)}"
        return SafeString(f"{self.head}{public_id}{self.tail}{query}")


def _id(public_id):
    """A UUID (or a UUID and a slot) as text: hexadecimal digits and hyphens, nothing to escape."""
    return SafeString(str(public_id))


def _optional(text):
    return None if text is None else escape(text)


EXPIRY_SOON = timedelta(days=14)  # an expiry this close is highlighted


def _expiry(when, expires_at, now):
    """What a row says of its expiry: None for never, else the time, whether it has passed and
    whether it is within EXPIRY_SOON."""
    if expires_at is None:
        return None
    return {
        "at": when.html(expires_at),
        "expired": expires_at <= now,
        "soon": expires_at - now <= EXPIRY_SOON,
    }


def _past_max_age(when, group, issued_at, now):
    """What a key or secret row says of the group's maximum age: None while the value is younger,
    else the age in days, whether it is refused and since when."""
    days = group.max_credential_age_days
    if days is None or issued_at is None:
        return None
    ends = max_age_end(issued_at, days)
    if ends > now:
        return None
    return {"days": days, "enforced": group.max_age_enforced, "since": when.html(ends)}


def _refusals(when, rows, credentials, column, first_hour):
    """Each credential's requests refused from other addresses since `first_hour` and the last
    of them, from the address refusal counts (credentials.usage), into `refusals`."""
    rows = rows.filter(hour__gte=first_hour).values_list(
        column, "refused", "last_refused_at", "last_refused_address"
    )
    for pk, refused, last_at, last_address in rows:
        credential = credentials.get(pk)
        if credential is None:
            continue
        total = credential["refusals"]
        if total is None:
            total = credential["refusals"] = {"count": 0, "moment": last_at, "at": None, "address": None}
        total["count"] += refused
        if last_at >= total["moment"]:
            total["moment"], total["address"] = last_at, _optional(last_address or None)
    for credential in credentials.values():
        if credential["refusals"] is not None:
            credential["refusals"]["at"] = when.html(credential["refusals"].pop("moment"))


CHART_HOURS = 168  # one bar per hour of usage.KEPT
CHART_HEIGHT = 40  # the SVG's own units; CSS sets its size on the page


def _chart(first_hour, series, what):
    """A bar chart of requests per hour since `first_hour`, for the template's SVG: `series` is
    [(name or None, CSS class, [(hour, requests), ...])], stacked in that order. Only hours with
    requests get a bar; the label (the SVG's <title>) says the totals in words."""
    per_hour, totals = {}, []
    for name, css, counts in series:
        totals.append((name, css, sum(requests for _, requests in counts)))
        for hour, requests in counts:
            index = int((hour - first_hour).total_seconds()) // usage.HOUR_SECONDS
            if 0 <= index < CHART_HOURS:
                per_hour.setdefault(index, []).append((css, requests))
    tallest = max((sum(r for _, r in stack) for stack in per_hour.values()), default=0)
    bars = []
    for index, stack in sorted(per_hour.items()):
        top = CHART_HEIGHT
        for css, requests in stack:
            height = requests * CHART_HEIGHT / tallest
            top -= height
            bars.append({"css": css, "x": f"{index + 0.1:.1f}", "y": f"{top:.2f}", "height": f"{height:.2f}"})
    total = sum(count for _, _, count in totals)
    label = gettext("%(what)s per hour, last 7 days: %(total)s in total") % {"what": what, "total": total}
    named = [f"{name} {count}" for name, _, count in totals if name]
    if named:
        parts = pgettext("between the items of a list", ", ").join(named)
        label = gettext("%(summary)s (%(parts)s)") % {"summary": label, "parts": parts}
    legend = [{"name": name, "css": css, "count": count} for name, css, count in totals if name]
    return {"label": label, "bars": bars, "total": total, "legend": legend}


def _last_use(when, moment, address, method):
    """A last use, its time as a <time> element (`at`) and as text for an attribute (`at_text`)."""
    return {
        "at": when.html(moment),
        "at_text": escape(when.text(moment)),
        "address": escape(address) if address else None,
        "method": escape(method) if method else None,
    }


def context(group, revealed, api_base_url):
    """The template's rows: `api_key_credentials` and `oauth_clients`, with `revealed`
    {(public id, slot or SECRET_ROW): value} shown in clear, and Quick start commands calling the
    API at `api_base_url`."""
    revealed = {(str(public_id), row): value for (public_id, row), value in revealed.items()}
    return {
        "api_key_credentials": api_key_credentials(group, revealed, api_base_url),
        "oauth_clients": oauth_clients(group, revealed, api_base_url),
    }


def _quick_start(public_id, commands):
    """A card's Quick start: each command of credentials.snippets (placeholders where secrets go,
    never a value of `revealed`) with its endpoint, its purpose and an element id for Copy."""
    return [
        {
            "id": _id(f"quick-start-{public_id}-{n}"),
            "endpoint": endpoint,
            "purpose": purpose,
            "command": command,
        }
        for n, (endpoint, purpose, command) in enumerate(commands)
    ]


def _escaped(commands):
    """credentials.snippets' (endpoint, purpose, command) tuples, HTML-escaped."""
    return [tuple(escape(text) for text in command) for command in commands]


def api_key_credentials(group, revealed, api_base_url):
    """The group's API key credentials, each with its key rows, primary first."""
    delete_url = _Urls("credentials:delete-api-key", group.slug)
    expiry_url = _Urls("credentials:api-key-expiry", group.slug)
    scopes_url = _Urls("credentials:api-key-scopes", group.slug)
    show_url = {slot: _Urls("credentials:show-key", group.slug, slot) for slot in Slot}
    regenerate_url = {slot: _Urls("credentials:regenerate-key", group.slug, slot) for slot in Slot}
    kind, consequence = escape(str(ApiKeyCredential.kind)), escape(str(ApiKeyCredential.delete_consequence))
    when = Writer()  # the user's zone, resolved once for every row
    commands = _escaped(snippets.for_api_key(api_base_url))  # the same for every credential
    credentials, now = {}, timezone.now()
    rate_limit_url = _Urls("credentials:api-key-rate-limit", group.slug)
    networks_url = _Urls("credentials:api-key-networks", group.slug)
    rows = group.api_key_credentials.values_list(
        "id",
        "public_id",
        "version",
        "name",
        "created_at",
        "created_by__username",
        "expires_at",
        "scopes",
        "rate_limit",
        "allowed_networks",
    )
    for pk, public_id, version, name, created_at, created_by, expires_at, scopes, rate_limit, allowed in rows:
        public_id = _id(public_id)
        credentials[pk] = {
            "allowed_networks": _optional(allowed),
            "networks_url": networks_url(public_id, version),
            "refusals": None,
            "public_id": public_id,
            "version": version,
            "name": escape(name),
            "rate_limit": rate_limit,
            "rate_limit_url": rate_limit_url(public_id, version),
            "kind": kind,
            "delete_consequence": consequence,
            "created": when.html(created_at),
            "created_by": _optional(created_by),
            "delete_url": delete_url(public_id, version),
            "expiry": _expiry(when, expires_at, now),
            "expiry_url": expiry_url(public_id, version),
            "scopes": _optional(scopes),
            "scopes_url": scopes_url(public_id, version),
            "quick_start": _quick_start(public_id, commands),
            "slots": {},
        }
    keys = ApiKey.objects.filter(credential__group=group).values_list(
        "credential_id", "slot", "id", "hint", "created_at", "last_used_at", "last_used_address"
    )
    key_usage = {}
    for credential_id, slot, key_pk, *key in keys:
        if credential_id in credentials:  # else created after the first query: not listed
            credentials[credential_id]["slots"][slot] = key
            key_usage[key_pk] = (credential_id, slot)
    first_hour = usage.kept_since(timezone.now())
    hours, last = {}, {}
    rows = KeyUsage.objects.filter(key__credential__group=group, hour__gte=first_hour).values_list(
        "key_id", "hour", "requests", "last_used_at", "last_used_address", "last_method"
    )
    for key_pk, hour, requests, *use in rows:
        if key_pk in key_usage:
            hours.setdefault(key_usage[key_pk], []).append((hour, requests))
            if key_usage[key_pk] not in last or use[0] > last[key_usage[key_pk]][0]:
                last[key_usage[key_pk]] = use
    recent_since, slots_shown = recent_use_since(), _slots()
    for pk, credential in credentials.items():
        slots = credential.pop("slots")
        credential["keys"] = [
            _key_row(when, credential, slot, slots, revealed, show_url, regenerate_url, recent_since)
            | _key_usage(when, slots[slot[0]], hours.get((pk, slot[0]), []), last.get((pk, slot[0])))
            | {"past_max_age": _past_max_age(when, group, slots[slot[0]][1], now)}
            for slot in slots_shown
            if slot[0] in slots
        ]
        series = [(label, f"bar-{slot}", hours.get((pk, slot), [])) for slot, label, _, _ in slots_shown]
        credential["chart"] = _chart(first_hour, series, gettext("Requests"))
    refusals = AddressRefusal.objects.filter(api_key_credential__group=group)
    _refusals(when, refusals, credentials, "api_key_credential_id", first_hour)
    return list(credentials.values())


def _key_usage(when, key, hours, last):
    """A key row's usage: its requests in the chart's days and its last use, from the usage
    table or, where that knows none as recent, the key's own last use (written without a method)."""
    _, _, last_used_at, last_used_address = key
    if last is not None and (last_used_at is None or last[0] >= last_used_at):
        last_use = _last_use(when, *last)
    else:
        last_use = _last_use(when, last_used_at, last_used_address, None) if last_used_at else None
    return {"requests": sum(requests for _, requests in hours), "last_use": last_use}


def _key_row(when, credential, slot, slots, revealed, show_url, regenerate_url, recent_since):
    slot, label, label_lower, other = slot
    hint, created_at, last_used_at, last_used_address = slots[slot]
    other_last_used_at = slots[other][2] if other in slots else None
    warnings = rotation_warnings(slot, last_used_at, last_used_address, other_last_used_at, recent_since)
    public_id = credential["public_id"]
    return {
        "slot": slot,
        "label": label,
        "label_lower": label_lower,
        "other": other,
        "row_id": _id(f"{public_id}-{slot}"),
        "value": _optional(revealed.get((public_id, slot))),
        "hint": escape(hint),
        "issued": when.html(created_at),
        "show_url": show_url[slot](public_id),
        "regenerate_url": regenerate_url[slot](public_id, credential["version"]),
        "warnings": [escape(warning) for warning in warnings],
    }


def oauth_clients(group, revealed, api_base_url):
    """The group's OAuth clients with their current secret, the replaced secrets that still work,
    and their active locks."""
    delete_url = _Urls("credentials:delete-oauth-client", group.slug)
    show_url = _Urls("credentials:show-secret", group.slug)
    regenerate_url = _Urls("credentials:regenerate-secret", group.slug)
    unlock_url = _Urls("credentials:unlock-oauth-client", group.slug)
    end_grace_url = _Urls("credentials:end-grace", group.slug)
    scopes_url = _Urls("credentials:oauth-client-scopes", group.slug)
    kind, consequence = escape(str(OAuthClient.kind)), escape(str(OAuthClient.delete_consequence))
    when = Writer()  # the user's zone, resolved once for every row
    clients, by_client_id = {}, {}
    rate_limit_url = _Urls("credentials:oauth-client-rate-limit", group.slug)
    networks_url = _Urls("credentials:oauth-client-networks", group.slug)
    rows = group.oauth_clients.values_list(
        "id",
        "public_id",
        "version",
        "name",
        "client_id",
        "created_at",
        "created_by__username",
        "scopes",
        "rate_limit",
        "allowed_networks",
    )
    for pk, public_id, version, name, client_id, created_at, created_by, scopes, rate_limit, allowed in rows:
        public_id = _id(public_id)
        clients[pk] = by_client_id[client_id] = {
            "allowed_networks": _optional(allowed),
            "networks_url": networks_url(public_id, version),
            "refusals": None,
            "secret_past_max_age": None,
            "public_id": public_id,
            "name": escape(name),
            "rate_limit": rate_limit,
            "rate_limit_url": rate_limit_url(public_id, version),
            "client_id": escape(client_id),
            "kind": kind,
            "delete_consequence": consequence,
            "created": when.html(created_at),
            "created_by": _optional(created_by),
            "secret_value": _optional(revealed.get((public_id, SECRET_ROW))),
            "secret_hint": None,
            "secret_issued": None,
            "secret_expiry": None,
            "old_secrets": [],
            "lockouts": [],
            "delete_url": delete_url(public_id, version),
            "show_url": show_url(public_id),
            "regenerate_url": regenerate_url(public_id, version),
            "unlock_url": unlock_url(public_id),
            "end_grace_url": end_grace_url(public_id, version),
            "scopes": _optional(scopes),
            "scopes_url": scopes_url(public_id, version),
            "secret_pk": None,
            "regenerated": None,
            "quick_start": _quick_start(
                public_id, _escaped(snippets.for_oauth_client(api_base_url, client_id))
            ),
        }
    now = timezone.now()
    # Newest first (the model's ordering), as OAuthClient.current_secret and old_secrets see them:
    # the newest is the current secret, expired or not; older ones are shown while they work.
    for client_pk, secret_pk, hint, created_at, expires_at in ClientSecret.objects.filter(
        client__group=group
    ).values_list("client_id", "id", "hint", "created_at", "expires_at"):
        client = clients.get(client_pk)
        if client is None:
            continue
        if client["secret_pk"] is None:
            client["secret_hint"], client["secret_issued"] = escape(hint), when.html(created_at)
            client["secret_pk"], client["regenerated"] = secret_pk, usage.hour_of(created_at)
            client["secret_expiry"] = _expiry(when, expires_at, now)
            client["secret_past_max_age"] = _past_max_age(when, group, created_at, now)
        elif expires_at is not None and expires_at > now:
            old = {"pk": secret_pk, "hint": escape(hint), "until": when.html(expires_at), "tokens": 0}
            client["old_secrets"].append(old | {"last_use": None})
    _client_usage(when, group, clients, now)
    refusals = AddressRefusal.objects.filter(oauth_client__group=group)
    _refusals(when, refusals, clients, "oauth_client_id", usage.kept_since(now))
    for client_id, locks in Lockout.objects.active_for(list(by_client_id)).items():
        by_client_id[client_id]["lockouts"] = [
            {"address": escape(lock.address), "until": when.html(lock.locked_until)} for lock in locks
        ]
    return list(clients.values())


# A client's chart, by the secret that authenticated: (name, CSS class), stacked in this order.
SECRET_SERIES = {
    "current": (gettext_lazy("Current secret"), "bar-client"),
    "previous": (gettext_lazy("Previous secret"), "bar-previous"),
    "earlier": (gettext_lazy("Earlier secrets"), "bar-earlier"),
}


def _client_usage(when, group, clients, now):
    """Each client's tokens per hour, by secret where it has had more than one; the current
    secret's last token, shown and for the Regenerate warning; for each replaced secret still in
    its grace period, its last token and how many it was used for in the hours since the
    regeneration."""
    first_hour = usage.kept_since(now)
    hours, last_by_secret = {}, {}
    rows = ClientUsage.objects.filter(client__group=group, hour__gte=first_hour).values_list(
        "client_id", "secret_id", "hour", "requests", "last_used_at", "last_used_address", "last_method"
    )
    olds = {old["pk"]: (pk, old) for pk, client in clients.items() for old in client["old_secrets"]}
    for client_pk, secret_pk, hour, requests, *use in rows:
        client = clients.get(client_pk)
        if client is None:
            continue
        if secret_pk == client["secret_pk"]:
            series = "current"
        else:
            series = "previous" if secret_pk in olds else "earlier"
        hours.setdefault(client_pk, {}).setdefault(series, []).append((hour, requests))
        if secret_pk not in last_by_secret or use[0] > last_by_secret[secret_pk][0]:
            last_by_secret[secret_pk] = use
        if secret_pk in olds and client["regenerated"] is not None and hour >= client["regenerated"]:
            olds[secret_pk][1]["tokens"] += requests
    for pk, client in clients.items():
        by_secret = hours.get(pk, {})
        if client["old_secrets"] or set(by_secret) - {"current"}:
            series = [(*SECRET_SERIES[name], by_secret.get(name, [])) for name in SECRET_SERIES]
            series = [(name, css, counts) for name, css, counts in series if counts or css != "bar-earlier"]
        else:
            series = [(None, "bar-client", by_secret.get("current", []))]
        client["chart"] = _chart(first_hour, series, gettext("Tokens issued"))
        current = last_by_secret.get(client.pop("secret_pk"))
        client["last_use"] = _last_use(when, *current) if current else None
        client.pop("regenerated")
        warnings = secret_rotation_warnings(*current[:2], now) if current else []
        client["warnings"] = [escape(warning) for warning in warnings]
        for old in client["old_secrets"]:
            use = last_by_secret.get(old.pop("pk"))
            old["last_use"] = _last_use(when, *use) if use else None
