"""Alembic migrations: the migrated schema is exactly the models' metadata, on SQLite and on
PostgreSQL (SOTONG_TEST_POSTGRES_URL; skipped without it), and the upgrade path of databases
that `create_schema` made before migrations existed."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from bot.storage.db import create_schema, make_engine
from bot.storage.migrate import (
    application_metadata,
    base_revision,
    current_revision,
    head_revision,
    schema_differences,
    upgrade,
)
from tests.databases import BACKENDS, database_url_for


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with database_url_for(request.param, tmp_path) as url:
        yield url


def table_names(url: str) -> set:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_one_linear_history():
    assert base_revision() and head_revision()


def test_upgrade_creates_every_table_and_matches_the_models(database_url):
    assert upgrade(database_url) == head_revision()
    assert set(application_metadata().tables) <= table_names(database_url)
    assert schema_differences(database_url) == []


def test_upgrade_is_idempotent(database_url):
    upgrade(database_url)
    assert upgrade(database_url) == head_revision()
    assert schema_differences(database_url) == []


def test_a_missing_migration_is_detected(database_url):
    """The comparison is not vacuous: a schema that lacks an index and a table is reported."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_outbox_due"))
            connection.execute(text("DROP TABLE ticket_sequences"))
    finally:
        engine.dispose()
    differences = [str(difference) for difference in schema_differences(database_url)]
    assert any("ix_outbox_due" in difference for difference in differences)
    assert any("ticket_sequences" in difference for difference in differences)


def test_database_made_by_create_schema_is_stamped_then_upgraded(database_url):
    engine = make_engine(database_url)
    try:
        application_metadata()
        create_schema(engine)
    finally:
        engine.dispose()
    assert current_revision(database_url) is None
    assert upgrade(database_url) == head_revision()
    assert schema_differences(database_url) == []


def test_create_schema_leaves_a_migrated_database_alone(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE ticket_sequences"))
        create_schema(engine)  # the migrations own this schema now: no silent re-creation
    finally:
        engine.dispose()
    assert "ticket_sequences" not in table_names(database_url)


def test_tables_of_others_are_ignored(database_url):
    """Rasa's tracker table may share the database; it is not ours to compare or drop."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))
    finally:
        engine.dispose()
    assert schema_differences(database_url) == []


def test_downgrade_to_nothing_and_back(database_url):
    from alembic import command

    from bot.storage.migrate import alembic_config

    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "base")
    assert not (set(application_metadata().tables) & table_names(database_url))
    assert upgrade(database_url) == head_revision()
    assert schema_differences(database_url) == []


@pytest.mark.parametrize("made_by_create_schema", [False, True])
def test_migrated_audit_log_is_append_only(database_url, made_by_create_schema):
    if made_by_create_schema:
        engine = make_engine(database_url)
        application_metadata()
        create_schema(engine)
        engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff_audit_log (at, actor, action, detail_json) "
                    "VALUES (CURRENT_TIMESTAMP, 'cli:test', 'ticket.status', '{}')"
                )
            )
        for statement in ("UPDATE staff_audit_log SET actor = 'someone else'", "DELETE FROM staff_audit_log"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT actor FROM staff_audit_log")).scalar_one() == "cli:test"
    finally:
        engine.dispose()


def test_upgrade_encrypts_contact_numbers_stored_in_plain_text(database_url):
    """Numbers stored before encryption existed (tickets and outbox payloads) are encrypted by the
    migration that widens the column; PostgreSQL would refuse the longer value in VARCHAR(20)."""
    from bot.privacy.encryption import data_cipher

    upgrade(database_url, "a1f0c3d2e4b5")
    engine = make_engine(database_url)
    payload = '{"ticket": {"contact": {"anonymous": false, "phone": "010-2345-6789"}, "number": "GY-2026-000001"}}'
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO tickets (id, number, category, department_id, location_text, place_key, description, "
                    "contact_phone, consent_given, sender_id, status, urgent, created_at, updated_at) VALUES "
                    "(1, 'GY-2026-000001', 'road_damage', 'road_management', '주엽동', '', '포트홀', '010-2345-6789', "
                    ":yes, 'kakao-1', 'received', :no, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"yes": True, "no": False},
            )
            connection.execute(
                text(
                    "INSERT INTO outbox (ticket_id, target_kind, target_id, send_method, destination, payload_json, "
                    "idempotency_key, state, attempts, next_attempt_at, created_at) VALUES (1, 'department', "
                    "'road_management', 'http', 'http://127.0.0.1:9/', :payload, 'k1', 'pending', 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"payload": payload},
            )
        assert upgrade(database_url) == head_revision()
        with engine.connect() as connection:
            phone = connection.execute(text("SELECT contact_phone FROM tickets")).scalar_one()
            stored_payload = connection.execute(text("SELECT payload_json FROM outbox")).scalar_one()
    finally:
        engine.dispose()
    assert phone.startswith("enc1:") and data_cipher().decrypt(phone) == "010-2345-6789"
    assert "2345-6789" not in stored_payload and "GY-2026-000001" in stored_payload
    assert schema_differences(database_url) == []


def test_upgrade_encrypts_budget_proposal_contact_numbers(database_url):
    """d4a9b21c6e58 widens budget_proposals.contact_phone and seals the numbers stored in plain
    text; downgrading opens them again so that they fit the narrow column."""
    from alembic import command

    from bot.privacy.encryption import data_cipher
    from bot.storage.migrate import alembic_config

    upgrade(database_url, "b7c4e19a2d03")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO budget_proposals (id, number, cycle_id, title, category, location_text, description, "
                    "expected_benefit, estimated_cost_won, contact_phone, consent_given, sender_id, created_at) VALUES "
                    "(1, 'PB-2026-0001', 'pb-2027', '그늘막', 'environment', '', '설명', '효과', 30000000, "
                    "'010-2345-6789', :yes, 'kakao-1', CURRENT_TIMESTAMP)"
                ),
                {"yes": True},
            )
        assert upgrade(database_url) == head_revision()
        with engine.connect() as connection:
            phone = connection.execute(text("SELECT contact_phone FROM budget_proposals")).scalar_one()
        assert phone.startswith("enc1:") and data_cipher().decrypt(phone) == "010-2345-6789"
        assert schema_differences(database_url) == []
        command.downgrade(alembic_config(database_url), "b7c4e19a2d03")
        with engine.connect() as connection:
            assert (
                connection.execute(text("SELECT contact_phone FROM budget_proposals")).scalar_one() == "010-2345-6789"
            )
    finally:
        engine.dispose()
