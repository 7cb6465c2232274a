"""Face matching: the :class:`Matcher` protocol, opaque templates, decisions, evaluation.

``DlibMatcher`` (the reference implementation) lives in :mod:`lanecam.match.dlib_matcher` and
needs the ``dlib`` extra; importing this package does not load dlib.
"""

from .base import Decision, FaceHint, FaceNotFoundError, Matcher, Template, template_many
from .evaluate import ErrorRates, Evaluation, ScoredPair, evaluate

__all__ = ["Decision", "ErrorRates", "Evaluation", "FaceHint", "FaceNotFoundError", "Matcher",
           "ScoredPair", "Template", "evaluate", "template_many"]
