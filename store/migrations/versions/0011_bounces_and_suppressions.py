"""bounces and suppressions

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-02 01:05:56
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressions',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False, comment='hard, soft (too many in a row) or complaint.'),
    sa.Column('detail', sa.Text(), nullable=False, comment="The server's words that caused it."),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True, comment='Set when an admin or a new double opt-in lifted it; NULL while it holds.'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_suppressions_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_suppressions')),
    comment='Addresses no community mails: one row per member, kept after a lift so soft bounces count afresh.'
    )
    op.create_table('bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='hard, soft or complaint.'),
    sa.Column('status', sa.String(length=16), nullable=False, comment='RFC 3463 status, such as 5.1.1.'),
    sa.Column('detail', sa.Text(), nullable=False, comment="The reporting server's own words."),
    sa.Column('source', sa.String(length=16), nullable=False, comment='smtp, imap, ses, postmark, sendgrid or mailgun.'),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_bounces_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_bounces_outbox_id_outbox'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bounces')),
    comment='Every bounce and complaint received, matched to its member (and outbox row when known).'
    )
    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bounces_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=16), nullable=True, comment='What came back for a sent row: soft-bounced, bounced or complained.'))
        batch_op.add_column(sa.Column('delivery_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_message_id', ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_id')
        batch_op.drop_column('delivery_at')
        batch_op.drop_column('delivery')

    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bounces_member_id'))

    op.drop_table('bounces')
    op.drop_table('suppressions')
