"""Sign-in lockout: django-axes' database handler, plus a higher limit on an address alone.

axes locks a (username, address) pair after LOGIN_FAILURE_LIMIT wrong passwords. It measures every
lockout parameter against that one limit, so it cannot also lock an address at a higher count
(its maintainers point to a handler for that, django-axes issue 661). Without it, a storm of
made-up usernames from one address, each failing once, would never lock. This handler locks the
address too, for every username, once its failures for any usernames reach
LOGIN_ADDRESS_FAILURE_LIMIT, and answers that lock exactly as axes answers its own.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum


class SignInLockout(AxesDatabaseHandler):
    def is_locked(self, request, credentials=None):
        return super().is_locked(request, credentials) or self.address_is_locked(request)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and not request.axes_locked_out and self.address_is_locked(request):
            # What axes does when a pair reaches its limit: the lockout page, and the signal that
            # puts the lockout in Activity (groups/audit.py).
            request.axes_locked_out = True
            request.axes_credentials = credentials
            username, address = get_client_username(request, credentials), request.axes_ip_address
            user_locked_out.send("axes", request=request, username=username, ip_address=address)

    def address_is_locked(self, request):
        """Whether the failures from this address, for any usernames, reached the limit.

        They are counted as axes counts a pair's: the rows whose last failure is within the cool-off
        time. A correct password clears only its own pair's row, so signing in to one account
        does not reset the count of a storm against others.
        """
        recent = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        failures = recent.aggregate(total=Sum("failures_since_start"))["total"] or 0
        return failures >= settings.LOGIN_ADDRESS_FAILURE_LIMIT
