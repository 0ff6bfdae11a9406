"""draft rules per community, section notes per digest

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_rules', sa.JSON(), nullable=True, comment="Overrides of the draft settings: caps, relevance floor, freshness, rare-source boost."))
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_notes', sa.JSON(), nullable=True, comment='Per topic id: items, borderline candidates and capped ones, as the draft found them.'))


def downgrade() -> None:
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_column('section_notes')
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_column('draft_rules')
