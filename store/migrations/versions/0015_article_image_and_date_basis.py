"""article image url and date basis

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 01:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_lines',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('line_key', sa.String(length=40), nullable=False, comment="Hash of a line's words; empty counts the articles."),
    sa.Column('articles', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_source_lines_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'line_key', name=op.f('pk_source_lines')),
    comment='A source\'s template: a line on most of its articles is its furniture, not article text.'
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.alter_column('lead_image', new_column_name='image_url', existing_type=sa.Text(), existing_nullable=True)
        batch_op.add_column(sa.Column('date_basis', sa.String(length=16), nullable=True, comment='Where published_at came from: feed, sitemap or page; first seen when no date could be trusted.'))
        batch_op.add_column(sa.Column('date_reasons', sa.JSON(), nullable=True, comment='Why that date: what agreed, what was set aside.'))


def downgrade() -> None:
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('date_reasons')
        batch_op.drop_column('date_basis')
        batch_op.alter_column('image_url', new_column_name='lead_image', existing_type=sa.Text(), existing_nullable=True)

    op.drop_table('source_lines')
