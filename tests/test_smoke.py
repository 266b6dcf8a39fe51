def test_event_roundtrip(api):
    acme = api.tenant()
    event = acme.make_event(capacity=10)
    assert acme.get(f"/api/v1/events/{event['id']}").json()["data"] == event
