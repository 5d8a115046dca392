"""How a role badge names a role: its value ("owner") in English, the word in the active language."""

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

BADGES = {
    "owner": pgettext_lazy("role badge", "owner"),
    "admin": pgettext_lazy("role badge", "admin"),
    "viewer": pgettext_lazy("role badge", "viewer"),
    "staff": pgettext_lazy("role badge", "staff"),
}


@register.filter
def role_badge(role):
    """The badge text of `role` (a Role or its value); an unknown one as it is."""
    return BADGES.get(str(role), role)
