"""The curriculum core: pure Python, no application, web or database framework.

It holds the vocabulary the curricula are written in (stakeholder roles, dose levels) and, as the
platform grows, the Markdown parser, the corpus loader and the dosing policy.
"""
