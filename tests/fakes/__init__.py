"""Local fakes of the external providers, served on 127.0.0.1 free ports. (Never of Dapr: every
test that exercises the Dapr side runs the real daprd; see tests/support.)

Each fake answers in the provider's documented JSON and can be told to fail (HTTP errors,
429 with Retry-After, malformed bodies). ``serve(app)`` runs any of them (an ASGI app) under
uvicorn in a thread and stops it on exit, so unit, contract and end-to-end tests can share
them::

    from tests.fakes.alpaca_data import FakeAlpacaData
    from tests.fakes.server import serve

    fake = FakeAlpacaData(key="k", secret="s")
    with serve(fake.app) as base_url:
        ...

Also here: ``alpaca_stream.FakeAlpacaStream`` (a msgpack websocket; ``with fake.running() as
ws_url``), ``clock.FakeTime`` (sleeps advance it instead of waiting) and
``scripted_connector.ScriptedConnector`` (an in-memory market-data connector).
"""
