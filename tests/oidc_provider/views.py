"""The control endpoint through which the launcher sets the provider up: JSON in, 204 out.

Only the launcher knows the token that guards it; anyone else gets 403.
"""

import functools
import hmac
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application

from tests.oidc_provider import tampering
from tests.oidc_provider.models import Person


def control(view):
    """A POST with the launcher's bearer token and a JSON object, given to `view` as keywords."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def guarded(request):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), settings.CONTROL_TOKEN.encode()):
            return JsonResponse({"error": "forbidden"}, status=403)
        try:
            view(**json.loads(request.body))
        except (ValueError, TypeError) as error:
            return JsonResponse({"error": str(error)}, status=400)
        return HttpResponse(status=204)

    return guarded


@control
@transaction.atomic
def user(username, password, email="", name="", groups=(), email_verified=True):
    """Create the user, or replace what is known of them."""
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise TypeError("groups must be a list of strings")
    account, _ = get_user_model().objects.update_or_create(username=username, defaults={"email": email})
    account.set_password(password)
    account.save(update_fields=["password"])
    Person.objects.update_or_create(
        user=account, defaults={"name": name, "groups": groups, "email_verified": bool(email_verified)}
    )


@control
def client(client_id, client_secret, redirect_uris):
    """Create the confidential client, or replace its secret and redirect URIs."""
    Application.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": "Portal",
            "client_secret": client_secret,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "algorithm": Application.RS256_ALGORITHM,
            "redirect_uris": " ".join(redirect_uris),
            "skip_authorization": True,
        },
    )


@control
def mode(mode):
    tampering.set_mode(mode)
