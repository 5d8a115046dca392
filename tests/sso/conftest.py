"""A real OpenID Connect provider for the single sign-on tests (tests/oidc_provider).

One provider process serves the whole run; `oidc_provider` hands it to a test with normal ID
tokens, and puts them back to normal afterwards. A test registers the redirect URIs it needs
(`allow_redirect_uri`, e.g. the live server's callback) and the users who sign in (`add_user`).
"""

import pytest

from tests.oidc_provider.launcher import Provider


@pytest.fixture(scope="session")
def running_oidc_provider():
    with Provider() as provider:
        yield provider
        # A failure inside the provider would otherwise show only as a refusal in the portal.
        assert "Traceback" not in provider.log(), provider.log_tail()


@pytest.fixture
def oidc_provider(running_oidc_provider):
    running_oidc_provider.set_mode("normal")
    yield running_oidc_provider
    running_oidc_provider.set_mode("normal")
