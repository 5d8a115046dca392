from tests.conftest import client_for, make_api_key


def test_owner_sees_group_and_key_authenticates(cast, client):
    credential, values = make_api_key(cast.group)

    response = client_for(cast.owner).get("/groups/")
    assert response.status_code == 200
    assert "Payments" in response.content.decode()

    whoami = client.get("/v1/whoami", HTTP_X_API_KEY=values["primary"])
    assert whoami.status_code == 200
    assert whoami.json()["auth"]["credential"] == credential.name
