"""The `local` filter: a moment as portal.times writes it, in the active time zone with its zone."""

from django import template

from portal.times import Writer

register = template.Library()


@register.filter
def local(moment, precision="minute"):
    """`{{ moment|local }}`, `{{ moment|local:"second" }}`, `{{ moment|local:"day" }}`: a <time>
    element holding the moment in the user's zone; nothing for no moment."""
    if not moment:
        return ""
    return Writer().html(moment, precision)


@register.filter
def local_split(moment, precision="minute"):
    """As `local`, with the day and the time in two spans (Activity's When column)."""
    if not moment:
        return ""
    return Writer().html(moment, precision, split=True)
