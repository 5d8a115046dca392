import os

from django.core.wsgi import get_wsgi_application

from portal.checks import refuse_development_keys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# manage.py runs the system checks, a WSGI server none: without this, a server with DEBUG off and
# no keys set would sign sessions and digest credentials with the keys published in settings.py.
# Raised at import, it makes a gunicorn worker fail to boot, and gunicorn then exits (status 3).
refuse_development_keys()

application = get_wsgi_application()
