import pytest
from django.test import RequestFactory

from portal.addresses import source_address

PROXY = "10.0.0.1"


def request_from(remote_addr, forwarded_for=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY, "10.0.0.2"]


def test_remote_addr_is_used_by_default():
    assert source_address(request_from("198.51.100.7")) == "198.51.100.7"


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []

    assert source_address(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


def test_forwarded_for_is_ignored_when_the_peer_is_not_a_trusted_proxy(behind_proxy):
    assert source_address(request_from("198.51.100.7", "203.0.113.1, 10.0.0.2")) == "198.51.100.7"


def test_trusted_proxy_passes_on_the_client_address(behind_proxy):
    assert source_address(request_from(PROXY, "203.0.113.1")) == "203.0.113.1"


def test_the_rightmost_untrusted_hop_is_the_client(behind_proxy):
    # The client wrote 6.6.6.6 itself; the first proxy appended the address it saw.
    request = request_from(PROXY, "6.6.6.6, 203.0.113.1, 10.0.0.2")

    assert source_address(request) == "203.0.113.1"


def test_only_proxies_in_the_chain_gives_the_peer(behind_proxy):
    assert source_address(request_from(PROXY, "10.0.0.2")) == PROXY


def test_empty_forwarded_for_from_a_trusted_proxy_gives_the_peer(behind_proxy):
    assert source_address(request_from(PROXY, "")) == PROXY
    assert source_address(request_from(PROXY)) == PROXY


def test_ipv6_addresses_are_normalised():
    assert source_address(request_from("2001:DB8:0:0::1")) == "2001:db8::1"


@pytest.mark.parametrize("garbage", ["", "not-an-address", "999.1.1.1", "203.0.113.1:443", "<script>"])
def test_garbage_remote_addr_gives_none(garbage):
    assert source_address(request_from(garbage)) is None


@pytest.mark.parametrize("garbage", ["not-an-address", "203.0.113.1, 300.2.2.2", "unknown"])
def test_garbage_forwarded_hop_gives_none(behind_proxy, garbage):
    assert source_address(request_from(PROXY, garbage)) is None
