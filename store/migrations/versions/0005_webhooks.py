"""webhooks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False, comment='slack, teams, mattermost or json.'),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_webhooks_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    sa.UniqueConstraint('community_id', 'url', name=op.f('uq_webhooks_community_id_url'))
    )
    op.create_table('webhook_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False, comment='pending, sent or failed.'),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_webhook_posts_digest_id_digests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_posts_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_posts')),
    sa.UniqueConstraint('digest_id', 'webhook_id', name=op.f('uq_webhook_posts_digest_id_webhook_id')),
    comment='One row per digest and webhook, so a publish run again never posts twice.'
    )


def downgrade() -> None:
    op.drop_table('webhook_posts')
    op.drop_table('webhooks')
