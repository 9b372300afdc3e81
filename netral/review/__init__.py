"""Review service layer: users, the review queue, decisions, reports and dashboard figures.

Every rule that protects the people being reviewed (four-eyes, no report without verification, role
checks) lives here and not in the web or CLI code, so no entry point can skip one.
"""

from netral.review.errors import ReviewError

__all__ = ["ReviewError"]
