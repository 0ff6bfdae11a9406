"""staged extractions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 00:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('pages', sa.Column('extracted', sa.JSON(), nullable=True, comment="A fanned-out extraction's result, until it is saved in URL order."))
    with op.batch_alter_table('pages') as batch:
        batch.alter_column('extract_state', existing_type=sa.String(length=16), existing_nullable=False, comment='pending, extracted (waiting to be saved), done, skipped or failed.', existing_comment='pending, done, skipped or failed.')


def downgrade() -> None:
    with op.batch_alter_table('pages') as batch:
        batch.alter_column('extract_state', existing_type=sa.String(length=16), existing_nullable=False, comment='pending, done, skipped or failed.', existing_comment='pending, extracted (waiting to be saved), done, skipped or failed.')
        batch.drop_column('extracted')
