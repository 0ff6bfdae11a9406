"""rate limit attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 00:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limit_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False, comment='signin (passwords), email (asked-for emails) or suggest.'),
    sa.Column('subject', sa.String(length=64), nullable=False, comment='SHA-256 of the limited address, client IP or member.'),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_attempts')),
    comment="One row per counted attempt; rows older than their action's window are purged as new ones come."
    )
    with op.batch_alter_table('rate_limit_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_attempts_action_subject_attempted_at', ['action', 'subject', 'attempted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_attempts_action_subject_attempted_at')

    op.drop_table('rate_limit_attempts')
