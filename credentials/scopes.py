"""Scopes: the names of a group's services (groups.models.Service) that a credential may use.

A credential's or token's scopes are stored as one space-separated text (RFC 6749 3.3), or NULL
for "every service of the group", so that verification reads them with the row it already
fetches (credentials.sql). In memory they are a frozenset, or None for all.
"""

from rest_framework.permissions import BasePermission


def parse(text):
    """The stored text as a frozenset of names; None (all) for NULL."""
    return None if text is None else frozenset(text.split())


def stored(names):
    """The text to store for `names` (an iterable; None: all), sorted so equal lists compare equal."""
    return None if names is None else " ".join(sorted(set(names)))


def narrowed(granted, limit):
    """The scopes both `granted` and `limit` allow, each a frozenset or None (all)."""
    if granted is None:
        return limit
    return granted if limit is None else granted & limit


def allows(scopes, required):
    """Whether scopes (a frozenset, or None for all) include `required`."""
    return scopes is None or required in scopes


def requested(value):
    """RFC 6749 3.3: the names of a `scope` parameter (space-delimited, case-sensitive), or None
    when it is absent. An empty name (an empty value, two spaces) stays in: no grant has it."""
    return None if value is None else frozenset(value.split(" "))


def removed(text, name):
    """The stored text without `name` (NULL stays NULL: all)."""
    names = parse(text)
    return None if names is None else stored(names - {name})


class HasScope(BasePermission):
    """DRF permission for a service using CredentialAuthentication: the credential must have
    `scope`. Use as `permission_classes = [HasScope("orders:read")]`."""

    message = "The credential does not have the scope this API requires."

    def __init__(self, scope):
        self.scope = scope

    def __call__(self):
        return self  # DRF instantiates each permission class: the instance stands for its class

    def has_permission(self, request, view):
        identity = getattr(request, "auth", None)
        return identity is not None and allows(getattr(identity, "scopes", None), self.scope)
