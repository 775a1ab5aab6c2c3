"""training signals (the training inbox, bot.trainer.signals)

Revision ID: b7c4e19a2d03
Revises: c7d41e9b2a30 (emergency incidents)
Create Date: 2026-12-02 15:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'b7c4e19a2d03'
down_revision: Union[str, Sequence[str], None] = 'c7d41e9b2a30'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A database that `create_schema` made from newer models may have the table already."""
    if 'training_signals' in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        'training_signals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('model_id', sa.String(length=80), nullable=True),
        sa.Column('predicted_intent', sa.String(length=100), nullable=True),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('top3', sa.Text(), nullable=False),
        sa.Column('context', sa.Text(), nullable=False),
        sa.Column('hint', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('label', sa.Text(), nullable=True),
        sa.Column('reviewed_by', sa.String(length=40), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_training_signals_status_created', 'training_signals', ['status', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_training_signals_status_created', table_name='training_signals')
    op.drop_table('training_signals')
