"""Forms that act once: every rendered form carries a one-time token ({% submission_token %}), and
a view decorated with `once` remembers what it did with it. A reload, a double click, or going back
and submitting again sends the browser where the first submission went, and does nothing more.

The first submission claims its key in the transaction that does the work, so a repeat that
arrives while it runs waits on the key's unique index and then finds where to go; if the work
fails, the claim is rolled back with it and the form can be sent again. A form without a token (a
script) acts as it always did.
"""

import secrets
from functools import wraps

from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils.crypto import salted_hmac

from accounts.models import Submission

FIELD = "submission"
# Posted fields that are not part of what the form asks for.
NOT_CONTENT = {FIELD, "csrfmiddlewaretoken"}


def new_token():
    return secrets.token_urlsafe(16)


def _key(request, token):
    """One digest of the token, the user, the path and the posted fields: the same form sent
    again matches; the same token with other fields (a form edited after going back) does not."""
    fields = sorted((name, values) for name, values in request.POST.lists() if name not in NOT_CONTENT)
    text = repr((token, request.user.pk, request.path, fields))
    return salted_hmac("accounts.submissions", text, algorithm="sha256").hexdigest()


def once(view):
    """Act on a form's POST once per token; a repeat is redirected where the first one went.
    Apply it inside the sign-in and step-up checks, so that their redirects are not remembered."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.POST.get(FIELD) if request.method == "POST" else None
        if not token:
            return view(request, *args, **kwargs)
        key = _key(request, token)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = Submission.objects.create(key=key, user=request.user)
            except IntegrityError:  # sent before, and that submission has committed
                return redirect(Submission.objects.get(key=key).location)
            response = view(request, *args, **kwargs)
            if response.status_code in (301, 302, 303) and "Location" in response:
                claim.location = response["Location"]
                claim.save(update_fields=["location"])
            else:  # a form with errors, or an answer for a script: nothing to send a repeat to
                claim.delete()
        return response

    return wrapper
