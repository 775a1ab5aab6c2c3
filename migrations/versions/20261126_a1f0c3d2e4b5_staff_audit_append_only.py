"""staff audit log is append-only in the database too (triggers from bot.staff.audit)

Databases made by `create_schema` already have these triggers; they are dropped and created
again so that every database ends up with the same ones.

Revision ID: a1f0c3d2e4b5
Revises: 88e3fdd7ed9a
Create Date: 2026-11-26 20:05:00

"""
from typing import Sequence, Union

from alembic import op

from bot.staff.audit import append_only_trigger_statements

revision: str = "a1f0c3d2e4b5"
down_revision: Union[str, Sequence[str], None] = "88e3fdd7ed9a"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DROP_STATEMENTS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS staff_audit_log_no_update",
        "DROP TRIGGER IF EXISTS staff_audit_log_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS staff_audit_log_append_only ON staff_audit_log",
        "DROP TRIGGER IF EXISTS staff_audit_log_no_truncate ON staff_audit_log",
    ],
}


def _drop_triggers(dialect: str) -> None:
    for statement in DROP_STATEMENTS.get(dialect, ()):
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    for statement in append_only_trigger_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
