from tests.support.asynq_fixture import load_into


def test_the_session_redis_answers_and_starts_empty(redis_client):
    assert redis_client.ping()
    assert redis_client.dbsize() == 0


def test_the_go_fixture_loads_every_key_into_redis(redis_client):
    written = load_into(redis_client)
    assert redis_client.dbsize() == written
    assert redis_client.smembers("asynq:queues") == {b"critical", b"default", b"low", b"paused_q"}
