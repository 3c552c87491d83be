"""Case management for analysts: alerts roll up into cases reviewed in a small web app.

``cases.store`` (SQLite case store and workflow), ``cases.sync`` (alerts -> cases),
``cases.labels`` (dispositions -> label table), ``cases.review_app`` (the review web app).
See ``docs/REVIEW.md``.
"""
