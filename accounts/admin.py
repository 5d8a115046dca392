from allauth.account.models import EmailAddress
from django.contrib import admin

# The portal has no e-mail flows (no sign-up, verification or reset): allauth's e-mail addresses
# would be an admin page for nothing. Its Authenticators stay: staff remove a lost second factor there.
admin.site.unregister(EmailAddress)
