"""encrypted contact numbers in budget proposals

- budget_proposals.contact_phone is wide enough for an encrypted value (bot.privacy.contacts.seal_phone),
  and stored numbers are encrypted when SOTONG_DATA_KEY is set (otherwise they stay readable as
  they are and are encrypted by `python -m bot.tickets encrypt-contacts` later). Outbox payloads
  of budget proposals were already sealed by ae1aa60b0e15.

Revision ID: d4a9b21c6e58
Revises: b7c4e19a2d03 (training signals)
Create Date: 2026-12-02 16:10:00

"""
from typing import Sequence, Union

import logging

from alembic import op
import sqlalchemy as sa

from bot.tickets.contacts import encrypt_budget_contacts

logger = logging.getLogger("alembic.runtime.migration")


# revision identifiers, used by Alembic.
revision: str = 'd4a9b21c6e58'
down_revision: Union[str, Sequence[str], None] = 'b7c4e19a2d03'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('budget_proposals', schema=None) as batch_op:
        batch_op.alter_column('contact_phone',
               existing_type=sa.VARCHAR(length=20),
               type_=sa.String(length=255),
               existing_nullable=True)
    counted = encrypt_budget_contacts(op.get_bind())
    if counted is None:
        logger.warning("SOTONG_DATA_KEY is not set: contact numbers of budget proposals stay as they are "
                       "until `python -m bot.tickets encrypt-contacts` runs")


def downgrade() -> None:
    """Downgrade schema. Encrypted numbers do not fit VARCHAR(20): they are decrypted first (this
    needs the data key)."""
    from bot.privacy.contacts import reveal_phone

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, contact_phone FROM budget_proposals WHERE contact_phone LIKE 'enc1:%'")).all()
    for row_id, stored in rows:
        bind.execute(sa.text("UPDATE budget_proposals SET contact_phone = :phone WHERE id = :id"),
                     {"phone": reveal_phone(stored), "id": row_id})
    with op.batch_alter_table('budget_proposals', schema=None) as batch_op:
        batch_op.alter_column('contact_phone',
               existing_type=sa.String(length=255),
               type_=sa.VARCHAR(length=20),
               existing_nullable=True)
