"""The "Needs attention" list (credentials.attention) on the Group List and each group's tab, as
a tag: the Group List's view belongs to groups, which does not import credentials."""

from django import template

from credentials import attention

register = template.Library()


@register.inclusion_tag("credentials/_attention.html")
def needs_attention(groups):
    """The items of the groups a Group List shows, grouped by group; nothing when there are none."""
    groups = list(groups)
    items = attention.items_for(groups)
    return {"by_group": [(group, items[group.slug]) for group in groups if group.slug in items], "one": False}


@register.inclusion_tag("credentials/_attention.html")
def group_needs_attention(group):
    """One group's items for the top of its tab, but the suspension, which the tab's banner says."""
    items = [
        item for item in attention.items_for([group]).get(group.slug, []) if item.kind != attention.SUSPENDED
    ]
    return {"by_group": [(group, items)] if items else [], "one": True}
