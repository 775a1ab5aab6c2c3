"""emergency incidents: reports, incident keys, alert acknowledgements and escalations (issue 16)

Revision ID: c7d41e9b2a30
Revises: ae1aa60b0e15
Create Date: 2026-12-02 15:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c7d41e9b2a30'
down_revision: Union[str, Sequence[str], None] = 'ae1aa60b0e15'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. A database that `create_schema` made from newer models may have the tables."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'incident_reports' not in tables:
        op.create_table('incident_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('sender_id', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('location_text', sa.Text(), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('photo_url', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('incident_reports', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_incident_reports_ticket_id'), ['ticket_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_incident_reports_sender_id'), ['sender_id'], unique=False)
    if 'incident_keys' not in tables:
        op.create_table('incident_keys',
        sa.Column('key', sa.String(length=240), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key')
        )
    for table, moment in (('alert_acknowledgements', 'acknowledged_at'), ('alert_escalations', 'escalated_at')):
        if table in tables:
            continue
        op.create_table(table,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.String(length=60), nullable=False),
        sa.Column(moment, sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key')
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for table in ('alert_escalations', 'alert_acknowledgements', 'incident_keys', 'incident_reports'):
        op.drop_table(table)
