def test_event_roundtrip(api):
    acme = api.tenant()
    event = acme.make_event(capacity=10)
    assert acme.get(f"/api/v1/events/{event['id']}").json()["data"] == event


def test_authentication_comes_before_body_parsing(api):
    client = api.client
    malformed = client.post(
        "/api/v1/events", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 401
    assert malformed.json() == {"error": "Missing X-API-KEY header", "code": "missing_api_key"}
    bad_key = client.post(
        "/api/v1/events",
        content=b"{not json",
        headers={"Content-Type": "application/json", "X-API-KEY": "tsk_live_nope"},
    )
    assert bad_key.status_code == 401
    assert bad_key.json()["error"] == "Invalid or revoked API key"
    assert client.get("/api/v1/no-such-thing").status_code == 401
