"""Single sign-on's two views (allauth's openid_connect login and callback) with one check more.

allauth skips the ID token's signature when the token came straight from the token endpoint over
TLS, as OpenID Connect Core 3.1.3.7 allows. The portal checks it anyway, against the provider's JWKS,
with the issuer, audience and expiry: a token endpoint that answers with a forged token then signs
no one in.
"""

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods


def provider_name():
    """What the sign-in buttons call the identity provider (OIDC_NAME); None without single sign-on."""
    if not settings.OIDC_ISSUER:
        return None
    return settings.OIDC_NAME or gettext("single sign-on")


class VerifyingAdapter(OpenIDConnectOAuth2Adapter):
    def _decode_id_token(self, app, id_token):
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


def _adapter_view(view_class):
    @login_not_required
    @require_http_methods(["GET", "POST"])
    def view(request, provider_id):
        try:
            return view_class.adapter_view(VerifyingAdapter(request, provider_id))(request)
        except SocialApp.DoesNotExist:
            raise Http404 from None

    return view


login = _adapter_view(OAuth2LoginView)
callback = _adapter_view(OAuth2CallbackView)
