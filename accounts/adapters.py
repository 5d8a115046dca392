"""How django-allauth fits the portal: sign-in by username only, no sign-up or e-mail flows, the
second factor's secrets encrypted, failed codes counted and locked out with failed passwords, and
accounts made by single sign-on."""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.signals import authentication_failed
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from accounts.forms import portal_username
from portal import encryption

log = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        """Accounts come from invitations (groups.Invitation), staff and single sign-on only."""
        return False

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        # Signing in says nothing, as before allauth; its other messages stay.
        if message_template == "account/messages/logged_in.txt":
            return
        super().add_message(request, level, message_template, *args, **kwargs)


class MFAAdapter(DefaultMFAAdapter):
    """Authenticator-app secrets and recovery-code seeds are stored encrypted, like the copies
    behind Show, under CREDENTIALS_ENCRYPTION_KEY."""

    def encrypt(self, text):
        return encryption.encrypt(text)

    def decrypt(self, encrypted_text):
        return encryption.decrypt(encrypted_text)


@receiver(authentication_failed)
def count_failed_code(sender, request, user, **kwargs):
    """A wrong code counts as a wrong password for that username and address (django-axes), so the
    same limit locks both out."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on makes the account at the first sign-on, although the portal has no sign-up."""

    def is_open_for_signup(self, request, sociallogin):
        return True

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        """Say why a sign-on failed, for the operator (the person sees only that it did): the kind of
        failure, never a token or code."""
        log.warning(
            "single sign-on refused by %s: %s%s",
            getattr(provider, "id", provider),
            error or "error",
            f" ({type(exception).__name__}: {exception})" if exception else "",
        )
        super().on_authentication_error(request, provider, error, exception, extra_context)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        # The identity provider's username (preferred_username), in the characters a username may hold.
        user.username = portal_username(user.username or "")
        return user
