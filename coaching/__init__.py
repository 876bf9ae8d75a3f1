"""The coaching core: pure Python, no application, web or database framework.

It will hold cadences and their next occurrences, prompt rotation, gemba question sets, the follow-up
escalation policy and leader-standard-work targets. The foundation issue only installs the package.
"""
