import pytest

from tests.conftest import make_group


@pytest.fixture
def group(db):
    return make_group()
