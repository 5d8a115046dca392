"""The language and time zone of each page.

PortalLocaleMiddleware is Django's LocaleMiddleware (the language cookie, else Accept-Language) for
pages only: the API's addresses answer in English with the same headers on both pools, as the API
pool, which has no locale middleware, does. UserLocaleMiddleware then gives a signed-in user the
language chosen with the switcher on any browser, and times in the user's zone (accounts.Preference),
by default the one of the page's language (Asia/Tokyo for Japanese).
"""

import zoneinfo

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone, translation

from accounts.models import Preference

# What the API pool serves (portal.api_urls): the token endpoints, /v1/verify, /v1/whoami, /healthz;
# and the management API, which the portal pool serves.
API_PATHS = ("/v1/", "/v2/", "/healthz", "/api/manage/")


def serves_api(request):
    return request.path_info.startswith(API_PATHS)


class PortalLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if not serves_api(request):
            return super().process_request(request)
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return None

    def process_response(self, request, response):
        return response if serves_api(request) else super().process_response(request, response)


class UserLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if serves_api(request):
            return self.get_response(request)
        preference = Preference.objects.of(request.user) if request.user.is_authenticated else Preference()
        if preference.language:
            translation.activate(preference.language)
            request.LANGUAGE_CODE = preference.language
        try:
            timezone.activate(zoneinfo.ZoneInfo(preference.zone(request.LANGUAGE_CODE)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # a zone since removed from tzdata
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
