"""The signed-in user's language and time zone for the request (accounts.Preference).

LocaleMiddleware, before it, has chosen the language from the language cookie or Accept-Language;
a user who chose one with the switcher gets theirs on any browser. Times then render in the user's
zone, by default the one of the page's language (Asia/Tokyo for Japanese)."""

import zoneinfo

from django.utils import timezone, translation

from accounts.models import Preference


class UserLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
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
