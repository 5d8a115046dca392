from django import template
from django.utils.html import format_html

from accounts.submissions import FIELD, new_token

register = template.Library()


@register.simple_tag
def submission_token():
    """A hidden one-time token for a form whose view acts once (accounts.submissions.once)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())
