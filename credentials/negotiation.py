"""DRF content negotiation for this project's API (its own module: DRF imports it while loading its views)."""

from rest_framework.negotiation import DefaultContentNegotiation


class OnlyRendererNegotiation(DefaultContentNegotiation):
    """A view with a single renderer (every API view here: JSON) answers in it without parsing
    Accept, which was an eighth of a verification's cost; views with several (the OpenAPI
    document) negotiate as usual."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
