"""The API Reference in the page's language: the OpenAPI document (/api/schema/) and its Swagger UI
page (/api/docs/), on the portal pool only.

The language is the portal's (the locale middleware: a signed-in user's choice, else the language
cookie, else Accept-Language), or `?lang=` when it names one of LANGUAGES, as drf-spectacular reads
it. The page names its language in the schema URL it loads, so the document matches the page.
"""

from django.conf import settings
from django.utils import translation
from drf_spectacular.plumbing import get_relative_url, set_query_parameters
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.reverse import reverse


class FollowsLangParameter:
    """Activates `?lang=` when it is one of LANGUAGES. Any other value is ignored rather than handed
    to Django, which would keep a translation object for every code it is asked for."""

    def initial(self, request, *args, **kwargs):
        language = request.GET.get("lang")
        if language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        super().initial(request, *args, **kwargs)


class SchemaView(FollowsLangParameter, SpectacularAPIView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        # Not drf-spectacular's get, which activates `?lang=` whatever it says.
        return self._get_schema_response(request)

    def _get_filename(self, request, version):
        # The English title, since a header value (Content-Disposition) must stay ASCII.
        with translation.override(settings.LANGUAGE_CODE):
            return super()._get_filename(request, version)


class ReferenceView(FollowsLangParameter, SpectacularSwaggerSplitView):
    def _get_schema_url(self, request):
        schema_url = self.url or get_relative_url(reverse(self.url_name, request=request))
        return set_query_parameters(
            url=schema_url, lang=translation.get_language(), version=request.GET.get("version")
        )
