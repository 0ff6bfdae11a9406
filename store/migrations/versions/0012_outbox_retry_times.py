"""outbox retry times

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02 01:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True, comment='A waiting row is not tried before this; the delay grows with each failed try.'))
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True, comment='When the row first failed for a reason that may pass; cleared once sent.'))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('waiting_since')
        batch_op.drop_column('next_attempt_at')
