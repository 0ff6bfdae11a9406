"""outbox rows outlive their member

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-02 17:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0011'
branch_labels = None
depends_on = None

COMMENT = "NULL once the member was removed: the row stays so the digest's counts do not change."


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_member_id_members', type_='foreignkey')
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=True, comment=COMMENT)
        batch_op.create_foreign_key('fk_outbox_member_id_members', 'members', ['member_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE member_id IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_member_id_members', type_='foreignkey')
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=False, comment=None)
        batch_op.create_foreign_key('fk_outbox_member_id_members', 'members', ['member_id'], ['id'], ondelete='CASCADE')
